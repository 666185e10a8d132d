"""The commented ``ferry.yaml`` that ``ferry init`` writes: every key of the chosen source and
destination (from their pydantic Settings), what it means and where to find its value."""

from __future__ import annotations

import io
import textwrap
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML

from ferry.cli import settings_help as sh
from ferry.errors import ConfigError
from ferry.settings import Options

WIDTH = 96
HEADER = """\
# Ferry project settings. Secrets never go in this file: a key ending in _env names the
# environment variable that holds the secret (export it, or store it in the OS keyring under
# service 'ferry'). Keys shown commented out keep the default written after them; uncomment
# a line to change it. Each source and destination is described in docs/connectors/.
"""


def _scalar(name: str, value: Any) -> str:
    y = YAML()
    y.default_flow_style = True
    y.width = 4096
    buf = io.StringIO()
    y.dump({name: value}, buf)
    return buf.getvalue().strip().removeprefix("{").removesuffix("}") \
        if buf.getvalue().startswith("{") else buf.getvalue().strip()


def _comment(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}" for line in textwrap.wrap(text, WIDTH - len(indent) - 2)]


def parse_value(raw: str) -> Any:
    """A --set value typed as YAML would type it (``seats=3`` is 3, ``x=true`` is True)."""
    try:
        return YAML(typ="safe").load(raw) if raw.strip() else raw
    except Exception:  # noqa: BLE001 - not YAML: keep the text as given
        return raw


def _validate(role: str, kind: str, values: dict[str, Any]) -> None:
    try:
        sh._settings_model(role, kind).model_validate(values)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{role}{'.' + where if where else ''}: {err['msg']}") from None


def section(role: str, kind: str, given: dict[str, Any]) -> list[str]:
    sh.require_kind(role, kind)
    sh.check_keys(role, kind, list(given))
    examples = sh.EXAMPLES.get(kind, {})
    active = {**examples, **given}
    _validate(role, kind, active)
    lines = ["", f"# {role.capitalize()}: {kind} (see docs/connectors/{kind}.md)", f"{role}:",
             f"  kind: {kind}"]
    for key in sh.keys(role, kind):
        lines += _comment(key.meaning + (" (required)" if key.required else ""), "  ")
        if key.where:
            lines += _comment(f"where: {key.where}", "  ")
        if key.name in active:
            lines.append("  " + _scalar(key.name, active[key.name]))
        else:
            lines.append("  # " + _scalar(key.name, key.default))
    return lines


STORE = """\
# Staging store. Left out: the embedded SQLite file in .ferry/ (one process, no server). To run
# this project on Temporal workers (docs/DEPLOY.md), name a PostgreSQL database: each project
# is one schema of it. No password in the URL (it is refused): the password comes from the
# environment variable store_password_env names."""


def store_lines(store: str | None) -> list[str]:
    if store:
        from ferry.settings import Settings

        try:  # the same check as loading ferry.yaml, before anything is written
            Settings._store_url(store)
        except ValueError as exc:
            raise ConfigError(f"--store: {exc}") from None
    prefix = "" if store else "# "
    return ["", *STORE.splitlines(),
            prefix + _scalar("store", store or "postgresql://ferry@db.internal:5432/ferry"),
            prefix + _scalar("store_password_env", "FERRY_STORE_PASSWORD")]


def render(project: str, source: str, destination: str,
           sets: dict[str, dict[str, Any]], store: str | None = None) -> str:
    """The whole file; raises ConfigError for an unknown kind or key, or a bad value."""
    unknown = [k for k in sets["options"] if k not in Options.model_fields]
    if unknown:
        raise ConfigError(f"options.{unknown[0]} is not an option; valid:"
                          f" {', '.join(Options.model_fields)}")
    try:
        opts = Options.model_validate(sets["options"])
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        raise ConfigError(f"options.{err['loc'][0]}: {err['msg']}") from None
    lines = HEADER.splitlines() + ["", _scalar("project", project)]
    lines += section("source", source, sets["source"])
    lines += section("destination", destination, sets["destination"])
    # every option commented out (``--no-encrypt`` and no ``--set``) must still be a mapping
    lines += ["", "# Options for every pair", "options:" if sets["options"] else "options: {}"]
    for name, value in opts.model_dump(mode="json").items():
        lines += _comment(sh.OPTIONS_HELP.get(name, ""), "  ")
        prefix = "  " if name in sets["options"] else "  # "
        lines.append(prefix + _scalar(name, value))
    lines += ["", "# BAA (business associate agreement) confirmation, recorded by",
              "# `ferry check --baa-by NAME --baa-ref REF` once the agreement is signed.",
              "baa:", "  confirmed: false"]
    lines += store_lines(store)
    return "\n".join(lines) + "\n"
