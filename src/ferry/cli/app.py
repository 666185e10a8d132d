"""Entry point: builds the typer app from one module per verb under ``ferry.cli.commands``.

Each command module exposes ``register(app: typer.Typer) -> None``. FerryErrors end the process
with a one-line message and exit status 2 (a spent daily API budget: 1, with the reset time);
they never print a traceback (tracebacks can carry values, and values can be PHI). Exit codes of
every verb: 0 done / PASS, 1 a FAIL (its table or verdict line says which), 2 unusable
configuration or input, 3 unexpected failure, 130 interrupted (run it again to resume).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

import typer

from ferry.cli.console import err_console
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

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Ferry: move a practice's data into a CRM, verifiably and reversibly.")

for _name in COMMANDS:
    importlib.import_module(f"ferry.cli.commands.{_name}").register(app)


def main() -> None:
    logging.basicConfig(level=os.environ.get("FERRY_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        filename=os.environ.get("FERRY_LOG_FILE") or None)
    scrub.install()
    try:
        app()
    except BudgetExhausted as exc:
        from ferry.engine.costing import reset_text

        at = reset_text(exc.resets_at) or "when the day's budget resets"
        err_console.print(f"[red]stopped:[/red] {scrub.scrub(str(exc))}; it resets {at}."
                          " Run the same command again then: it resumes where it stopped.")
        sys.exit(1)
    except FerryError as exc:
        err_console.print(f"[red]error:[/red] {scrub.scrub(str(exc))}")
        sys.exit(2)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - no traceback: it could quote a PHI value
        logging.getLogger("ferry").error("unexpected failure: %s", scrub.safe_error(exc))
        err_console.print(f"[red]unexpected failure:[/red] {scrub.safe_error(exc)}"
                          " (set FERRY_DEBUG=1 for a scrubbed traceback)")
        if os.environ.get("FERRY_DEBUG"):
            import traceback

            err_console.print(scrub.scrub("".join(traceback.format_exception(exc))))
        sys.exit(3)
