"""``clg-metrics init``: a new project that builds at once, copied from the canonical demo.

The demo project lives at the repository root (it serves the README, the tests and this
command); a wheel carries a copy under ``clg_metrics/demo_project`` (see pyproject.toml).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import ClgError

DEMO_ITEMS = ("clg_project.yml", "profiles.yml", "milestones", "sql", "seeds")


def demo_project_dir() -> Path:
    """Where the demo project's files are: inside the installed package, else the source checkout."""
    packaged = Path(__file__).parent / "demo_project"
    if (packaged / "clg_project.yml").exists():
        return packaged
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "clg_project.yml").exists() and (checkout / "milestones").is_dir():
        return checkout
    raise ClgError("the demo project is not installed with this copy of clg-metrics")  # pragma: no cover


def init_project(directory: Path) -> list[Path]:
    """Copy the demo project into ``directory`` (new or empty); return the files written."""
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        clashes = [name for name in DEMO_ITEMS if (directory / name).exists()]
        if clashes:
            raise ClgError(f"{directory} already has {', '.join(clashes)}: choose a new or empty folder")
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
