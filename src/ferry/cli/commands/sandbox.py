"""``ferry sandbox serve KIND``: run one local emulator on 127.0.0.1 until interrupted."""

from __future__ import annotations

import json
import threading

import typer

from ferry.errors import ConfigError

#: the source kinds `ferry sandbox export` writes a generated export folder for
EXPORTS = ("pulse", "clinic_csv")


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
              address_picklists: bool = typer.Option(
                  False, help="salesforce: an org with State and Country/Territory Picklists"),
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
                              surface=surface,
                              extra={"address_picklists": True} if address_picklists else {})
        import signal

        def _terminated(_sig: int, _frame: object) -> None:
            raise KeyboardInterrupt  # `kill` stops it as Ctrl-C does: its temp files go too

        running, info = start(kind, opts, port=port)
        # before the first line: whoever reads it may stop the sandbox at once
        signal.signal(signal.SIGTERM, _terminated)
        try:
            print(json.dumps(info), flush=True)  # noqa: T201 - the contract: a plain first line
            threading.Event().wait()
        except KeyboardInterrupt:
            running.stop()

    @sandbox.command("export")
    def export(kind: str = typer.Argument(..., help="pulse or clinic_csv"),
               folder: str = typer.Argument(..., help="folder to write the export files into"),
               seed: int = typer.Option(1), patients: int = typer.Option(100),
               clean: bool = typer.Option(False, help="no dirt (BOM, mixed dates, broken rows)"),
               ) -> None:
        """Write a source system's export folder (CSV files) from a generated practice; the
        first output line is JSON with the rows per file, then the ferry init that reads it."""
        from pathlib import Path

        if kind not in EXPORTS:
            raise ConfigError(f"unknown export {kind!r}; valid: {', '.join(EXPORTS)}")
        from ferry.sandbox.synth import Practice

        out = Path(folder)
        zone = Practice(seed, patients).timezone  # the export's times are its wall time
        if kind == "pulse":
            from ferry.sandbox.pulse import write_folder as write

            report = write(out, seed=seed, patients=patients, dirty=not clean)
            rows, broken = report.rows, report.broken
        else:
            from ferry.sandbox.clinic_export import write_clinic_export
            from ferry.sandbox.synth import DirtRates

            practice = Practice(seed, patients, DirtRates.none() if clean else DirtRates())
            rows, broken = write_clinic_export(out, practice, dirty=not clean), {}
        print(json.dumps({"folder": str(out), "rows": rows,  # noqa: T201 - first line: JSON
                          "broken": broken, "timezone": zone}), flush=True)
        from ferry.cli.console import console

        console.print(f"wrote {len(rows)} files ({sum(rows.values()):,} rows) into {out}"
                      + ("" if clean else ", with the dirt real exports carry"),
                      markup=False, highlight=False)
        # the path on a line of its own (a shell continuation), never folded, so it pastes
        # whole and the command fits 80 columns unless the path itself does not
        console.print(f"next: ferry init DIR --source {kind} --destination … \\\n"
                      f"  --set source.path={out.resolve()} \\\n"
                      f"  --set source.timezone={zone}", markup=False, highlight=False,
                      soft_wrap=True)
