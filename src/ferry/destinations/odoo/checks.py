"""``ferry check`` and ``describe`` for Odoo: what the account is and holds.

Check: reachability, login, version, admin rights, CRM, Accounting, users — each its own
CheckItem so one failure says exactly what to fix; steps that need a login are skipped when the
login fails. Messages name settings and rights, never the secret.

Describe: the seam objects with their fields from a bounded ``fields_get`` (NOTES 2: a full one
faults on 19). Standard selection fields list their *keys* as options (recipes write keys such
as ``opportunity``), custom ones their labels; many2one fields are ``ref`` kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ferry.connectors.base import CheckItem, FieldSpec, ObjectInfo
from ferry.destinations.odoo.shape import NO_ACTIVE, kind_of
from ferry.errors import FerryError

if TYPE_CHECKING:
    from ferry.destinations.odoo.writer import OdooDestination


def run_checks(dest: OdooDestination) -> list[CheckItem]:
    items: list[CheckItem] = []
    rpc = dest.rpc

    def step(name: str, fn: Callable[[], tuple[bool, str]], fix: str) -> bool:
        try:
            ok, detail = fn()
        except FerryError as exc:
            items.append(CheckItem(name, False, str(exc), fix))
            return False
        items.append(CheckItem(name, ok, detail, "" if ok else fix))
        return ok

    wire = {"jsonrpc": "JSON-RPC", "xmlrpc": "XML-RPC"}.get(rpc.protocol, rpc.protocol)
    if not step("reachable", lambda: (True, f"Odoo {rpc.version()['server_version']} answers"
                                            f" {wire} (setting protocol: {rpc.protocol})"),
                "check the url (https://<company>.odoo.com or your server's address)"):
        return items
    if not step("login", lambda: (True, f"authenticated as user id {rpc.authenticate()}"),
                "check db, login and the password/API key env var (Odoo Online users need an"
                " API key; the external API needs the Custom plan)"):
        return items
    step("version", lambda: _version(rpc.version()), "Ferry supports Odoo 16 to 19")
    step("admin rights", lambda: (bool(rpc.execute("ir.model.fields", "check_access_rights",
                                                   "create", False)),
                                  "can create custom x_ fields"),
         "prepare needs an administrator (Settings) login to create x_ fields")
    step("crm installed", lambda: (dest.module_installed("crm"), "CRM app installed"),
         "install the CRM app in Odoo")
    step("accounting", lambda: (True, "Invoicing/Accounting installed: billing goes to"
                                " account.move" if dest.accounting_installed() else
                                "Accounting not installed: billing goes to res.partner custom"
                                " fields"), "")
    step("users", lambda: (True, f"{len(dest.users())} internal users to match by email"), "")
    return items


def _version(info: dict[str, Any]) -> tuple[bool, str]:
    major = int((info.get("server_version_info") or [0])[0])
    note = " (XML-RPC is deprecated in 19 and res.partner has no mobile)" if major >= 19 else ""
    return 16 <= major <= 19, f"server {info.get('server_version')}{note}"


MAGIC = {"id", "display_name", "create_date", "write_date", "create_uid", "write_uid",
         "__last_update"}
SKIP_TYPES = {"one2many", "binary", "properties", "reference"}


def describe_objects(dest: OdooDestination) -> list[ObjectInfo]:
    out = []
    for model in dest.objects():
        fields = []
        for name, meta in sorted(dest.fields_meta(model).items()):
            if name in MAGIC or meta.get("type") in SKIP_TYPES:
                continue
            pick = 1 if meta.get("manual") else 0
            options = [str(p[pick]) for p in meta.get("selection") or []] or None
            fields.append(FieldSpec(
                name=name, kind=kind_of(name, meta), label=str(meta.get("string") or name),
                key=name, required=bool(meta.get("required")), custom=name.startswith("x_"),
                options=options, ref=meta.get("relation"), writable=not meta.get("readonly"),
                external_id=name == dest.source_id_field))
        count = dest.rpc.execute(model, "search_count", [], context=NO_ACTIVE)
        out.append(ObjectInfo(model, model, fields, custom=False, count=int(count)))
    return out
