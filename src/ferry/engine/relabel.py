"""Delta: records whose written value names another record that changed at the source.

A template or ``format`` transform may write a referenced record's display name into a
field (``{related_patient_name}`` in a relationship note, ``{practitioner_name}`` on a
visit, ``{clinic_name}`` on a patient). The delta reads only the source rows that changed;
a record naming a renamed patient did not change itself, and kept the old name in the
destination while a fresh migration of the source shows the new one.

``relabelled`` finds them: for every map that writes such a name (a record map, or a fold
map: its parent's folded value), the records whose reference points at a record of that
object staged in this pass. They are retried with the pass (``LoadContext.retry``): built
again and compared with what was last sent, so only those whose built value did change are
written (a phone edit rebuilds a few notes and writes none; a rename writes the records that
name that one patient, not every record). A file whose name an attach map builds from such a
label (``{practitioner_name}`` in a prescription's file name) is retried too: its content is
never sent again, but it is renamed in place where the destination can
(``load._rename_files``).
"""

from __future__ import annotations

import re
from typing import Any

from ferry.mapping.model import MappingDoc
from ferry.mapping.transforms import label_of
from ferry.model.entities import entity
from ferry.model.fields import field_info
from ferry.model.staging import StagingStore

#: a word of a transform's text that may be a label (``<x>_name``)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*_name\b")


def _texts(value: Any) -> Any:
    """Every string in a transform's arguments (templates, ``fmt``, ``record_json``'s
    field list...)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _texts(v)


def label_uses(doc: MappingDoc) -> dict[str, dict[str, set[str]]]:
    """Referenced object → {source object of a map that writes its name: its reference
    fields}, over the record and fold maps of ``doc`` and the file names of its attach maps."""
    out: dict[str, dict[str, set[str]]] = {}
    for om in doc.objects:
        if om.mode not in ("record", "fold", "attach"):
            continue
        try:
            model = entity(om.source)
        except KeyError:
            continue
        if om.mode == "attach":  # its file's name only: a file's content is not sent again
            texts = [om.attach.file_name] if om.attach is not None else []
        else:
            texts = [text for fm in om.fields for t in fm.transform for text in _texts(t.args)]
        names = {m.group(0) for text in texts for m in _NAME.finditer(text)}
        for name in sorted(names):
            ref_field = label_of(model, name)
            if ref_field is None:
                continue
            obj = field_info(model, ref_field).ref
            if obj:
                out.setdefault(obj, {}).setdefault(om.source, set()).add(ref_field)
    return out


def folded_refs(doc: MappingDoc) -> dict[str, dict[str, set[str]]]:
    """Referenced object → {source object of a fold map: the fields it writes a reference
    from (a ``ref`` transform)}. A child folded with a reference to a record deleted at the
    source leaves its parent's fields, as a fresh migration leaves it out (its reference
    resolves to nothing: ``StoreLookup.dest_id``); deletions do not reach folded values."""
    out: dict[str, dict[str, set[str]]] = {}
    for om in doc.objects:
        if om.mode != "fold":
            continue
        for fm in om.fields:
            obj = next((str(t.args["object"]) for t in fm.transform
                        if t.name == "ref" and t.args.get("object")), None)
            if obj and isinstance(fm.source, str) and fm.source:
                out.setdefault(obj, {}).setdefault(om.source, set()).add(fm.source)
    return out


def relabelled(doc: MappingDoc, store: StagingStore, since: str) -> dict[str, set[str]]:
    """Source object → ids of live records that name (through a label their map writes) a
    record staged since ``since`` (changed, or deleted: a fresh migration names it no more). Reads the referencing objects' stored JSON only when a
    record they name changed (no validation; one pass per object)."""
    out: dict[str, set[str]] = {}
    uses = [(obj, users, "") for obj, users in sorted(label_uses(doc).items())]
    uses += [(obj, users, " AND deleted=1") for obj, users in sorted(folded_refs(doc).items())]
    for obj, users, which in uses:
        changed = {str(sid) for sid, in store.conn.execute(
            "SELECT source_id FROM records WHERE object=? AND staged_at>?" + which,
            (obj, since))}
        if not changed:
            continue
        for src, fields in sorted(users.items()):
            names = sorted(fields)
            for batch in store.iter_json_batches(src):
                for sid, _, data in batch:
                    if any(str(data.get(f)) in changed for f in names):
                        out.setdefault(src, set()).add(sid)
    return out
