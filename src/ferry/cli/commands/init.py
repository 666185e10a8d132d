"""``ferry init``: a project folder with a complete, commented ferry.yaml (secrets only as
env-var names). Unknown kinds, keys and bad values are refused (exit 2) before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ferry.cli import settings_help as sh
from ferry.cli.console import console
from ferry.cli.template import parse_value, render
from ferry.connectors.secrets import is_set
from ferry.errors import ConfigError
from ferry.model.crypto import new_key
from ferry.settings import load_settings, project_key_env


def _parse_sets(sets: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {"source": {}, "destination": {}, "options": {}}
    for s in sets:
        key, sep, value = s.partition("=")
        section, _, name = key.partition(".")
        if not sep or section not in out or not name:
            raise ConfigError(f"--set {key}: expected source.KEY=VALUE, destination.KEY=VALUE"
                              " or options.KEY=VALUE")
        out[section][name] = parse_value(value)
    return out


DIRECTORY = typer.Argument(Path("."), help="project folder to create")


def register(app: typer.Typer) -> None:
    @app.command()
    def init(directory: Path = DIRECTORY,
             source: str = typer.Option(..., help=", ".join(sh.kinds("source"))),
             destination: str = typer.Option(..., help=", ".join(sh.kinds("destination"))),
             name: str = typer.Option("", help="project name (default: folder name)"),
             set_: list[str] = typer.Option([], "--set",  # noqa: B008
                                            help="source.base_url=… (repeatable)"),
             encrypt: bool = typer.Option(True, help="encrypt staged data at rest"),
             store: str = typer.Option("", help="staging store: a postgresql://user@host/db"
                                       " URL for Temporal workers (default: the embedded"
                                       " SQLite file)")) -> None:
        """Create a migration project folder with a commented ferry.yaml.

        Exit 0: written; 2: unknown source/destination kind or key, bad value, or the file
        exists (the message lists the valid choices).
        """
        path = directory / "ferry.yaml"
        if path.exists():
            raise ConfigError(f"{path} already exists")
        sets = _parse_sets(set_)
        if encrypt:
            sets["options"].setdefault("encrypt_at_rest", True)
            if "encryption_key_env" not in sets["options"]:  # the project's own variable
                sets["options"]["encryption_key_env"] = project_key_env(
                    directory.resolve().name, taken=is_set)
        else:  # said, not commented: an `options: {}` broke the file when a line was uncommented
            sets["options"].setdefault("encrypt_at_rest", False)
        text = render(name or directory.resolve().name, source, destination, sets,
                      store=store or None)
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        load_settings(path)  # what we wrote must load
        (directory / ".gitignore").write_text(".ferry/\nreports/\n")
        console.print(f"created {path}: every key of {source} and {destination} is listed"
                      " there with where to find its value.")
        if encrypt:
            var = load_settings(path).options.encryption_key_env
            console.print(f"staged data is encrypted at rest with a key of its own, read from"
                          f" {var}; keep it outside the project (environment, or the keyring"
                          " under service 'ferry'). It is shown once:")
            # one line, never wrapped (a command to copy): the terminal folds it if it must
            console.print(f"export {var}={new_key()}", soft_wrap=True, markup=False,
                          highlight=False)
        console.print(f"next: edit {path}, export the secrets it names, then"
                      f" `ferry check -p {directory}`")
