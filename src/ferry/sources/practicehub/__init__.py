"""PracticeHub source: ``kind: practicehub`` in ``ferry.yaml``.

```yaml
source:
  kind: practicehub
  base_url: https://demoaccount.neptune.practicehub.io/api   # account and region live here
  api_key_env: PRACTICEHUB_API_KEY          # or api_key_envs: [KEY_A, KEY_B] (same account)
  app_details: ferry=it@clinic.example      # x-app-details, appname=contact@email [doc]
  timezone: Europe/London   # the practice's zone: appointment times are its wall time [code]
  # page_size: 100  requests_per_second: 1.0  limit_scope: account
  # deletions: auto   # auto: /{resource}/deleted if it answers, else compare id sets (sweep);
  #                   # list, sweep, or off (deltas then pick up no deletions)
```

``connect_to`` (e.g. ``http://127.0.0.1:8765``) points the connection at a local emulator while
the requests keep the account's Host; ``time_scale`` must then match the emulator's
``--time-scale``. Secrets are read from the named environment variables only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ferry.connectors.walltime import zone_name
from ferry.errors import ConfigError


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(description="https://{account}.{region}.practicehub.io/api")
    connect_to: str | None = None
    api_key_env: str | None = "PRACTICEHUB_API_KEY"
    api_key_envs: list[str] = Field(default_factory=list)
    app_details: str = Field(pattern=r"^[^=\s]+=[^@\s]+@[^@\s]+$")
    page_size: int = Field(100, ge=1, le=100)
    requests_per_second: float = Field(1.0, gt=0)
    #: "account": keys share one allowance (documented); "key": each key has its own
    limit_scope: Literal["account", "key"] = "account"
    pace_margin: float = Field(0.02, ge=0, le=1)
    time_scale: float = Field(1.0, gt=0)
    #: the practice's IANA zone; unset reads zone-less times as UTC and ``check`` says so
    timezone: str | None = None
    deletions: Literal["auto", "list", "sweep", "off"] = "auto"

    _zone = field_validator("timezone")(zone_name)
    #: the order of dates the account writes other than ISO 8601 (its documented shape):
    #: None leaves such a date out and lists it (``wire``); True/False reads it in that order
    dayfirst: bool | None = None
    watermark_overlap_s: float = Field(1.0, ge=0)
    describe_counts: bool = True
    #: pages requested ahead while the current one is staged (0: strictly one at a time)
    prefetch: int = Field(1, ge=0, le=4)
    timeout_s: float = Field(60.0, gt=0)

    def key_envs(self) -> list[str]:
        return self.api_key_envs or ([self.api_key_env] if self.api_key_env else [])


def create(settings: dict[str, Any], workdir: Path) -> Any:
    from ferry.connectors.secrets import secret
    from ferry.sources.practicehub.client import PracticeHubClient
    from ferry.sources.practicehub.reader import PracticeHubSource
    from ferry.sources.practicehub.wire import Decoder

    try:
        s = Settings.model_validate(settings)
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"practicehub source: {where}: {err['msg']}") from None
    envs = s.key_envs()
    if not envs:
        raise ConfigError("practicehub source: name the API key's variable in api_key_env")
    keys = list(dict.fromkeys(secret(e) for e in envs))
    client = PracticeHubClient(s.base_url, keys, s.app_details, connect_to=s.connect_to,
                               requests_per_second=s.requests_per_second,
                               time_scale=s.time_scale, limit_scope=s.limit_scope,
                               pace_margin=s.pace_margin, timeout=s.timeout_s)
    return PracticeHubSource(client, page_size=s.page_size,
                             decoder=Decoder(s.timezone or "UTC", s.dayfirst),
                             watermark_overlap_s=s.watermark_overlap_s,
                             describe_counts=s.describe_counts, prefetch=s.prefetch,
                             deletions=s.deletions, timezone_set=s.timezone is not None)


__all__ = ["Settings", "create"]
