"""``ferry init``: a project folder with ferry.yaml (secrets only as env-var names)."""

from __future__ import annotations

from pathlib import Path

import typer

from ferry.cli.console import console
from ferry.errors import ConfigError
from ferry.model.crypto import new_key
from ferry.settings import ConnectorSettings, Options, Settings, save_settings


def _parse_sets(sets: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {"source": {}, "destination": {}, "options": {}}
    for s in sets:
        key, sep, value = s.partition("=")
        section, _, name = key.partition(".")
        if not sep or section not in out or not name:
            raise ConfigError(f"--set {key}: expected source.KEY=VALUE, destination.KEY=VALUE"
                              " or options.KEY=VALUE")
        out[section][name] = value
    return out


DIRECTORY = typer.Argument(Path("."), help="project folder to create")


def register(app: typer.Typer) -> None:
    @app.command()
    def init(directory: Path = DIRECTORY,
             source: str = typer.Option(..., help="practicehub, pulse, clinic_csv, fhir_bulk"),
             destination: str = typer.Option(..., help="pipedrive, salesforce, odoo"),
             name: str = typer.Option("", help="project name (default: folder name)"),
             set_: list[str] = typer.Option([], "--set",  # noqa: B008
                                            help="source.base_url=… (repeatable)"),
             encrypt: bool = typer.Option(True, help="encrypt staged data at rest")) -> None:
        """Create a migration project folder."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "ferry.yaml"
        if path.exists():
            raise ConfigError(f"{path} already exists")
        sets = _parse_sets(set_)
        if encrypt:
            sets["options"].setdefault("encrypt_at_rest", True)
        settings = Settings(project=name or directory.resolve().name,
                            source=ConnectorSettings(kind=source, **sets["source"]),
                            destination=ConnectorSettings(kind=destination,
                                                          **sets["destination"]),
                            options=Options(**sets["options"]))  # type: ignore[arg-type]
        save_settings(settings, path)
        (directory / ".gitignore").write_text(".ferry/\nreports/\n")
        console.print(f"created {path}; next: ferry check -p {directory}")
        if encrypt:
            var = settings.options.encryption_key_env
            console.print(f"staged data is encrypted at rest: keep this key outside the project"
                          f" (environment or keyring) — it is shown once:\n  export {var}="
                          f"{new_key()}")
