"""Pipedrive destination (REST v2 for persons/organizations/deals/activities/fields/search,
v1 for notes, files, users and activity types). Imports are lazy: ``create`` loads the driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MULTIPLIER = {"lite": 1, "essential": 1, "growth": 2, "advanced": 2, "professional": 3,
              "premium": 5, "power": 5, "ultimate": 7, "enterprise": 7}
BURST = {"lite": 20, "essential": 20, "growth": 40, "advanced": 40, "professional": 80,
         "premium": 100, "power": 100, "ultimate": 120, "enterprise": 120}


class Settings(BaseModel):
    """``destination.settings`` in ferry.yaml. The token itself only ever comes from the env."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = "https://api.pipedrive.com"  # or https://<company>.pipedrive.com
    api_token_env: str = "PIPEDRIVE_API_TOKEN"
    plan: str = "growth"  # lite|growth|premium|ultimate (or the older names)
    seats: int = Field(1, ge=1)
    daily_budget: int | None = None  # tokens/day; default 30,000 x plan multiplier x seats
    burst: int | None = None  # calls per 2 s per token; default by plan
    time_scale: float = Field(1.0, gt=0)  # matches a sandbox's --time-scale
    #: the currency a deal is sent in when the source names none (ISO 4217). Unset: such a deal
    #: is sent without one, Pipedrive gives it the token's user's default currency, and Ferry
    #: lists each such deal (and ``ferry check`` names that currency)
    default_currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    max_file_bytes: int = 50 * 2**20  # Pipedrive documents no cap; confirm before large scans
    find_search_max: int = 0  # find() by field search for <= this many ids (search index lags)
    workers: int = Field(4, ge=1)  # rows in flight at once (one call per row; paced anyway)
    retry_attempts: int = 8
    timeout_s: float = 60.0
    #: after a create or upload whose answer was lost (5xx, dropped connection) and that a first
    #: look does not find: the wait before a second look, then a re-send. A gateway that gives
    #: up (504) leaves the request running behind it, and it can land after the first look.
    #: ASSUMED: Pipedrive documents no such time; the engine's resume waits as long.
    ambiguous_settle_s: float = Field(5.0, ge=0)

    def budget(self) -> int:
        if self.daily_budget is not None:
            return self.daily_budget
        return 30_000 * MULTIPLIER.get(self.plan.lower(), 1) * self.seats

    def burst_limit(self) -> int:
        return self.burst or BURST.get(self.plan.lower(), 20)


def create(settings: dict[str, Any], workdir: Path, *, transport: Any = None) -> Any:
    from ferry.connectors.secrets import secret
    from ferry.destinations.pipedrive.client import PipedriveClient
    from ferry.destinations.pipedrive.writer import PipedriveDestination

    s = Settings.model_validate(settings)
    client = PipedriveClient(s.base_url, secret(s.api_token_env), burst=s.burst_limit(),
                             daily_budget=s.budget(), time_scale=s.time_scale,
                             attempts=s.retry_attempts, timeout=s.timeout_s,
                             ledger=Path(workdir) / "pipedrive_tokens.json" if workdir else None,
                             transport=transport)
    return PipedriveDestination(client, Path(workdir) if workdir else None,
                                currency=s.default_currency and s.default_currency.upper(),
                                max_file_bytes=s.max_file_bytes,
                                search_max=s.find_search_max, burst=s.burst_limit(),
                                workers=s.workers, settle_s=s.ambiguous_settle_s)


def pricing(workdir: Path) -> Any:
    """This connector built to price calls only (``cost``, ``rate``; nothing is called), with
    its default settings and a placeholder token: ``ferry estimate --patients N`` counts reads
    by ids, 100 a call, as a project's estimate does."""
    from ferry.destinations.pipedrive.client import PipedriveClient
    from ferry.destinations.pipedrive.writer import PipedriveDestination

    s = Settings()
    client = PipedriveClient(s.base_url, "-", burst=s.burst_limit(), daily_budget=s.budget())
    return PipedriveDestination(client, None, currency=s.default_currency,
                                burst=s.burst_limit())
