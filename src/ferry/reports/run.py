"""The data of a load's report (run, sample or delta), as the CLI and the UI write it."""

from __future__ import annotations

from typing import Any

from ferry.model.staging import StagingStore

MAX_ROWS = 5000


#: stages where a skip means the record itself was not written (not a field left empty)
RECORD_STAGES = {"load", "load-file", "transform", "reference", "attach", "hold"}


def current_skips(store: StagingStore, run_id: str) -> list[Any]:
    """Each problem of a run once, as its latest attempt saw it: a resumed run meets the same
    record again in every attempt, and a record a later attempt did write is no problem now."""
    latest: dict[tuple[Any, ...], Any] = {}
    for s in store.skips(run_id):
        key = (s.ref, s.field, s.reason, s.stage)
        latest.pop(key, None)
        latest[key] = s
    out = []
    for s in latest.values():
        parts = s.ref.split(":", 2)
        if s.stage in RECORD_STAGES and len(parts) == 3 and parts[0] == "source" \
                and store.dest_id(parts[1], parts[2]) is not None:
            continue  # written by a later attempt
        out.append(s)
    return out


def run_report_data(report: Any, store: StagingStore) -> dict[str, Any]:
    """Buckets per map, owners, dedup, recovery, BAA/PHI holds and the skip list (references
    and reasons only: safe for non-clinical staff)."""
    skips = current_skips(store, report.run_id)
    return {"run": report.run_id, "kind": report.kind, "dry_run": report.dry_run,
            "totals": report.totals(),
            "maps": [{"map": k, **v.as_dict()} for k, v in report.stats.items()],
            "owners": report.owners, "dedup": report.dedup,
            "recovered": report.recovery.__dict__,
            "baa_withheld_fields": report.withheld, "phi_review_queue": report.phi_queue,
            "held": [s.__dict__ for s in skips if s.stage == "hold"][:MAX_ROWS],
            "skips": [s.__dict__ for s in skips if s.stage != "owners"][:MAX_ROWS],
            "owner_fallbacks": [s.ref for s in skips if s.stage == "owners"][:MAX_ROWS]}


CHANGE_OUTCOMES = ("applied", "merged", "held", "excluded", "refused", "unaccounted")


def delta_report_data(stats: Any, report: Any, deleted: int) -> dict[str, Any]:
    """A delta pass's report: every source change with its outcome (``changes``), then the
    counts per map and the deletions by policy. The CLI and the UI write the same."""
    return {"run": report.run_id, "changes": report.changes, "changed": stats.staged,
            "deleted_at_source": stats.deleted, "deleted_in_destination": deleted,
            "deletions_unseen": getattr(stats, "deletions_unseen", {}),
            "deletions": report.deletions,
            "maps": [{"map": k, **v.as_dict()} for k, v in report.stats.items()]}


def changes_line(changes: dict[str, Any]) -> str:
    """``29 source change(s): applied 23, merged 0, held 6, …`` (counts only, no values)."""
    again = changes.get("unreadable_as_before", 0)
    return f"{changes.get('total', 0):,} source change(s): " + ", ".join(
        f"{k} {changes.get(k, 0):,}" for k in CHANGE_OUTCOMES) + (
        f"; {again:,} row(s) still unreadable, as before (not counted as changes)"
        if again else "")
