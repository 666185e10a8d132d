"""The project file ``ferry.yaml``: source, destination and options.

Secrets never live here: a connector's settings name the *environment variables* that hold them
(``api_key_env: PRACTICEHUB_API_KEY``). ``load_settings`` refuses a file that looks like it holds
a secret value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ferry.errors import ConfigError
from ferry.model import yaml12

if TYPE_CHECKING:
    from ruamel.yaml import YAML

SECRET_KEY = re.compile(r"(?i)(password|secret|token|api_key|apikey|private_key)$")

#: the one encryption-key variable every project used before ``ferry init`` named its own
SHARED_KEY_ENV = "FERRY_ENCRYPTION_KEY"


def project_key_env(folder: str, taken: Callable[[str], bool] = lambda _name: False) -> str:
    """The encryption-key variable of a new project in ``folder``: ``FERRY_ENCRYPTION_KEY_``
    and the folder's name in capitals (other characters as ``_``), so two projects in one shell
    each read their own key. A name ``taken`` says is in use (set in the environment or
    keyring, e.g. by another folder of the same name) gets ``_2``, ``_3``…"""
    slug = re.sub(r"[^A-Z0-9]+", "_", folder.upper()).strip("_") or "PROJECT"
    base = f"{SHARED_KEY_ENV}_{slug}"
    name, n = base, 1
    while taken(name):
        n += 1
        name = f"{base}_{n}"
    return name


class ConnectorSettings(BaseModel):
    """``kind`` picks the connector; every other key is passed to it unchanged."""

    model_config = ConfigDict(extra="allow")
    kind: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class BaaConfirmation(BaseModel):
    confirmed: bool = False
    by: str | None = None
    at: str | None = None
    reference: str | None = None


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fallback_owner_email: str | None = None
    batch_size: int = 100
    sample_size: int = 200
    dedup_by_email: bool = True
    delete_policy: str = Field(default="delete", pattern="^(delete|ignore|flag)$")
    overlap_extract_and_load: bool = True
    encrypt_at_rest: bool = False
    #: the variable holding the key: ``ferry init`` writes one of the project's own
    #: (``project_key_env``); this default is what projects made before that use
    encryption_key_env: str = SHARED_KEY_ENV
    # the practice's country (ISO code, e.g. AU): numbering plan for phone numbers of records
    # whose address names no country; unset = detected from the clinics by `ferry audit`
    phone_region: str | None = Field(default=None, pattern="^[A-Z]{2}$")
    #: a resume looks a second time, this long after it began, for the creates and uploads a
    #: killed run may have sent but the first look did not find (``engine/recover.py``)
    resume_settle_s: float = Field(default=5.0, ge=0)
    #: an appointment with no end, no length and no type length, where the destination refuses
    #: one without (a Salesforce Event): assumed this long, and listed (unset: refused, listed)
    default_appointment_minutes: int | None = Field(default=None, ge=1, le=14 * 24 * 60)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project: str
    source: ConnectorSettings
    destination: ConnectorSettings
    options: Options = Field(default_factory=Options)
    baa: BaaConfirmation = Field(default_factory=BaaConfirmation)
    #: staging backend: unset = the embedded SQLite file in .ferry/; ``postgresql://user@host/db``
    #: = one schema of that database per project (a fleet of workers shares it)
    store: str | None = None
    store_password_env: str = "FERRY_STORE_PASSWORD"

    @field_validator("options", mode="before")
    @classmethod
    def _options_all_commented(cls, v: Any) -> Any:
        """``options:`` with every key commented out (``ferry init --no-encrypt``) is empty."""
        return {} if v is None else v

    @field_validator("store")
    @classmethod
    def _store_url(cls, v: str | None) -> str | None:
        if v and not v.startswith(("postgresql://", "postgres://")):
            raise ValueError("store must be a postgresql:// URL (leave it out for the embedded"
                             " SQLite file)")
        if v and urlsplit(v).password:
            raise ValueError("store URL holds a password: remove it and set the environment"
                             " variable named by store_password_env")
        return v


def _yaml() -> YAML:
    from ruamel.yaml import YAML  # writing, and what the C reader is unsure of (model/yaml12.py)

    y = YAML()
    y.default_flow_style = False
    return y


def _check_no_secrets(data: Any, path: str = "") -> None:
    if isinstance(data, dict):
        for k, v in data.items():
            if SECRET_KEY.search(str(k)) and isinstance(v, str) and v:
                raise ConfigError(f"ferry.yaml {path}{k}: secrets may not be stored in the project;"
                                  f" set an environment variable and use {k}_env instead")
            _check_no_secrets(v, f"{path}{k}.")


def yaml_error(path: Path, text: str, exc: Exception, *, quote: bool = True) -> str:
    """Where a YAML file is broken: line, column, the parser's words and (``quote``) the line
    itself with a caret. Files that may hold values (mapping.yaml) pass ``quote=False``."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    if mark is None:
        return f"{path.name}: not valid YAML ({problem})"
    line, col = mark.line + 1, mark.column + 1
    out = f"{path.name} line {line}, column {col}: {problem}"
    context = getattr(exc, "context", None)
    cmark = getattr(exc, "context_mark", None)
    if context:
        started = f" that starts on line {cmark.line + 1}" if cmark and cmark.line != mark.line \
            else ""
        out += f" ({context}{started})"
    lines = text.splitlines()
    if quote and 0 < line <= len(lines):
        out += f"\n  {line} | {lines[line - 1]}\n  {' ' * len(str(line))} | {' ' * (col - 1)}^"
    return out


def load_settings(path: Path) -> Settings:
    if not path.exists():
        raise ConfigError(f"{path} not found: run `ferry init` first")
    text = path.read_text()
    try:
        # the C parser (or what it read of this text before); ruamel reports what it cannot read
        data = yaml12.load_kept(text, path) or {}
    except yaml12.Unsure:
        try:
            data = _yaml().load(text) or {}
        except Exception as exc:  # noqa: BLE001 - ruamel raises many types for bad YAML
            raise ConfigError(yaml_error(path, text, exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: expected keys (project:, source:, destination:)")
    _check_no_secrets(data)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors(include_input=False, include_url=False)
        # a typo'd key first (it often explains a missing one): name the valid keys, as init does
        err = next((e for e in errs if e["type"] == "extra_forbidden"), errs[0])
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(unknown_key(path.name, err["loc"])) from None
        if err["type"] == "missing":
            raise ConfigError(f"{path.name}: {where} is missing (required)") from None
        raise ConfigError(f"{path.name}: {where}: {err['msg']}") from None


def unknown_key(name: str, loc: tuple[Any, ...]) -> str:
    """``options.fallback_owner_emial is not a setting (did you mean …?); valid: …``."""
    import difflib

    model: type[BaseModel] = Options if len(loc) > 1 and loc[0] == "options" else Settings
    valid = list(model.model_fields)
    key = str(loc[-1])
    close = difflib.get_close_matches(key, valid, n=1)
    return (f"{name}: {'.'.join(map(str, loc))} is not a setting"
            + (f" (did you mean {close[0]!r}?)" if close else "")
            + f"; valid{' under ' + str(loc[0]) if len(loc) > 1 else ''}"
            f": {', '.join(valid)}")


def _uncomment(text: str, section: str, key: str) -> str:
    """Turn ``  # key: default`` (as ``ferry init`` writes it) under ``section:`` into a live
    line, so a value set later lands where its comment explains it, not at the section's end."""
    lines = text.splitlines(keepends=True)
    inside = False
    for i, line in enumerate(lines):
        if re.match(rf"{re.escape(section)}:\s*$", line):
            inside = True
        elif inside and re.match(r"[^\s#]", line):
            break
        elif inside and re.match(rf"  {re.escape(key)}:", line):
            break
        elif inside and re.match(rf"  # {re.escape(key)}: ", line):
            lines[i] = f"  {key}: null\n"
            break
    return "".join(lines)


def _merge(into: Any, data: dict[str, Any]) -> None:
    fa = getattr(into, "fa", None)
    if fa is not None and fa.flow_style() and any(isinstance(v, dict) and v
                                                  for v in data.values()):
        fa.set_block_style()  # a long flow mapping wraps mid-key (``No\n Show:``): unreadable
    for k, v in data.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        elif isinstance(v, dict) and v and k in getattr(getattr(into, "ca", None), "items", {}):
            into[k] = _keep_comments_below(into.ca.items.pop(k), v)
        else:
            into[k] = v


def _keep_comments_below(held: list[Any], value: dict[str, Any]) -> Any:
    """A key that was a scalar (``columns: null``) holds the comment lines after it, down to
    the next key; given a block mapping instead, ruamel would print them between the key and
    the block, and the block would land under the next section's heading. Hand them to the
    block's last line."""
    from ruamel.yaml.comments import CommentedMap

    def commented(d: dict[str, Any]) -> CommentedMap:
        return CommentedMap((k, commented(v) if isinstance(v, dict) else v)
                            for k, v in d.items())

    block = last = commented(value)
    key = next(reversed(last))
    while isinstance(last[key], CommentedMap) and last[key]:
        last = last[key]
        key = next(reversed(last))
    if held[2] is not None and not isinstance(last[key], (dict, list)):
        last.ca.items[key] = [None, None, held[2], None]
    return block


def save_settings(settings: Settings, path: Path) -> None:
    """Write ``settings``; an existing file keeps its comments and layout (ruamel round-trip),
    and only the keys that were set are written into it (defaults stay commented out)."""
    if path.exists():
        y = _yaml()
        data = settings.model_dump(mode="json", exclude_unset=True)
        text = path.read_text()
        for section, values in data.items():
            if isinstance(values, dict):
                for key in values:
                    text = _uncomment(text, section, key)
        doc = y.load(text) or {}
        _merge(doc, data)
        with path.open("w") as fh:
            y.dump(doc, fh)
        return
    data = settings.model_dump(mode="json", exclude_none=False)
    with path.open("w") as fh:
        _yaml().dump(data, fh)
