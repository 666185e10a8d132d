"""The data of a load's report (run, sample or delta), as the CLI and the UI write it."""

from __future__ import annotations

from typing import Any

from ferry.model.staging import StagingStore

MAX_ROWS = 5000


def run_report_data(report: Any, store: StagingStore) -> dict[str, Any]:
    """Buckets per map, owners, dedup, recovery, BAA/PHI holds and the skip list (references
    and reasons only: safe for non-clinical staff)."""
    skips = store.skips(report.run_id)
    return {"run": report.run_id, "kind": report.kind, "dry_run": report.dry_run,
            "totals": report.totals(),
            "maps": [{"map": k, **v.as_dict()} for k, v in report.stats.items()],
            "owners": report.owners, "dedup": report.dedup,
            "recovered": report.recovery.__dict__,
            "baa_withheld_fields": report.withheld, "phi_review_queue": report.phi_queue,
            "held": [s.__dict__ for s in skips if s.stage == "hold"][:MAX_ROWS],
            "skips": [s.__dict__ for s in skips][:MAX_ROWS]}
