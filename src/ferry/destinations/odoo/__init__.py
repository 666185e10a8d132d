"""Odoo CRM destination (JSON-RPC or XML-RPC external API, Odoo 16–19).

Settings (``destination:`` in ferry.yaml):

| key | default | meaning |
|---|---|---|
| ``url`` | — | server base URL, e.g. ``https://acme.odoo.com`` |
| ``db`` | — | database name |
| ``login`` | — | user login (an administrator for ``prepare``) |
| ``password_env`` / ``api_key_env`` | — | name of the env var holding the password or API key (one of them) |
| ``protocol`` | ``jsonrpc`` | ``jsonrpc`` (``/jsonrpc``) or ``xmlrpc`` (``/xmlrpc/2``): the same services and errors; JSON costs Ferry less CPU per call |
| ``requests_per_second`` | 1.0 | pace of calls; Odoo documents no limit, 1/s is a vendor's courtesy |
| ``batch_size`` | 100 | records per ``create``/``write``/``unlink`` call (NOTES 5: 50–200) |
| ``time_scale`` | 1.0 | divides the pace and waits (sandboxes, benchmarks) |
| ``timeout_s`` | 120 | per call (Odoo's default ``limit_time_real``) |
| ``max_file_bytes`` | 90 MB | largest attachment (128 MiB request cap less base64/XML overhead) |
| ``source_id_field`` | ``x_ferry_source_id`` | the ``x_`` field every migrated record is tagged with |
| ``ambiguous_settle_s`` | 5.0 | seconds before looking again for a create whose answer was lost, before sending it again |

Secrets are read from the environment only, never from the project folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: the schema items ``prepare`` makes, in Odoo's words: (what, model) by item kind (a pipeline
#: is a sales team, its stages and the activity types are records of their own models)
SCHEMA_TERMS: dict[str, tuple[str, str]] = {"pipeline": ("sales team", "crm.team"),
                                           "stage": ("stage", "crm.stage"),
                                           "activity_type": ("activity type",
                                                             "mail.activity.type")}

if TYPE_CHECKING:
    from ferry.destinations.odoo.writer import OdooDestination


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    db: str
    login: str
    password_env: str | None = None
    api_key_env: str | None = None
    protocol: Literal["jsonrpc", "xmlrpc"] = "jsonrpc"
    requests_per_second: float = Field(1.0, gt=0)
    batch_size: int = Field(100, ge=1, le=1000)
    time_scale: float = Field(1.0, gt=0)
    timeout_s: float = Field(120.0, gt=0)
    max_file_bytes: int = Field(90_000_000, gt=0)
    source_id_field: str = Field("x_ferry_source_id", pattern=r"^x_[a-z0-9_]{1,61}$")
    ambiguous_settle_s: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _one_secret(self) -> Settings:
        if bool(self.password_env) == bool(self.api_key_env):
            raise ValueError("set exactly one of password_env or api_key_env")
        return self


def create(settings: dict[str, Any], workdir: Path) -> OdooDestination:
    from ferry.connectors.ratelimit import Pacer, account_id
    from ferry.connectors.secrets import secret
    from ferry.destinations.odoo.rpc import OdooRpc
    from ferry.destinations.odoo.writer import OdooDestination

    s = Settings.model_validate({k: v for k, v in settings.items() if k != "kind"})
    pacer = Pacer(1.0 / s.requests_per_second, time_scale=s.time_scale,
                  account=account_id("odoo", s.url, s.db, s.login))
    rpc = OdooRpc(s.url, s.db, s.login, secret(str(s.password_env or s.api_key_env)),
                  pacer=pacer, timeout=s.timeout_s, time_scale=s.time_scale,
                  protocol=s.protocol)
    return OdooDestination(rpc, batch_size=s.batch_size, max_file_bytes=s.max_file_bytes,
                           source_id_field=s.source_id_field,
                           requests_per_second=s.requests_per_second,
                           settle_s=s.ambiguous_settle_s)


def pricing(workdir: Path) -> OdooDestination:
    """This connector built to price calls only (``cost``, ``rate``; nothing is called), with a
    placeholder address and credential: ``ferry estimate --patients N`` counts Odoo's writes of
    100 records and reads of 500 as a project's estimate does."""
    from ferry.connectors.ratelimit import Pacer
    from ferry.destinations.odoo.rpc import OdooRpc
    from ferry.destinations.odoo.writer import OdooDestination

    return OdooDestination(OdooRpc("http://odoo.invalid", "-", "-", "", pacer=Pacer(1.0)))
