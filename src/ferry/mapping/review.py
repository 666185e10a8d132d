"""Settle a map's ``status: review`` lines the cautious way (``ferry demo`` plays the reviewer).

A review line is a guess the proposer was not sure of: a source custom field that *might* be
an existing destination field. The cautious decision keeps the value without betting on the
guess: a custom field of its own (the proposer's answer when nothing matches at all). A real
migration leaves this to a person; the demo must confirm unattended, so it takes this one.
"""

from __future__ import annotations

from ferry.mapping.draft import KIND_TRANSFORM, _cf_name
from ferry.mapping.model import CustomField, MappingDoc
from ferry.model.fields import Kind

__all__ = ["leave_out_invalid", "settle_reviews"]

#: transforms that refuse a value as invalid (``InvalidValueError``) rather than reshape it
REFUSING = frozenset({"phone_e164"})

_KIND_OF = {v: k for k, v in KIND_TRANSFORM.items() if k is not Kind.DECIMAL}


def settle_reviews(doc: MappingDoc) -> list[str]:
    """Decide every review line in place; returns one line per decision (names, no values)."""
    out: list[str] = []
    for om in doc.objects:
        for fm in om.fields:
            if fm.status != "review":
                continue
            guess = fm.target
            if not (isinstance(fm.source, str) and fm.source.startswith("custom.")):
                fm.status, fm.reason = "ignored", f"not certain it is {guess}: left out"
                out.append(f"{om.name}: {fm.source} left out (not certain it is {guess})")
                continue
            key = fm.source.removeprefix("custom.")
            kind = next((_KIND_OF[t.name] for t in fm.transform if t.name in _KIND_OF),
                        Kind.TEXT)
            name = _cf_name(doc, key)
            if doc.custom_field(om.target, name) is None:
                doc.custom_fields.setdefault(om.target, []).append(CustomField(
                    name=name, label=key.replace("_", " ").strip().capitalize(), kind=kind))
            fm.target, fm.status, fm.confidence = f"custom:{name}", "mapped", 1.0
            fm.reason = f"not certain it is {guess}: a custom {kind.value} field keeps it"
            out.append(f"{om.name}: {fm.source} → new custom field {name} (not {guess})")
    return out


def leave_out_invalid(doc: MappingDoc) -> list[str]:
    """The reviewer's decision to migrate without the values no rule accepts (phone numbers
    no numbering plan knows: the audit lists them per field): ``on_invalid: leave_out`` on each
    field whose transform refuses such values. Returns the fields decided."""
    out = []
    for om in doc.objects:
        for fm in om.fields:
            if fm.status == "mapped" and fm.on_invalid == "flag" \
                    and any(t.name in REFUSING for t in fm.transform):
                fm.on_invalid = "leave_out"
                out.append(f"{om.name}.{fm.target}")
    return out
