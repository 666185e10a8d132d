"""Entry point: builds the typer app from one module per verb under ``ferry.cli.commands``.

Each command module exposes ``register(app: typer.Typer) -> None``. FerryErrors end the process
with a one-line message and exit status 2 (a spent daily API budget: 1, with the reset time);
they never print a traceback (tracebacks can carry values, and values can be PHI). Exit codes of
every verb: 0 done / PASS, 1 a FAIL (its table or verdict line says which), 2 unusable
configuration or input, 3 unexpected failure, 130 interrupted (run it again to resume).
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import re
import shlex
import sys

import typer
from rich.markup import escape

from ferry import runtime
from ferry.cli.console import err_console, print_item
from ferry.errors import BudgetExhausted, FerryError
from ferry.phi import scrub

COMMANDS = [
    "init",
    "check",
    "extract",
    "prepare",
    "run",
    "delta",
    "rollback",
    "audit",
    "map",
    "sample",
    "review",
    "reconcile",
    "guide",
    "estimate",
    "status",
    "sandbox",
    "demo",
    "ui",
    "fleet",
]

HELP = "Ferry: move a practice's data into a CRM, verifiably and reversibly."


def build_app(names: list[str] | None = None) -> typer.Typer:
    """The typer app with the commands ``names`` (all by default). A verb run from the shell
    registers only its own module: each module imports what its verb needs (the engine, the
    PHI detector, the report templates…), and importing all of them cost every verb's start
    about 0.1-0.3 CPU-s more than its own."""
    built = typer.Typer(no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False, help=HELP)
    # a callback keeps it a group: typer runs a lone command as the app itself, and
    # ``ferry extract …`` would then read ``extract`` as an argument
    built.callback()(lambda: None)
    for name in names or COMMANDS:
        importlib.import_module(f"ferry.cli.commands.{name}").register(built)
    for cmd in built.registered_commands:
        cmd.help = cmd.help or _paragraphs(cmd.callback.__doc__ if cmd.callback else None)
    return built


def _paragraphs(doc: str | None) -> str | None:
    """A docstring as ``--help`` shows it: typer keeps the source's line breaks after the first
    paragraph, so an 80-column terminal wraps them again mid-line; join each paragraph."""
    if not doc:
        return None
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n"))


def _verb(argv: list[str]) -> str | None:
    """The verb of a command line when it is the first argument (no global option before it)."""
    return argv[1] if len(argv) > 1 and argv[1] in COMMANDS else None


_app: typer.Typer | None = None


def __getattr__(name: str) -> typer.Typer:
    """``ferry.cli.app.app``: every command, built on first use (tests and the UI import it)."""
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        _app = build_app()
    return _app


def next_command(message: str, argv: list[str]) -> str | None:
    """The command an error names (``run `ferry extract` first``), for this project: the
    ``-p DIR`` of the command line that failed is added, so it can be pasted as it is."""
    found = re.search(r"`(ferry [a-z][^`]*)`", message)
    if found is None:
        return None
    cmd = found[1]
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-p", "--project") and " -p " not in f"{cmd} ":
            return f"{cmd} -p {argv[i + 1]}"
    return cmd


def fix_file_command(message: str, argv: list[str]) -> str | None:
    """For an error in ferry.yaml or mapping.yaml that names no command: fix the file where
    the error points, then the same command again."""
    found = re.match(r"(ferry\.yaml|mapping\.yaml)\b", message)
    if found is None:
        return None
    again = " ".join(["ferry", *(shlex.quote(a) for a in argv[1:])])
    return f"fix {found[1]} where the error points, then {again}"


def _interrupted(argv: list[str]) -> None:
    """Ctrl-C: one line and the command that resumes, never Python's traceback (a traceback
    can quote a value, and values can be PHI); exit 130 as the help says."""
    again = " ".join(["ferry", *(shlex.quote(a) for a in argv[1:])])
    err_console.print("\n[yellow]interrupted[/]: what was finished is kept (staged pages,"
                      " audited writes); run the same command again to go on")
    err_console.print(f"next: {again}", markup=False, highlight=False)
    sys.exit(130)


def main() -> None:
    logging.basicConfig(level=os.environ.get("FERRY_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        filename=os.environ.get("FERRY_LOG_FILE") or None)
    scrub.install()
    verb = _verb(sys.argv)
    runtime.importing()  # no collector passes while the verb's modules are imported
    # a command line with no known verb uses the full app, the one importers may have extended
    try:
        app = build_app([verb]) if verb else (_app or build_app())
    except KeyboardInterrupt:
        _interrupted(sys.argv)
    runtime.started()  # the verb's modules are imported: the collector leaves them alone
    try:
        app()
    except BudgetExhausted as exc:
        from ferry.engine.costing import reset_text

        at = reset_text(exc.resets_at) or "when the day's budget resets"
        err_console.print(f"[red]stopped:[/red] {scrub.scrub(str(exc))}; it resets {at}."
                          " Run the same command again then: it resumes where it stopped.")
        sys.exit(1)
    except FerryError as exc:
        first, *rest = scrub.scrub(str(exc)).splitlines() or [""]
        err_console.print(f"[red]error:[/red] {escape(first)}")
        for line in rest:  # a list of problems: each wraps under itself, not at column 0
            lead = len(line) - len(line.lstrip())
            print_item(line.strip(), lead, lead + (2 if line.lstrip().startswith("- ") else 0),
                       plain=True, to=err_console)
        if cmd := next_command(str(exc), sys.argv) or fix_file_command(first, sys.argv):
            err_console.print(f"next: {cmd}", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:  # a verb that does not say where it stopped itself
        _interrupted(sys.argv)
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - no traceback: it could quote a PHI value
        logging.getLogger("ferry").error("unexpected failure: %s", scrub.safe_error(exc))
        err_console.print(f"[red]unexpected failure:[/red] {scrub.safe_error(exc)}"
                          " (set FERRY_DEBUG=1 for a scrubbed traceback)")
        if os.environ.get("FERRY_DEBUG"):
            err_console.print(scrub.safe_traceback(exc), markup=False, highlight=False)
        sys.exit(3)
