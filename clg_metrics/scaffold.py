"""``clg-metrics init``: a new project that builds at once — the demo, or with ``--blank`` a minimal one.

The demo project lives at the repository root (it serves the README, the tests and this
command); a wheel carries a copy under ``clg_metrics/demo_project`` (see pyproject.toml). The
blank project is written from the texts below. Either way the folder gets a ``.gitignore`` (unless
it has one) so that build artifacts and local environments stay out of version control.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .errors import ClgError

DEMO_ITEMS = ("clg_project.yml", "profiles.yml", "milestones", "sql", "seeds")

GITIGNORE = """\
# clg-metrics rebuilds everything under target/ (compiled SQL, run results, the DuckDB file)
target/
# local Python environments and caches
.venv/
venv/
__pycache__/
*.pyc
# DuckDB files kept elsewhere, and their write-ahead logs
*.duckdb
*.duckdb.wal
# secrets that profiles.yml reads with env_var(), if you keep them in a file
.env
"""

BLANK_PROJECT = """\
# A clg-metrics project: journeys in milestones/, data in seeds/ (or your warehouse), SQL models in sql/.
name: {name}
profile: clg_metrics
vars:
  # Builds are reproducible: events after as_of do not count. Remove it to measure as of now.
  as_of: "2024-02-01 00:00:00"
# models:                      # settings of seeds and sql/ models, e.g. checks:
#   events:
#     checks:
#       - {{expect: column_values_to_be_in_set, column: event_name, value_set: [signup, first_report]}}
# checks:                      # severity or enabled of a built-in check, by its name
#   events.onboarding.event_names_occur: {{severity: error}}
"""

BLANK_PROFILES = """\
# dbt's shape: profile -> target -> outputs. Values may read the environment with env_var().
clg_metrics:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('CLG_DUCKDB_PATH', 'target/clg.duckdb') }}"
      threads: 2
"""

BLANK_EVENTS = """\
customer_id,event_name,occurred_at
1,signup,2024-01-02 09:00:00
1,first_report,2024-01-03 10:30:00
2,signup,2024-01-05 14:00:00
3,signup,2024-01-08 08:15:00
3,first_report,2024-01-20 16:45:00
"""

BLANK_JOURNEY = """\
journey: onboarding
job:                            # the Job to be Done, free text
  when: I start using the product
  help_me: get to my first report
  so_i_can: decide whether it is worth paying for
events:
  from: events                  # seeds/events.csv; or a sql/ model, or a warehouse table (schema.table)
  # columns: {customer_id: user_id, event_name: event, occurred_at: ts}   # if your columns are named otherwise
order: sequential
phases:
  - phase: start
    milestones:
      - milestone: signed_up
        kpi: New signups
        reached_when: {event: signup}
      - milestone: first_report
        kpi: First report created
        reached_when: {event: first_report}
"""


def demo_project_dir() -> Path:
    """Where the demo project's files are: inside the installed package, else the source checkout."""
    packaged = Path(__file__).parent / "demo_project"
    if (packaged / "clg_project.yml").exists():
        return packaged
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "clg_project.yml").exists() and (checkout / "milestones").is_dir():
        return checkout
    raise ClgError("the demo project is not installed with this copy of clg-metrics")  # pragma: no cover


def init_project(directory: Path, blank: bool = False) -> list[Path]:
    """Write a new project into ``directory`` (new, or without project files); return the files written."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ClgError(f"{directory} is a file: choose a new or empty folder")
    if directory.exists() and any(directory.iterdir()):
        clashes = [name for name in DEMO_ITEMS if (directory / name).exists()]
        if clashes:
            raise ClgError(f"{directory} already has {', '.join(clashes)}: choose a new or empty folder")
    written = _write_blank(directory) if blank else _copy_demo(directory)
    gitignore = directory / ".gitignore"
    if not gitignore.exists():  # one of the user's own stays as it is
        gitignore.write_text(GITIGNORE)
        written.append(gitignore)
    return written


def _copy_demo(directory: Path) -> list[Path]:
    source = demo_project_dir()
    written = []
    for name in DEMO_ITEMS:
        origin = source / name
        if origin.is_dir():
            shutil.copytree(origin, directory / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            written += sorted(p for p in (directory / name).rglob("*") if p.is_file())
        else:
            directory.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, directory / name)
            written.append(directory / name)
    return written


def project_name(directory: Path) -> str:
    """An identifier for clg_project.yml's ``name`` from the folder's name."""
    name = re.sub(r"[^a-z0-9_]+", "_", directory.resolve().name.lower()).strip("_")
    return name if re.match(r"^[a-z]", name) else f"project_{name}".rstrip("_")


def _write_blank(directory: Path) -> list[Path]:
    files = {"clg_project.yml": BLANK_PROJECT.format(name=project_name(directory)), "profiles.yml": BLANK_PROFILES,
             "seeds/events.csv": BLANK_EVENTS, "milestones/onboarding.yml": BLANK_JOURNEY}
    written = []
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written
