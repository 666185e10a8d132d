"""Edits to mapping.yaml made from the mapping review page.

Every edit goes through the ruamel round-trip tree (``load_rt`` → change one node →
``write_rt``), so the user's comments, order and quoting survive exactly as they do when the
file is edited by hand. Each edit is parsed back into a ``MappingDoc`` before it is written: an
edit that would make the file invalid is refused and the file is left as it was. Confirming uses
``confirm_file`` — the very function behind ``ferry map --confirm``.

Fields are addressed by object map name and position, with the field's source given too so a
stale page (the file changed underneath it) cannot edit the wrong line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from ferry.errors import MappingError
from ferry.mapping.mapping_file import load_rt, parse_doc, write_rt
from ferry.mapping.model import MappingDoc
from ferry.model.fields import Kind

STATUSES = ("mapped", "review", "ignored")
KINDS = tuple(k.value for k in Kind)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def source_label(source: Any) -> str:
    if isinstance(source, list):
        return ", ".join(str(s) for s in source)
    return "" if source is None else str(source)


def rows(doc: MappingDoc) -> list[dict[str, Any]]:
    """The object maps and their fields as plain rows for the review table."""
    out = []
    for om in doc.objects:
        fields = [{"i": i, "source": source_label(fm.source), "target": fm.target,
                   "status": fm.status, "confidence": fm.confidence, "reason": fm.reason,
                   "samples": fm.samples[:5], "transform": ", ".join(t.name for t in fm.transform),
                   "value_map": fm.value_map or {}, "default": fm.default,
                   "value_map_default": fm.value_map_default,
                   "phi": fm.phi.value if fm.phi else ""}
                  for i, fm in enumerate(om.fields)]
        out.append({"name": om.name, "source": om.source, "target": om.target, "mode": om.mode,
                    "note": om.note, "fields": fields,
                    "review": sum(1 for f in fields if f["status"] == "review")})
    return out


def _commit(tree: Any, path: Path) -> MappingDoc:
    doc = parse_doc(tree, path.name)  # refuse an edit that breaks the file
    write_rt(tree, path)
    return doc


def _field_node(tree: Any, map_name: str, index: int, source: str) -> CommentedMap:
    for node in tree.get("objects") or []:
        if node.get("name") == map_name:
            fields = node.get("fields") or []
            if 0 <= index < len(fields):
                fnode = fields[index]
                if source_label(fnode.get("source")) == source:
                    return fnode
            raise MappingError(f"{map_name}: field {index} is not {source!r} any more: reload"
                               " the page (mapping.yaml changed)")
    raise MappingError(f"no object map named {map_name!r}")


def _put(node: CommentedMap, key: str, value: Any, after: str) -> None:
    """Set ``key`` keeping the block's order: a new key goes right after ``after``."""
    if key in node:
        node[key] = value
        return
    keys = list(node.keys())
    pos = keys.index(after) + 1 if after in keys else len(keys)
    node.insert(pos, key, value)


def edit_field(path: Path, map_name: str, index: int, source: str, *, target: str,
               status: str, reason: str) -> MappingDoc:
    """Change one field's target, status and reason."""
    if status not in STATUSES:
        raise MappingError(f"status must be one of {', '.join(STATUSES)}")
    target = target.strip()
    if not target:
        raise MappingError("a target is needed (set status ignored to leave a field out)")
    tree = load_rt(path)
    node = _field_node(tree, map_name, index, source)
    node["target"] = target
    if status == "mapped" and "status" in node:
        del node["status"]  # mapped is the default: the file stays as the proposer writes it
    elif status != "mapped":
        _put(node, "status", status, "target")
    if reason.strip() or "reason" in node:
        _put(node, "reason", reason.strip(), "confidence")
    return _commit(tree, path)


def parse_value_map(text: str) -> dict[str, str]:
    """``source value = destination value`` per line (``=>`` also accepted)."""
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        sep = "=>" if "=>" in line else "="
        if sep not in line:
            raise MappingError(f"value map line {n}: write it as `source value = destination"
                               " value`")
        k, v = line.split(sep, 1)
        if not k.strip():
            raise MappingError(f"value map line {n}: the source value is empty")
        out[k.strip()] = v.strip()
    return out


def set_value_map(path: Path, map_name: str, index: int, source: str, text: str,
                  default: str) -> MappingDoc:
    """Replace one field's value map (and its default for unmapped values)."""
    tree = load_rt(path)
    node = _field_node(tree, map_name, index, source)
    vm = parse_value_map(text)
    after = "transform" if "transform" in node else ("status" if "status" in node else "target")
    if vm:
        m = CommentedMap(vm)
        if len(vm) <= 6:
            m.fa.set_flow_style()
        _put(node, "value_map", m, after)
    elif "value_map" in node:
        del node["value_map"]
    if default.strip():
        _put(node, "value_map_default", default.strip(), "value_map" if vm else after)
    elif "value_map_default" in node:
        del node["value_map_default"]
    return _commit(tree, path)


def add_custom_field(path: Path, dest_object: str, name: str, label: str, kind: str,
                     options: str) -> MappingDoc:
    """Declare a custom field ``prepare`` will create; map fields to it as ``custom:<name>``."""
    if not NAME.match(name):
        raise MappingError("custom field name: lower-case letters, digits and _ (≤ 40), "
                           "starting with a letter")
    if kind not in KINDS:
        raise MappingError(f"kind must be one of {', '.join(KINDS)}")
    if not dest_object.strip() or not label.strip():
        raise MappingError("a custom field needs a destination object and a label")
    tree = load_rt(path)
    cfs = tree.get("custom_fields")
    if cfs is None:
        cfs = CommentedMap()
        tree["custom_fields"] = cfs
    items = cfs.get(dest_object)
    if items is None:
        items = CommentedSeq()
        cfs[dest_object] = items
    if any(i.get("name") == name for i in items):
        raise MappingError(f"custom_fields.{dest_object} already has {name!r}")
    cf = CommentedMap([("name", name), ("label", label.strip()), ("kind", kind)])
    opts = [o.strip() for o in options.split(",") if o.strip()]
    if opts:
        cf["options"] = CommentedSeq(opts)
        cf["options"].fa.set_flow_style()
    cf.fa.set_flow_style()
    items.append(cf)
    return _commit(tree, path)


def confirm(project: Any, by: str, profile: Any, schema: Any) -> MappingDoc:
    """``ferry map --confirm``: validate against the staged data and the destination schema,
    then stamp the file in place (raises MappingError listing every problem)."""
    from ferry.engine.mapflow import confirmed_placement
    from ferry.mapping.validate import confirm_file

    return confirm_file(project.mapping_path, profile, schema, by=by,
                        placement=confirmed_placement(project))
