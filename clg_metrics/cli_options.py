"""What every ``clg-metrics`` command shares: the project options, the settings they make, and
the one error handler that turns a user's mistake into one line and an exit code (0 ok, 1 a
failed build or check, 2 bad usage or configuration; ``--debug`` shows the traceback)."""

from __future__ import annotations

import functools
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parse_vars(ctx, param, value):
    if not value:
        return {}
    import yaml

    try:
        data = yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise click.BadParameter(f"not YAML: {exc}") from None
    except ValueError as exc:  # a date YAML reads as one but that does not exist, e.g. 2024-02-30
        raise click.BadParameter(f"{exc} in {value!r} (quote it to pass text)") from None
    if not isinstance(data, dict):
        raise click.BadParameter("give a YAML mapping, e.g. --vars '{as_of: 2025-01-01}'")
    return data


def project_options(func):
    """The flags every project command shares."""
    options = [
        click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=".",
                     show_default=True, help="The project folder (with clg_project.yml and milestones/)."),
        click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder of profiles.yml (default: $CLG_PROFILES_DIR, the project, ~/.clg)."),
        click.option("--target", "-t", default=None, help="The profile target to use (default: the profile's)."),
        click.option("--select", "-s", multiple=True, help="Only these journeys (repeatable)."),
        click.option("--as-of", default=None, help="Count events at or before this moment (ISO, UTC)."),
        click.option("--vars", callback=_parse_vars, default=None,
                     help="Project variables as YAML, e.g. '{as_of: 2025-01-01}'."),
        click.option("--debug", is_flag=True, help="Show tracebacks of errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


log_format_option = click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                                 show_default=True, help="json: one JSON object per line, for warehouse jobs.")


def _settings(kwargs):
    from .runner import Settings

    select = []
    for item in kwargs.pop("select", ()) or ():
        select += [s for s in item.replace(",", " ").split() if s]
    return Settings(project_dir=kwargs.pop("project_dir"), profiles_dir=kwargs.pop("profiles_dir"),
                    target=kwargs.pop("target"), select=tuple(select), as_of=kwargs.pop("as_of"),
                    vars=kwargs.pop("vars") or {})


RUN_COMMANDS = {"build_": "build", "seed": "seed", "test_": "test"}  # they write target/run_results.json


def handle_errors(func):
    """Turn every error into one message and an exit code; a traceback only with ``--debug``.

    A user's mistake is a ``ClgError`` (its own exit code); a file-system error is one line with
    the path (exit 2); anything else is reported as an internal error in one line (exit 1). With
    ``--log-format json`` the message is a JSON object like every other line. A run command whose
    run did not record itself (the project or profile did not load) still writes run_results.json.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        debug = kwargs.pop("debug", False)
        as_json = kwargs.get("log_format") == "json"
        project_dir = kwargs.get("project_dir")
        from .errors import ClgError

        code, message = EXIT_OK, None
        try:
            func(*args, **kwargs)
        except ClgError as exc:
            if debug:
                raise
            error, message, code = exc, str(exc), exc.exit_code
        except KeyboardInterrupt as exc:
            error, message, code = exc, "Interrupted: the last published outputs are unchanged.", EXIT_FAILED
        except OSError as exc:
            if debug:
                raise
            where = exc.filename or ""
            error, code = exc, EXIT_USAGE
            message = f"{where}: {exc.strerror or exc}" if where else f"{type(exc).__name__}: {exc}"
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug or an engine error nobody caught: one line, never a traceback
            if debug:
                raise
            from .errors import first_line

            error, code = exc, EXIT_FAILED
            message = (f"internal error {type(exc).__name__}: {first_line(exc, 400)} "
                       "(rerun with --debug for the traceback, and please report it)")
        if code:
            if func.__name__ in RUN_COMMANDS and not getattr(error, "recorded", False) and project_dir is not None:
                _record_failure(RUN_COMMANDS[func.__name__], Path(project_dir), error)
            if as_json:
                click.echo(json.dumps({"ts": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                                       "event": "error", "level": "error", "exit_code": code, "message": message}))
            elif "\n" in message:
                click.secho(message if message.startswith("Interrupted") else f"Error:\n{message}", fg="red",
                            err=True)
            else:
                click.secho(message if message.startswith("Interrupted") else f"Error: {message}", fg="red",
                            err=True)
            sys.exit(code)

    return wrapper


def _record_failure(command: str, project_dir: Path, error: BaseException) -> None:
    """run_results.json for a run that stopped before it started (bad project, profile, flags), in
    the project's target folder; best effort: the error is what the user must see."""
    import contextlib

    import yaml

    from .phases.record import write_run_results

    target = "target"
    with contextlib.suppress(Exception):  # the project file may be what is broken
        configured = yaml.safe_load((project_dir / "clg_project.yml").read_text())["paths"]["target"]
        target = configured if isinstance(configured, str) and configured else target
    with contextlib.suppress(Exception):
        write_run_results(None, None, 0.0, error, command, target_dir=project_dir / target)
