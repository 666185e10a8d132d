"""Owners: practitioners matched to destination users by email (case-insensitive, trimmed).

Unmatched practitioners fall back to the configured fallback owner; the owner report lists each
of them with the number of records that would land on the fallback, so the team can create the
user (or accept the fallback) before the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ferry.connectors.base import DestUser
from ferry.errors import ConfigError
from ferry.model.entities import Practitioner
from ferry.model.staging import StagingStore

#: objects whose ``practitioner_id`` decides a record's owner
OWNED_OBJECTS = ("appointment", "clinical_note", "treatment_record", "prescription", "message",
                 "patient")


def norm_email(value: str | None) -> str:
    return (value or "").strip().lower()


@dataclass
class OwnerMatch:
    by_practitioner: dict[str, str] = field(default_factory=dict)  # practitioner id → user id
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    fallback_user_id: str | None = None
    fallback_email: str | None = None

    def owner(self, practitioner_id: str | None) -> str | None:
        if practitioner_id is None:
            return self.fallback_user_id
        return self.by_practitioner.get(practitioner_id, self.fallback_user_id)

    def report(self) -> dict[str, Any]:
        return {"matched": len(self.by_practitioner), "unmatched": self.unmatched,
                "fallback_owner": self.fallback_email,
                "records_on_fallback": sum(u["records"] for u in self.unmatched)}


def match_owners(store: StagingStore, users: list[DestUser],
                 fallback_email: str | None, *, report: bool = True) -> OwnerMatch:
    """Practitioners matched to ``users``. ``report=False``: the matching alone, for a caller
    that never reads the owner report (the reconcile's payload rebuild): ``unmatched`` stays
    empty, without the count of their records (a query per owned object over the store)."""
    by_email = {norm_email(u.email): u for u in users if u.active and u.email}
    result = OwnerMatch()
    if fallback_email:
        fb = by_email.get(norm_email(fallback_email))
        if fb is None:
            raise ConfigError("options.fallback_owner_email is not a user of the destination")
        result.fallback_user_id, result.fallback_email = fb.id, fb.email
    unmatched: list[Practitioner] = []
    for rec in store.iter_records("practitioner"):
        assert isinstance(rec, Practitioner)
        user = by_email.get(norm_email(rec.email))
        if user is not None:
            result.by_practitioner[rec.source_id] = user.id
        else:
            unmatched.append(rec)
    if unmatched and report:
        counts = _records_per_practitioner(store, {p.source_id for p in unmatched})
        result.unmatched = [{"practitioner": f"source:practitioner:{p.source_id}",
                             "name": " ".join(x for x in (p.first_name, p.last_name) if x),
                             "email": p.email, "records": counts[p.source_id]}
                            for p in unmatched]
    return result


def _records_per_practitioner(store: StagingStore, ids: set[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for obj in OWNED_OBJECTS:
        counts.update(store.owner_counts(obj, ids))
    return counts
