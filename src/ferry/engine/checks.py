"""``ferry check``'s lines for one connector: a missing secret names its variable and the key
that names it; an unreachable system names its host and is found in seconds (a plain TCP
connect before any client with retries is built); every other failure shows its cause."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ferry.connectors.base import CheckItem
from ferry.connectors.registry import destination_module, source_module
from ferry.connectors.secrets import MissingSecret
from ferry.errors import FerryError
from ferry.phi.scrub import safe_error, scrub
from ferry.settings import ConnectorSettings

#: the key whose URL the connection goes to, first present wins (connect_to: a sandbox)
URL_KEYS = ("connect_to", "base_url", "url", "login_url", "instance_url")
CONNECT_TIMEOUT_S = 3.0


def _effective(role: str, conn: ConnectorSettings) -> dict[str, Any]:
    """The connector's settings with its defaults filled in (no validation, no connection)."""
    module = source_module(conn.kind) if role == "source" else destination_module(conn.kind)
    out: dict[str, Any] = {}
    for name, f in module.Settings.model_fields.items():
        if not f.is_required():
            out[name] = f.get_default(call_default_factory=True)
    return {**out, **conn.options()}


def reachability(role: str, conn: ConnectorSettings) -> CheckItem | None:
    values = _effective(role, conn)
    if values.get("mode") in ("folder", "export"):
        return None  # reads files: nothing to reach
    key = next((k for k in URL_KEYS if isinstance(values.get(k), str) and values[k]), None)
    if key is None:
        return None
    url = urlsplit(values[key])
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    name = f"{role} reachable"
    fix = f"check {role}.{key} in ferry.yaml ({values[key]}) and the network"
    if not host:
        return CheckItem(name, False, f"{role}.{key} is not a URL", fix)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except socket.gaierror:
        return CheckItem(name, False, f"unreachable: host {host} not found (DNS)", fix)
    except ConnectionRefusedError:
        return CheckItem(name, False, f"unreachable: {host}:{port} refused the connection", fix)
    except TimeoutError:
        return CheckItem(name, False, f"unreachable: no answer from {host}:{port} in"
                         f" {CONNECT_TIMEOUT_S:.0f} s", fix)
    except OSError as exc:
        return CheckItem(name, False, f"unreachable: {host}:{port} ({exc.strerror or exc})", fix)
    return CheckItem(name, True, f"{host}:{port}")


def connector_checks(role: str, conn: ConnectorSettings, opener: Callable[[], Any],
                     close: Callable[[Any], None]) -> list[CheckItem]:
    """Open the connector (secrets are read here), then, when its host answers, run its own
    checks. Each failure is a line with its cause and the setting to change."""
    items: list[CheckItem] = []
    try:
        connector = opener()
    except MissingSecret as exc:
        values = _effective(role, conn)
        keys = [k for k, v in values.items() if v == exc.env_name or
                (isinstance(v, list) and exc.env_name in v)]
        named = f" (named by {role}.{keys[0]})" if keys else ""
        items.append(CheckItem(f"{role} secret", False,
                               f"environment variable {exc.env_name} is not set{named}",
                               f"export {exc.env_name}=… (see docs/connectors/{conn.kind}.md"
                               " for where to find it)"))
        connector = None
    except FerryError as exc:
        return [CheckItem(f"{role} settings", False, scrub(str(exc)),
                          f"fix the {role} section of ferry.yaml"
                          f" (every key: docs/connectors/{conn.kind}.md)")]
    reach = reachability(role, conn)
    if reach is not None:
        items.append(reach)
    if connector is None or (reach is not None and not reach.ok):
        if connector is not None:
            close(connector)
        return items
    try:
        items += connector.check()
    except FerryError as exc:
        items.append(CheckItem(f"{role} connection", False, scrub(str(exc)),
                               f"check the {role} settings in ferry.yaml"))
    except Exception as exc:  # noqa: BLE001 - every failure is a line of the check report
        items.append(CheckItem(f"{role} connection", False, safe_error(exc),
                               f"check the {role} settings in ferry.yaml"))
    finally:
        close(connector)
    return items


def encryption_key(project: Any) -> CheckItem | None:
    """The project's encryption key (when it encrypts at rest): set, a key, and the one its
    staged data was encrypted with; the line names the variable, never the key."""
    options = project.settings.options
    if not options.encrypt_at_rest:
        return None
    name = options.encryption_key_env
    try:
        _ = project.store  # opening checks the key against the store's check value
    except MissingSecret:
        return CheckItem("encryption key", False,
                         f"{name} is not set (named by options.encryption_key_env)",
                         f"export {name}=… (the key `ferry init` printed), or store it in the"
                         " keyring under service 'ferry'")
    except FerryError as exc:
        return CheckItem("encryption key", False, scrub(str(exc)),
                         f"set {name} to this project's key")
    origin = project._key_source[2]
    return CheckItem("encryption key", True, f"{name} (from the {origin})")


#: codes people write for a country that ISO 3166 (and so the numbering plans) spell otherwise
_COUNTRY_SPELLINGS = {"UK": "GB", "EL": "GR"}


def phone_region(project: Any) -> CheckItem | None:
    """``options.phone_region`` names a country whose numbering plan is known (``UK`` is not:
    every number without a ``+`` prefix would be left empty); unset, a line only when staged
    records exist and neither a clinic nor a patient names a country."""
    from ferry.mapping.phones import REGIONS, practice_region

    name = "phone region"
    code = project.settings.options.phone_region
    if code:
        if code in REGIONS:
            return CheckItem(name, True, f"{code} (options.phone_region)")
        hint = f" (did you mean {_COUNTRY_SPELLINGS[code]}?)" if code in _COUNTRY_SPELLINGS else ""
        return CheckItem(name, False, f"options.phone_region {code!r} is not a country code"
                         f" with a numbering plan{hint}: every phone number without a +country"
                         " prefix would be left empty",
                         "set options.phone_region in ferry.yaml to the practice's ISO 3166"
                         " country code (GB for the United Kingdom)")
    try:
        store = project.store
        if not store.counts():
            return None  # nothing staged: the clinics' country is read after extract
        found = practice_region(store)
    except FerryError:
        return None  # the store cannot be read here: the encryption key line says why
    if found:
        return CheckItem(name, True, f"{found} (from the staged clinics' and patients' addresses)")
    return CheckItem(name, False, "no country known: no staged clinic or patient address names"
                     " one, so phone numbers without a +country prefix will be left empty",
                     "set options.phone_region in ferry.yaml to the practice's country"
                     " (e.g. GB, AU, NL)", warn=True)


def column_names(project: Any) -> CheckItem | None:
    """Every field ``source.columns`` names is one its object has: an unknown name (a typo,
    or a guess such as ``visit_type`` for ``type_name``) would otherwise leave the column in
    the custom bag without a word. None when the source takes no ``columns``."""
    bad = unknown_columns(project.settings.source.options())
    if bad is None:
        return None
    if not bad:
        return CheckItem("column names", True, "every field source.columns names exists")
    return CheckItem("column names", False, "; ".join(bad),
                     "in ferry.yaml source.columns use a field of the object (as the line"
                     " suggests), null to keep the column as a custom field, or _not_migrated")


def unknown_columns(options: dict[str, Any]) -> list[str] | None:
    """One line per ``source.columns`` entry whose field its object does not have, naming
    the file or object, the column, the name given and the closest fields; None when the
    source has no ``columns`` key. A key that is a file (not an object) is checked against
    the object ``files`` gives it, else against every object's fields."""
    import difflib

    from ferry.model.entities import ENTITIES
    from ferry.model.fields import fields_of
    from ferry.sources.clinic_csv.columns import SKIP
    from ferry.sources.clinic_csv.convert import PSEUDO

    columns = options.get("columns")
    if columns is None:
        return None
    files = options.get("files") or {}
    every = {f.name for m in ENTITIES.values() for f in fields_of(m)}
    out = []
    for key, placed in columns.items():
        obj = key if key in ENTITIES else files.get(key)
        known = {f.name for f in fields_of(ENTITIES[obj])} if obj in ENTITIES else every
        for column, field in (placed or {}).items():
            if field is None or field in known or field in PSEUDO or field in (SKIP,
                                                                              "source_id"):
                continue
            words = set(field.lower().split("_")) - {"id", "of", "the"}
            near = difflib.get_close_matches(field, sorted(known), n=3, cutoff=0.6) or \
                sorted(f for f in known if words & set(f.split("_")))[:4]
            what = f"{obj} has no field {field!r}" if obj in ENTITIES else \
                f"no object has a field {field!r}"
            out.append(f"{key}: {column!r} → {what}"
                       + (f" (closest: {', '.join(near)})" if near else
                          f" (its fields: {', '.join(sorted(known))})" if obj else ""))
    return out
