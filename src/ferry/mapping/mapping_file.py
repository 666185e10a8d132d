"""mapping.yaml on disk: readable, hand-editable, round-trip safe (ruamel.yaml keeps comments
and order), and locked by a confirmation hash.

* ``dump_doc`` / ``save`` write a ``MappingDoc`` as YAML with a header comment; each field is a
  small block: source, target, transform, value map, confidence, reason, samples (masked when the
  field is PHI — the proposer masks them before they get here).
* ``load`` reads it back (``load_rt`` keeps the ruamel tree for in-place edits).
* ``confirm`` (in ``validate.py``) stamps ``confirmed: {hash, by, at}`` (and a file source's
  column ``placement``, ``ferry.engine.placement``); ``content_hash`` covers everything that
  changes what moves — not comments, samples, confidences or the physical keys ``prepare``
  fills in — so any later meaningful edit makes the map unconfirmed and ``require_confirmed``
  refuses it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ferry.errors import MappingError
from ferry.mapping.model import FieldMap, MappingDoc, ObjectMap
from ferry.model import yaml12

# ruamel (the round-trip writer) is imported where the file is written or edited: reading
# uses the C parser (``model/yaml12.py``), and importing ruamel cost each verb ~0.01 CPU-s
if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

# every model field must be listed: one left out is silently dropped by ``save`` (a user's
# ``on_delete`` once was); a test holds these lists to the models
FIELD_ORDER = ["source", "target", "status", "transform", "value_map", "value_map_default",
               "default", "required", "phi", "on_invalid", "confidence", "reason", "samples"]
OBJECT_ORDER = ["name", "source", "target", "mode", "note", "when", "parent", "id_field",
                "custom_object", "on_delete", "fold", "attach", "fields"]


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    y = YAML()  # round-trip
    y.width = 110
    y.indent(mapping=2, sequence=4, offset=2)
    y.preserve_quotes = True
    return y


def _flow(value: Any) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        m = CommentedMap(value)
        m.fa.set_flow_style()
        return m
    if isinstance(value, list):
        s = CommentedSeq([_flow(v) if isinstance(v, dict) else v for v in value])
        s.fa.set_flow_style()
        return s
    return value


def _field_node(fm: FieldMap) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap

    data = fm.model_dump(mode="json", exclude_defaults=True)
    node = CommentedMap()
    node["source"] = _flow(fm.source) if isinstance(fm.source, list) else fm.source
    node["target"] = fm.target
    for k in FIELD_ORDER[2:]:
        if k in ("confidence", "reason"):
            node[k] = getattr(fm, k)
        elif k in data:
            v = data[k]
            if k == "transform":
                v = _flow([t["name"] if not t.get("args") else
                           {"name": t["name"], "args": _flow(t["args"])} for t in v])
            elif k == "value_map" and len(v) <= 6:
                v = _flow(v)
            elif k == "samples":
                v = _flow(v)
            node[k] = v
    return node


def _object_node(om: ObjectMap) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    data = om.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    node = CommentedMap()
    for k in OBJECT_ORDER:
        if k == "fields":
            node["fields"] = CommentedSeq([_field_node(f) for f in om.fields])
        elif k == "mode":
            node["mode"] = om.mode
        elif k in data:
            v = data[k]
            node[k] = _flow(v) if k in ("when", "parent", "fold", "attach") else v
    return node


def to_tree(doc: MappingDoc, header: str | None = None) -> CommentedMap:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    root = CommentedMap()
    root["version"] = doc.version
    root["source"] = doc.source
    root["destination"] = doc.destination
    if doc.recipe:
        root["recipe"] = doc.recipe
    if doc.confirmed:
        root["confirmed"] = _flow(doc.confirmed.model_dump(exclude_none=True))
    root["objects"] = CommentedSeq([_object_node(om) for om in doc.objects])
    for om, node in zip(doc.objects, root["objects"], strict=True):
        for fm, fnode in zip(om.fields, node["fields"], strict=True):
            cf = doc.custom_field(om.target, fm.target[7:]) \
                if fm.target.startswith("custom:") else None
            if cf is not None:  # say on the line what prepare will create
                opts = f" [{', '.join(cf.options[:6])}{' …' if len(cf.options) > 6 else ''}]" \
                    if cf.options else ""
                fnode.yaml_add_eol_comment(f"creates {cf.kind.value} field '{cf.label}'{opts}",
                                           "target")
    cfs = CommentedMap()
    for obj, items in doc.custom_fields.items():
        seq = CommentedSeq()
        for cf in items:
            seq.append(_flow(cf.model_dump(mode="json", exclude_defaults=True)))
        cfs[obj] = seq
    root["custom_fields"] = cfs
    pipes = CommentedSeq()
    for p in doc.pipelines:
        pn = CommentedMap()
        pn["name"] = p.name
        if p.key:
            pn["key"] = p.key
        pn["stages"] = _flow([s.model_dump(exclude_defaults=True) for s in p.stages])
        pipes.append(pn)
    root["pipelines"] = pipes
    root["activity_types"] = _flow(list(doc.activity_types))
    if header:
        root.yaml_set_start_comment(header)
    return root


def dump_doc(doc: MappingDoc, header: str | None = None) -> str:
    buf = io.StringIO()
    _yaml().dump(to_tree(doc, header), buf)
    return buf.getvalue()


def save(doc: MappingDoc, path: Path, header: str | None = None) -> None:
    path.write_text(dump_doc(doc, header))


def load_rt(path: Path) -> Any:
    """The ruamel round-trip tree (edit it in place, then ``write_rt``)."""
    if not path.exists():
        raise MappingError(f"{path} not found: run `ferry map` first")
    return _load_text(path, path.read_text())


def _load_text(path: Path, text: str) -> Any:
    try:
        return _yaml().load(text)
    except Exception as exc:  # noqa: BLE001 - ruamel raises many types for bad YAML
        from ferry.settings import yaml_error

        # line and column only: the map's lines can quote source values (value maps)
        raise MappingError(yaml_error(path, text, exc, quote=False)) from None


def write_rt(tree: Any, path: Path) -> None:
    buf = io.StringIO()
    _yaml().dump(tree, buf)
    path.write_text(buf.getvalue())


def _plain(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v, str(k)) for k, v in node.items()}
    if key == "transform" and isinstance(node, list):
        # shorthand: a transform without arguments may be written as its bare name
        return [{"name": v} if isinstance(v, str) else _plain(v) for v in node]
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, set):  # (``!!set``) the one mutable leaf: never shared by two documents
        return set(node)
    return node


def parse_doc(data: Any, where: str = "mapping.yaml") -> MappingDoc:
    try:
        return MappingDoc.model_validate(_plain(data))
    except ValidationError as exc:
        err = exc.errors(include_input=False, include_url=False)[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise MappingError(f"{where}: {loc}: {err['msg']}") from None


#: the parsed YAML of documents that validated, by the sha256 of their text: every verb reads
#: mapping.yaml (and a recipe) again, and the parser takes most of the time; a changed file has a
#: new hash, so a hit is always the file as it is now. Each call validates its own MappingDoc
#: from it (``_plain`` makes every dict and list anew): ~1 ms on a full map, where the deep copy
#: of a cached model this kept took ~3 ms, and a verb's one load made that copy for nothing.
_PARSED: dict[str, Any] = {}
_PARSED_MAX = 16


def _cached(text: str, where: str, parse: Any) -> MappingDoc:
    key = hashlib.sha256(text.encode()).hexdigest()
    data = _PARSED.get(key)
    if data is not None:
        return parse_doc(data, where)
    data = parse(text)
    doc = parse_doc(data, where)
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = data
    return doc


def _fast(text: str, slow: Any, path: Path | None = None) -> Any:
    """The C parser with ruamel's YAML 1.2 reading (``model/yaml12.py``; a project's file: what
    it read of this text before, when it kept it); ruamel itself when that is unsure (a
    duplicate key, an error to report by line and column)."""
    try:
        return yaml12.load(text) if path is None else yaml12.load_kept(text, path)
    except yaml12.Unsure:
        return slow(text)


def load(path: Path) -> MappingDoc:
    if not path.exists():
        raise MappingError(f"{path} not found: run `ferry map` first")
    return _cached(path.read_text(), str(path),
                   lambda t: _fast(t, lambda t2: _load_text(path, t2), path))


def loads(text: str, where: str = "mapping.yaml") -> MappingDoc:
    return _cached(text, where, lambda t: _fast(t, _yaml().load))


def content_hash(doc: MappingDoc) -> str:
    """sha256 over what decides what moves where (not keys, samples, confidence, comments)."""
    data = doc.model_dump(mode="json", by_alias=True, exclude={"confirmed"})
    for om in data["objects"]:
        if om.get("on_delete") is None:  # the default: hashes of maps from before it existed hold
            om.pop("on_delete", None)
        for f in om["fields"]:
            for k in ("samples", "confidence", "reason"):
                f.pop(k, None)
    for items in data["custom_fields"].values():
        for cf in items:
            cf.pop("key", None)
    for p in data["pipelines"]:
        p.pop("key", None)
        for s in p["stages"]:
            s.pop("key", None)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def require_confirmed(path: Path) -> MappingDoc:
    """The confirmed map, or a MappingError saying what to run."""
    doc = load(path)
    if doc.confirmed is None:
        raise MappingError(f"{path.name} is not confirmed: review it, then run "
                           f"`ferry map --confirm`")
    if doc.confirmed.hash != content_hash(doc):
        raise MappingError(f"{path.name} changed after it was confirmed: review the changes, "
                           f"then run `ferry map --confirm` again")
    return doc


def set_keys(path: Path, doc: MappingDoc) -> None:
    """Write the physical keys ``prepare`` recorded into the file, keeping comments and the
    confirmation (keys are outside the hash)."""
    tree = load_rt(path)
    for obj, items in (tree.get("custom_fields") or {}).items():
        for node in items:
            cf = doc.custom_field(str(obj), str(node.get("name")))
            if cf and cf.key:
                node["key"] = cf.key
    for node in tree.get("pipelines") or []:
        p = next((p for p in doc.pipelines if p.name == node.get("name")), None)
        if p is None:
            continue
        if p.key:
            node["key"] = p.key
        for snode in node.get("stages") or []:
            s = next((s for s in p.stages if s.name == snode.get("name")), None)
            if s and s.key:
                snode["key"] = s.key
    write_rt(tree, path)
