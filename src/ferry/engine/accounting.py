"""A delta pass's account of every change the source showed: what became of each one.

Each record the pass staged as new, changed or deleted gets one line with its outcome —

* ``applied``: written (created, updated, uploaded, folded into its parent, deleted by the
  map's delete policy), or already as the source has it (unchanged in what the map sends);
* ``merged``: folded into another record by dedup (the survivor is named);
* ``held``: waiting for PHI review / a BAA (the next delta delivers it once decided);
* ``excluded``: left out by a rule the user confirmed (a ``when`` condition, mode ``none``, a
  delete policy that keeps it, a PHI exclusion);
* ``refused``: the source row, the map or the destination refused it — with the reason;
* ``unaccounted``: none of the above. It should never happen: it is a change lost silently,
  and the report counts it so the pass can be failed on it.

The evidence is the pass's audit entries and skip lines, the id map and dedup's merges; the
line names the record by reference and quotes reasons, never values (safe for any reader).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ferry.engine.dedup import survivor_of
from ferry.mapping.compile import CompiledMap
from ferry.model.audit import AuditLog
from ferry.model.staging import StagingStore

OUTCOMES = ("applied", "merged", "held", "excluded", "refused", "unaccounted")
#: skip stages → the outcome they mean for the record
STAGE_OUTCOME = {"hold": "held", "excluded": "excluded", "delta": "excluded",
                 "delta-delete": "applied", "delta-unlink": "applied",
                 "transform": "refused", "reference": "refused", "attach": "refused",
                 "load": "refused", "load-file": "refused", "delete": "refused",
                 "extract": "refused", "extract-file": "refused"}
#: field-level findings: the record was written, a field left empty (a note on the line)
FIELD_STAGES = ("load-field", "load-kept", "transform-field", "extract-field",
                "transform-assumed", "link-emptied")
#: a record with several outcomes (one per map) is shown by the one that needs attention
SEVERITY = {o: i for i, o in enumerate(("unaccounted", "refused", "held", "excluded", "merged",
                                        "applied"))}
MAX_LINES = 5000


@dataclass
class ChangeAccount:
    changes: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def unaccounted(self) -> int:
        return self.counts["unaccounted"]

    def as_dict(self) -> dict[str, Any]:
        return {"total": len(self.changes), **{o: self.counts[o] for o in OUTCOMES},
                "unreadable_as_before": self.counts["unreadable_as_before"],
                "lines": self.changes[:MAX_LINES]}


def _unplaced(reason: str) -> str:
    """A refusal's reason without where the row sits in its file (a row above it added or
    removed moves it, not changes it)."""
    return _WHERE.sub("", reason)


_WHERE = re.compile(r"\b(line|row) \d+( column \d+)?")


def _refused_before(store: StagingStore, run_ids: list[str]) -> set[tuple[str, str | None, str]]:
    """(ref, field, reason) of the rows refused at extract by runs before ``run_ids``."""
    return {(s.ref, s.field, _unplaced(s.reason)) for s in store.skips(superseded=True)
            if s.run_id not in run_ids and s.stage in ("extract", "superseded:extract")}


def _evidence(store: StagingStore, audit: AuditLog, run_ids: list[str]
              ) -> dict[str, list[tuple[str, str]]]:
    """ref → [(outcome, what)] from the pass's audit entries and skip lines."""
    out: dict[str, list[tuple[str, str]]] = {}
    done_intents: set[int] = set()
    for run in run_ids:
        for e in audit.entries(run):
            if not e.src_ref:
                continue
            if e.kind == "done":
                if e.intent_seq is not None:
                    done_intents.add(e.intent_seq)
                out.setdefault(e.src_ref, []).append(
                    ("applied", f"{e.op}d {e.dest_object}:{e.dest_id}"))
        for s in store.skips(run):
            if s.stage in ("transform-assumed", "load-kept"):  # a value assumed, or kept as
                # text in another field: the reason says which
                out.setdefault(s.ref, []).append(("note", f"{s.field or 'a field'} {s.reason}"))
                continue
            if s.stage in FIELD_STAGES:
                out.setdefault(s.ref, []).append(("note", f"{s.field or 'a field'} left empty:"
                                                          f" {s.reason.removeprefix('field left empty: ')}"))
                continue
            outcome = STAGE_OUTCOME.get(s.stage)
            if outcome is None:
                continue
            where = f" ({s.field})" if s.field and outcome == "refused" else ""
            out.setdefault(s.ref, []).append((outcome, f"{s.reason}{where}"))
    return out


def account_changes(store: StagingStore, audit: AuditLog, compiled: list[CompiledMap],
                    since: str, run_ids: list[str]) -> ChangeAccount:
    """Every record staged (new, changed, deleted) after ``since``, with its outcome from the
    runs ``run_ids`` (the pass's extract and load). Rows refused at extract are lines too."""
    evidence = _evidence(store, audit, run_ids)
    by_source: dict[str, list[CompiledMap]] = {}
    for cm in compiled:
        by_source.setdefault(cm.om.source, []).append(cm)
    acc = ChangeAccount()
    seen: set[str] = set()
    objects = sorted({o for o, in store.conn.execute(
        "SELECT DISTINCT object FROM records WHERE staged_at>?", (since,))})
    for obj in objects:
        for batch in store.iter_batches(obj, 500, include_deleted=True, changed_since=since):
            for s in batch:
                ref = f"source:{obj}:{s.source_id}"
                seen.add(ref)
                outcome, what = _outcome(store, by_source.get(obj, []), s, ref,
                                         evidence.get(ref, []))
                acc.counts[outcome] += 1
                acc.changes.append({"ref": ref, "change": "deleted" if s.deleted else "changed",
                                    "outcome": outcome, "detail": what})
    before = _refused_before(store, run_ids)
    for run in run_ids:  # rows the source showed that never became records
        for sk in store.skips(run):
            if sk.stage == "extract" and sk.ref not in seen:
                seen.add(sk.ref)
                if (sk.ref, sk.field, _unplaced(sk.reason)) in before:
                    # an export read whole again shows its broken rows again: a row refused
                    # before for the same reason is no new change (counted apart)
                    acc.counts["unreadable_as_before"] += 1
                    continue
                acc.counts["refused"] += 1
                acc.changes.append({"ref": sk.ref, "change": "unreadable",
                                    "outcome": "refused", "detail": sk.reason})
    return acc


def _outcome(store: StagingStore, cms: list[CompiledMap], s: Any, ref: str,
             ev: list[tuple[str, str]]) -> tuple[str, str]:
    notes = [d for o, d in ev if o == "note"]
    found = [(o, d) for o, d in ev if o != "note"]
    if found:
        worst = min(found, key=lambda x: SEVERITY[x[0]])[0]
        if worst == "refused" and any(o == "applied" and d.startswith("deleted")
                                      for o, d in found):
            worst = "applied"  # refused on the way, deleted with its parent after all
        return worst, "; ".join(dict.fromkeys(d for _, d in found + [("", n) for n in notes]))
    survivor = survivor_of(store, s.object, s.source_id)
    if survivor:
        return "merged", f"merged into source:{s.object}:{survivor} (dedup)"
    if not cms:
        return "excluded", f"no object map takes {s.object} records"
    if s.deleted:
        if store.dest_id(s.object, s.source_id) is None:
            return "applied", "deleted at the source; it was never in the destination"
        return "unaccounted", "deleted at the source, still in the destination, no line says why"
    taking = [cm for cm in cms if cm.accepts(s.record)]
    if not taking:
        return "excluded", "left out by the map's confirmed `when` rule"
    if all(cm.om.mode == "none" for cm in taking):
        return "excluded", "its object map migrates nothing (mode none)"
    mapped = {d for d, in store.conn.execute(
        "SELECT dest_object FROM idmap WHERE src_object=? AND source_id=?",
        (s.object, s.source_id))}
    if mapped:
        folded = sorted(d for d in mapped if "#" in d)
        what = (f"folded into its parent's {folded[0].split('#')[0]}" if folded else
                "the destination already holds what the map sends (unchanged)")
        return "applied", "; ".join([what, *notes])
    return "unaccounted", "not written, held, merged, excluded or refused"
