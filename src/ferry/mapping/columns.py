"""The proposer for the columns of a CSV / XLSX export (Pulse, the generic clinic export).

File sources sit below ``ferry.mapping`` and match headers with their own synonym table; what
they cannot place lands in the record's ``custom`` bag. ``ferry map`` closes the gap from above:
it asks the source for each table's header and a few sample cells (``raw_columns()``), runs the
proposer (name + value profile + optional MiniLM meaning) on the columns the source could not
place, and writes the confident answers into ``ferry.yaml`` ``source.columns`` — the key every
file source reads first, so the next extract reads those columns into canonical fields.

Precedence, most trusted first:
  1. the user's own ``source.columns`` entries (never overwritten);
  2. the source's exact synonym matcher (it knows export-specific pseudo-fields such as
     ``_full_name`` / ``_ec_phone`` that the canonical vocabulary does not, and measured on the
     Pulse export it is right where the proposer, offered every field, sometimes is not:
     ``Designation`` → credentials, ``Referred By`` → referring_doctor);
  3. the proposer, for the remaining columns, over the fields nobody has claimed yet, when its
     confidence reaches ``ACCEPT``.
Columns below the threshold are left alone (the source keeps them whole in the custom bag) and
listed for review with the best candidate, so nothing is guessed silently and nothing dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ferry.mapping.embed import Embedder, load_embedder
from ferry.mapping.propose import ACCEPT, REVIEW, assign, canonical_targets
from ferry.model.entities import ENTITIES

# a source pseudo-field fills these canonical fields, so they are not free for the proposer
PSEUDO_FILLS = {"_full_name": ("first_name", "last_name"), "_ec_name": ("emergency_contact",),
                "_ec_phone": ("emergency_contact",), "_ec_relationship": ("emergency_contact",)}
# (column, samples, what the source's matcher made of it) — ``RawColumn`` of the sources
RawColumns = Mapping[str, Sequence[tuple[str, Sequence[str], str | None]]]


@dataclass(frozen=True)
class ColumnProposal:
    object: str
    column: str
    target: str | None  # canonical field proposed (``status == "proposed"``) or best candidate
    confidence: float
    reason: str
    status: str  # proposed (written to source.columns) | review (left to the custom bag)


def clean_header(header: str) -> str:
    """Dotted abbreviations read as one word (``D.O.B.`` → ``DOB``, ``Pt. D.O.B`` →
    ``Pt. DOB``), so the proposer's vocabulary sees the abbreviation it knows."""
    return re.sub(r"\b(?:[A-Za-z]\.\s?){1,}[A-Za-z]\b\.?",
                  lambda m: re.sub(r"[.\s]", "", m.group(0)), header).strip()


def supports_columns(source_module: Any) -> bool:
    """True when the source kind's Settings take a ``columns`` map (file sources)."""
    settings = getattr(source_module, "Settings", None)
    return settings is not None and "columns" in getattr(settings, "model_fields", {})


def propose_export_columns(raw: RawColumns, given: Mapping[str, Mapping[str, str | None]],
                           *, embedder: Embedder | None = None,
                           threshold: float = ACCEPT) -> list[ColumnProposal]:
    """Proposals for the columns neither the user (``given``, keyed by object) nor the source's
    matcher placed. Deterministic: same headers and samples, same answer."""
    emb = embedder if embedder is not None else load_embedder()
    out: list[ColumnProposal] = []
    for obj in sorted(raw):
        if obj not in ENTITIES:
            continue
        mine = given.get(obj, {})
        taken = {f for _, _, f in raw[obj] if f} | {f for f in mine.values() if f}
        taken |= {f for p in list(taken) for f in PSEUDO_FILLS.get(p, ())}
        open_cols = [(c, list(s)) for c, s, f in raw[obj] if f is None and c not in mine]
        if not open_cols:
            continue
        targets = [t for t in canonical_targets(obj) if t.name not in taken
                   and t.name != "source_id"]  # the record id is never a guess
        cleaned: dict[str, str] = {}
        for c, _ in open_cols:  # a cleaned name that collides keeps the header as it was
            cc = clean_header(c) or c
            clash = cc in cleaned.values() or (cc != c and cc in {h for h, _ in open_cols})
            cleaned[c] = c if clash else cc
        got = assign([(cleaned[c], s) for c, s in open_cols], targets, obj, embedder=emb)
        for col, _ in open_cols:
            best = got[cleaned[col]][0] if got[cleaned[col]] else None
            if best is not None and best.confidence >= threshold:
                out.append(ColumnProposal(obj, col, best.target, best.confidence, best.reason,
                                          "proposed"))
            else:
                hint = best if best is not None and best.confidence >= REVIEW else None
                out.append(ColumnProposal(obj, col, hint.target if hint else None,
                                          best.confidence if best else 0.0,
                                          hint.reason if hint else "no field fits well enough",
                                          "review"))
    return out


def merge_columns(given: Mapping[str, Mapping[str, str | None]],
                  proposals: Sequence[ColumnProposal]) -> dict[str, dict[str, str | None]]:
    """``source.columns`` with the confident proposals added under their object (the user's
    entries kept as they are; review columns not written, so the source's custom bag keeps
    them and a later ``ferry map`` can still place them)."""
    out = {k: dict(v) for k, v in given.items()}
    for p in proposals:
        if p.status == "proposed" and p.target:
            out.setdefault(p.object, {}).setdefault(p.column, p.target)
    return out


def propose_for_source(source: Any, given: Mapping[str, Mapping[str, str | None]], *,
                       embedder: Embedder | None = None, limit: int = 20
                       ) -> list[ColumnProposal]:
    """Read the source's headers and samples (``raw_columns``) and propose; [] when the source
    offers no such method."""
    reader = getattr(source, "raw_columns", None)
    if reader is None:
        return []
    return propose_export_columns(reader(limit), given, embedder=embedder)
