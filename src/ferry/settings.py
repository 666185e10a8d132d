"""The project file ``ferry.yaml``: source, destination and options.

Secrets never live here: a connector's settings name the *environment variables* that hold them
(``api_key_env: PRACTICEHUB_API_KEY``). ``load_settings`` refuses a file that looks like it holds
a secret value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML

from ferry.errors import ConfigError

SECRET_KEY = re.compile(r"(?i)(password|secret|token|api_key|apikey|private_key)$")


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
    encryption_key_env: str = "FERRY_ENCRYPTION_KEY"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    project: str
    source: ConnectorSettings
    destination: ConnectorSettings
    options: Options = Field(default_factory=Options)
    baa: BaaConfirmation = Field(default_factory=BaaConfirmation)


def _yaml() -> YAML:
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


def load_settings(path: Path) -> Settings:
    if not path.exists():
        raise ConfigError(f"{path} not found: run `ferry init` first")
    data = _yaml().load(path.read_text()) or {}
    _check_no_secrets(data)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path.name}: {where}: {err['msg']}") from None


def save_settings(settings: Settings, path: Path) -> None:
    data = settings.model_dump(mode="json", exclude_none=False)
    with path.open("w") as fh:
        _yaml().dump(data, fh)
