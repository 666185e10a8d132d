"""``ferry sandbox serve KIND``: run one local emulator on 127.0.0.1 until interrupted."""

from __future__ import annotations

import json
import threading

import typer

from ferry.errors import ConfigError


def register(app: typer.Typer) -> None:
    sandbox = typer.Typer(help="Local emulators of the external systems (for demos and tests).")
    app.add_typer(sandbox, name="sandbox")

    @sandbox.command("serve")
    def serve(kind: str = typer.Argument(..., help="practicehub, pulse, fhir, pipedrive,"
                                                    " salesforce, odoo"),
              port: int = typer.Option(0, help="0 picks a free port"),
              seed: int = typer.Option(1), patients: int = typer.Option(100),
              time_scale: float = typer.Option(1.0, help="divide every limit window and wait"),
              faults: str = typer.Option("", help='e.g. "429=0.05,500=0.02,drop=0.01"'),
              users: str = typer.Option("", help="destination users, comma-separated emails"),
              surface: str = typer.Option(
                  "documented", help="documented: only what the service documents (or public"
                  " client code shows); extended: also the endpoints we assumed"),
              ) -> None:
        """Start a sandbox; the first output line is JSON with its base URL and credentials."""
        from ferry.sandbox.registry import KINDS, SandboxOptions
        from ferry.sandbox.registry import serve as start

        if kind not in KINDS:
            raise ConfigError(f"unknown sandbox {kind!r}; valid: {', '.join(sorted(KINDS))}")
        if surface not in ("documented", "extended"):
            raise typer.BadParameter("--surface is documented or extended")
        opts = SandboxOptions(seed=seed, patients=patients, time_scale=time_scale, faults=faults,
                              users=[u.strip() for u in users.split(",") if u.strip()],
                              surface=surface)
        running, info = start(kind, opts, port=port)
        print(json.dumps(info), flush=True)  # noqa: T201 - the contract is a plain first line
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            running.stop()

    @sandbox.command("export")
    def export(kind: str = typer.Argument(..., help="pulse"),
               folder: str = typer.Argument(..., help="folder to write the export files into"),
               seed: int = typer.Option(1), patients: int = typer.Option(100),
               clean: bool = typer.Option(False, help="no dirt (BOM, mixed dates, broken rows)"),
               ) -> None:
        """Write a source system's export folder (CSV files) from a generated practice."""
        from pathlib import Path

        if kind != "pulse":
            raise typer.BadParameter("only 'pulse' writes an export folder")
        from ferry.sandbox.pulse import write_folder as write

        report = write(Path(folder), seed=seed, patients=patients, dirty=not clean)
        print(json.dumps({"folder": str(report.folder), "rows": report.rows,  # noqa: T201
                          "broken": report.broken}), flush=True)
