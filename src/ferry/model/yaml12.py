"""Fast reading of the YAML files Ferry only reads on the way in (the mapping, ``ferry.yaml``).

ruamel's round-trip parser is pure Python: a full mapping.yaml took 0.44 CPU-s, paid again by
every verb's process. libyaml's C parser (PyYAML) reads it in 0.07 s. PyYAML resolves plain
scalars by YAML 1.1 (``yes`` a boolean, ``0123`` octal, ``1:30`` sexagesimal), ruamel by 1.2:
this loader takes ruamel's own 1.2 resolvers, so both give the same values. Anything it would
read differently (a duplicate key, which ruamel refuses) or cannot read raises ``Unsure``: the
caller then uses ruamel, whose errors name line and column.

The 1.2 resolvers are ruamel's, written out (``RESOLVERS_1_2``): importing ruamel cost every
verb ~0.01 CPU-s at start though reading never uses it. tests/mapping/test_yaml12.py fails when
ruamel's own differ from them.

``load_kept`` also keeps what it read of a project's file as JSON in the project's ``.ferry``
folder, with the sha256 of the text: the next verb's process reads that back (~0.3 ms) instead
of importing PyYAML and parsing (~0.02 CPU-s of each verb's start on a full mapping.yaml, its
ferry.yaml beside it). Only values JSON gives back exactly are kept (no dates, sets...).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

import orjson


class Unsure(Exception):
    """Let the round-trip parser read this text (it may tell a different story)."""


#: ruamel's implicit resolvers for YAML 1.2 (``ruamel.yaml.resolver.implicit_resolvers``, those
#: listing (1, 2)), in its order: tag, pattern, its ``re`` flags, the first characters
RESOLVERS_1_2: list[tuple[str, str, int, list[str]]] = [
    ("tag:yaml.org,2002:bool", "^(?:true|True|TRUE|false|False|FALSE)$", re.X, list("tTfF")),
    ("tag:yaml.org,2002:float", """^(?:
         [-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\\.(?:inf|Inf|INF)
        |\\.(?:nan|NaN|NAN))$""", re.X, list("-+0123456789.")),
    ("tag:yaml.org,2002:int", """^(?:[-+]?0b[0-1_]+
        |[-+]?0o?[0-7_]+
        |[-+]?[0-9_]+
        |[-+]?0x[0-9a-fA-F_]+)$""", re.X, list("-+0123456789")),
    ("tag:yaml.org,2002:merge", "^(?:<<)$", 0, ["<"]),
    ("tag:yaml.org,2002:null", """^(?: ~
        |null|Null|NULL
        | )$""", re.X, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:timestamp", """^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
        (?:[Tt]|[ \\t]+)[0-9][0-9]?
        :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?
        (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""", re.X, list("0123456789")),
    ("tag:yaml.org,2002:value", "^(?:=)$", 0, ["="]),
    ("tag:yaml.org,2002:yaml", "^(?:!|&|\\*)$", 0, ["!", "&", "*"]),
]



def _int(loader: Any, node: Any) -> int:
    """YAML 1.2 integers: ``0o`` octal, ``0x`` hex, and leading zeros are decimal."""
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body[:2] in ("0o", "0O"):
        return sign * int(body[2:], 8)
    if body[:2] in ("0x", "0X"):
        return sign * int(body[2:], 16)
    if body[:2] in ("0b", "0B"):
        return sign * int(body[2:], 2)
    return sign * int(body, 10)


def _mapping(loader: Any, node: Any) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    keys = [loader.construct_object(k, deep=True) for k, _ in node.value]
    try:
        if len(set(keys)) != len(keys):
            raise Unsure("duplicate key")
    except TypeError:  # an unhashable key
        raise Unsure("unhashable key") from None
    return {k: loader.construct_object(v, deep=True) for k, (_, v) in zip(keys, node.value,
                                                                       strict=True)}


@functools.cache
def _loader() -> Any:
    """The loader class: libyaml's parser where PyYAML was built with it (its wheels are), the
    Python one otherwise, with the 1.2 resolvers and constructors above. Made on first use:
    a verb whose files ``load_kept`` finds kept never imports PyYAML."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _Loader(base):  # type: ignore[misc, valid-type]
        pass

    _Loader.yaml_implicit_resolvers = {}
    for tag, pattern, flags, first in RESOLVERS_1_2:
        _Loader.add_implicit_resolver(tag, re.compile(pattern, flags), first)
    _Loader.add_constructor("tag:yaml.org,2002:int", _int)
    _Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
    return _Loader


def load(text: str) -> Any:
    """Plain Python values of ``text`` (dicts, lists, scalars), as ruamel would read them."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader (CSafeLoader)
    except Unsure:
        raise
    except Exception as exc:  # noqa: BLE001 - libyaml raises several kinds for bad YAML
        raise Unsure(type(exc).__name__) from None


#: where ``load_kept`` keeps a project file's values, in the project's state folder
KEPT_DIR = "parsed"


def load_kept(text: str, path: Path) -> Any:
    """``load(text)`` of the file at ``path``, kept for the next process when ``path`` is in a
    project folder (one with a ``.ferry`` folder): ``.ferry/parsed/<file name>.json`` holds the
    sha256 of the text and the values, so a hit is always the file as it is now. A kept file
    that cannot be read is a miss; one that cannot be written is not kept."""
    state = path.parent / ".ferry"
    kept = state / KEPT_DIR / f"{path.name}.json"
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        found = orjson.loads(kept.read_bytes())
        if isinstance(found, dict) and found.get("sha256") == digest and "data" in found:
            return found["data"]
    except (OSError, orjson.JSONDecodeError):
        pass
    data = load(text)
    if state.is_dir():
        _keep(kept, digest, data)
    return data


def _keep(kept: Path, digest: str, data: Any) -> None:
    try:
        blob = orjson.dumps({"sha256": digest, "data": data})
    except TypeError:  # a set, bytes, an integer past 64 bits...: read from the text each time
        return
    if not _same(orjson.loads(blob)["data"], data):  # dates, tuples, NaN: not given back as read
        return
    try:
        kept.parent.mkdir(exist_ok=True)
        tmp = kept.with_name(f".{kept.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(blob)
        os.replace(tmp, kept)  # whole or not at all, for a process reading it meanwhile
    except OSError:
        pass


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
