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
"""

from __future__ import annotations

import re
from typing import Any

import yaml


class Unsure(Exception):
    """Let the round-trip parser read this text (it may tell a different story)."""


#: libyaml's parser where PyYAML was built with it (its wheels are); the Python one otherwise
_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BASE):  # type: ignore[misc, valid-type]
    pass


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

_Loader.yaml_implicit_resolvers = {}
for _tag, _pattern, _flags, _first in RESOLVERS_1_2:
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern, _flags), _first)


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


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)


def load(text: str) -> Any:
    """Plain Python values of ``text`` (dicts, lists, scalars), as ruamel would read them."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader (CSafeLoader)
    except Unsure:
        raise
    except Exception as exc:  # noqa: BLE001 - libyaml raises several kinds for bad YAML
        raise Unsure(type(exc).__name__) from None
