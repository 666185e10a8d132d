"""The official Pipedrive OpenAPI documents, loaded once per process.

Two uses: the token price of every operation (``x-token-cost``, which the rate limiter charges)
and, in test mode, request/response validation with openapi-core so the emulator cannot drift
from the published API. The YAMLs are 1-3 MB; they are parsed with the C loader once and cached
(``lru_cache``), and only the paths the emulator serves are handed to openapi-core.

Errata applied to the loaded documents (each is stated in the spec's own prose but not in its
schema): ``additional_data.next_cursor`` is ``null`` on the last page; v1 ``add_time`` /
``update_time`` are ``YYYY-MM-DD HH:MM:SS`` (the v1 examples and prose) although a few v1 schemas
tag them ``format: date-time``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SPEC_DIR = Path(os.environ.get("FERRY_PIPEDRIVE_SPECS", "/work/shared/specs/pipedrive"))

#: paths (per version) the emulator serves; openapi-core only sees these
SERVED: dict[str, set[str]] = {
    "v2": {f"/{o}" for o in ("persons", "organizations", "deals", "activities")}
    | {f"/{o}/{{id}}" for o in ("persons", "organizations", "deals", "activities", "pipelines",
                                "stages")}
    | {"/pipelines", "/stages", "/persons/search", "/organizations/search", "/deals/search",
       "/itemSearch/field", "/activityFields", "/activityFields/{field_code}"}
    | {f"/{o}Fields" for o in ("person", "organization", "deal")}
    | {f"/{o}Fields/{{field_code}}" for o in ("person", "organization", "deal")}
    | {f"/{o}Fields/{{field_code}}/options" for o in ("person", "organization", "deal")},
    "v1": {"/notes", "/notes/{id}", "/files", "/files/{id}", "/users", "/users/me",
           "/users/{id}", "/activityTypes", "/activityTypes/{id}"},
}


def _load(version: str) -> dict[str, Any]:
    """The YAML parsed (0.7 CPU-s for both documents), or, when ``FERRY_PIPEDRIVE_SPEC_CACHE``
    names a folder, its JSON copy there keyed by the YAML's sha256 (10 ms): the test suite sets
    one per run, so its workers and the processes they start parse each document once."""
    raw = (SPEC_DIR / f"{version}.yaml").read_bytes()
    folder = os.environ.get("FERRY_PIPEDRIVE_SPEC_CACHE")
    copy = Path(folder) / f"{version}-{hashlib.sha256(raw).hexdigest()}.json" if folder else None
    if copy is not None:
        try:
            cached: dict[str, Any] = json.loads(copy.read_bytes())
            return cached
        except (OSError, ValueError):  # not there yet (or half written by a killed process)
            pass
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc: dict[str, Any] = yaml.load(raw, Loader=loader)  # noqa: S506 - safe loader
    if copy is not None:
        try:  # JSON holds this document whole (string keys, no dates); written, then renamed
            text = json.dumps(doc)
            if json.loads(text) == doc:
                tmp = copy.with_name(f"{copy.name}.{os.getpid()}.tmp")
                tmp.write_text(text)
                os.replace(tmp, copy)
        except (OSError, TypeError, ValueError):
            pass  # a cache: the parsed document is still returned
    return doc


@lru_cache(maxsize=2)
def document(version: str) -> dict[str, Any]:
    """The parsed document of ``v1`` or ``v2`` (cached per process)."""
    return _load(version)


@dataclass(frozen=True)
class Route:
    version: str
    template: str
    method: str
    cost: int
    operation_id: str


@lru_cache(maxsize=1)
def _routes() -> list[tuple[re.Pattern[str], Route]]:
    out: list[tuple[int, re.Pattern[str], Route]] = []
    for version in ("v1", "v2"):
        for template, ops in document(version)["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")
            for method, op in ops.items():
                if method in {"get", "post", "put", "patch", "delete"}:
                    route = Route(version, template, method, int(op.get("x-token-cost", 0)),
                                  op.get("operationId", ""))
                    out.append((template.count("{"), pattern, route))
    out.sort(key=lambda t: t[0])  # literal segments win over parameters (/persons/search)
    return [(p, r) for _, p, r in out]


_NUMERIC = re.compile(r"/\d+(?=/|$)")


def route_for(version: str, method: str, path: str) -> Route | None:
    """The spec operation a request hits (``path`` without the ``/api/vN`` prefix)."""
    return _route_for(version, method.lower(), _NUMERIC.sub("/0", path))


@lru_cache(maxsize=4096)
def _route_for(version: str, method: str, path: str) -> Route | None:
    for pattern, route in _routes():
        if route.version == version and route.method == method and pattern.match(path):
            return route
    return None


def costs() -> dict[tuple[str, str, str], int]:
    """``(version, METHOD, template) -> x-token-cost`` for every operation of both documents."""
    return {(r.version, r.method.upper(), r.template): r.cost for _, r in _routes()}


def _errata(node: Any, v1: bool) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            if isinstance(props.get("next_cursor"), dict):
                props["next_cursor"] = {**props["next_cursor"], "nullable": True}
            for key in ("add_time", "update_time"):
                if v1 and isinstance(props.get(key), dict):
                    props[key] = {k: v for k, v in props[key].items() if k != "format"}
        for value in node.values():
            _errata(value, v1)
    elif isinstance(node, list):
        for value in node:
            _errata(value, v1)


@lru_cache(maxsize=2)
def openapi(version: str) -> Any:
    """An openapi-core ``OpenAPI`` over the served paths of one document (cached)."""
    from openapi_core import Config, OpenAPI

    doc = json.loads(json.dumps(document(version)))  # private deep copy for the errata
    doc["paths"] = {p: v for p, v in doc["paths"].items() if p in SERVED[version]}
    doc["servers"] = [{"url": f"http://sandbox/api/{version}"}]
    _errata(doc["paths"], version == "v1")
    return OpenAPI.from_dict(doc, config=Config(spec_validator_cls=None))
