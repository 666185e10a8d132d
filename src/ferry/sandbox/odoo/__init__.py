"""Odoo sandbox: an emulated Odoo 17/18/19 external API on 127.0.0.1 (``ferry sandbox serve odoo``).

``build(options)`` returns the sandbox; ``options.extra`` chooses the server:

| key | default | meaning |
|---|---|---|
| ``version`` | 17 | 17, 18 or 19 (fields present and absent differ: ``mobile`` is gone in 19) |
| ``accounting`` | False | Invoicing (``account``) installed: ``account.move`` exists |
| ``db`` | ``ferry`` | database name every call must carry |
| ``admin_login`` / ``admin_password`` | ``admin`` / ``admin`` | the administrator |
| ``max_request_bytes`` | 128 MiB | request body cap (Odoo 16+ ``DEFAULT_MAX_CONTENT_LENGTH``) |

Outside tests, ``FERRY_SANDBOX_ODOO_VERSION`` and ``FERRY_SANDBOX_ODOO_ACCOUNTING=1`` choose the
version and Accounting for ``ferry sandbox serve odoo``. ``options.users`` become internal
(non-admin) users whose login is their email. The
administrator also has an API key, usable wherever the password is.

Provenance (``--surface`` changes nothing here: every endpoint and behaviour below is documented
by Odoo or read from its source). NOTES = ``shared/specs/odoo/NOTES.md``; "17.0 source" =
odoo/odoo branch 17.0.

| endpoint / behaviour | source |
|---|---|
| ``POST /xmlrpc/2/common`` ``version``, ``authenticate``, ``login`` | [doc] external API docs 17-19; NOTES 1.2 |
| ``POST /xmlrpc/2/object`` ``execute_kw``/``execute``; ``/xmlrpc/common``, ``/xmlrpc/object`` (string fault codes) | [doc] external API docs; [code] 17.0 ``base/controllers/rpc.py``; NOTES 1.3-1.4 |
| ``POST /jsonrpc`` (errors as HTTP 200 ``error.data.name``) | [doc] external API docs; [code] ``http.py``; NOTES 1.5 |
| ``POST /json/2/<model>/<method>`` (19 only), bearer API key, 401/404/422 bodies | [doc] 19.0 external API; NOTES 1.6 |
| faults 1/2/3/4, ``allow_none=False`` (a None result is Fault 1 after the commit) | [code] ``xmlrpc_handle_exception_int``; odoo/odoo#19889, #276541; NOTES 1.3-1.4 |
| ``fields_get``, ``search``, ``search_read``, ``search_count``, ``read``, ``create`` (dict → int, list → list), ``write``, ``unlink``, ``name_search``, ``name_get`` (≤17), ``default_get``, ``check_access_rights`` | [doc] ORM reference; NOTES 2 |
| domains (``|``, ``&``, ``!``, ``ilike``, ``=?``, ``any``, dotted paths), ``active_test`` | [doc] ORM reference; NOTES 2 |
| x2many commands 0-6 | [doc] ORM ``Command``; NOTES 2 |
| ``toggle_active``, ``action_archive``, ``action_unarchive`` (return None); crm.lead's override (probability 0 / lost reason cleared) | [code] 17.0 ``odoo/models.py``, ``crm/models/crm_lead.py`` |
| custom fields through ``ir.model.fields`` (``x_`` rule, selection strings and ``selection_ids``, registry reload) | [code] 17.0 ``base/models/ir_model.py``; NOTES 3 |
| res.partner fields incl. ``title``, ``category_id``, ``company_id``, ``industry_id``, ``tz``, ``commercial_partner_id``, ``complete_name``; order ``complete_name ASC, id DESC``; archive refused while an active user uses the partner | [code] 17.0 ``base/models/res_partner.py`` |
| res.partner.category (order ``name``, parent cascade), res.partner.title (17/18; removed saas-18.1: odoo/odoo#187357), res.partner.industry, res.company | [code] 17.0 ``base/models/res_partner.py``, ``res_company.py``; base data (titles, NACE industries) |
| ``mobile`` on res.partner / crm.lead up to 18 (gone in 19) | [code] odoo/odoo#189739; NOTES 4 |
| crm.lead (``tag_ids``, ``lost_reason_id`` restrict, ``company_id``, probability check), crm.stage, crm.team, crm.tag (unique name), crm.lost.reason (+ its data) | [code] 17.0 ``crm/models``, ``sales_team/models/crm_tag.py``; NOTES 4 |
| calendar.event (order ``start desc``, stop from start + duration, stop ≥ start) | [code] 17.0 ``calendar/models/calendar_event.py``; NOTES 4 |
| mail.message / ``message_post`` (``body_is_html``; int in ≤18, list in 19), mail.activity, mail.activity.type (``keep_done`` 17/18), ir.attachment, account.move (Invoicing) | [code] 17.0 ``mail``, ``account``; odoo/odoo#129977; NOTES 4 |
| HTML fields sanitised (``<script>``, ``<style>``, ``on*=`` handlers, ``javascript:`` links removed; bare text wrapped in ``<p>``) | [code] 17.0 ``odoo/tools/mail.py`` ``html_sanitize`` (``sandbox.sanitize``) |
| 128 MiB request cap | [code] ``DEFAULT_MAX_CONTENT_LENGTH`` (16+); NOTES 4 |
| no numeric rate limit (only injected faults: 429/502/503, drops, locks) | [doc] none documented: NOTES 5 |
"""

from __future__ import annotations

import os
from typing import Any

from ferry.sandbox.odoo.app import build_app
from ferry.sandbox.odoo.state import Database, new_database
from ferry.sandbox.registry import SandboxOptions

DEFAULT_MAX_REQUEST = 128 * 1024 * 1024


class OdooSandbox:
    certfile: str | None = None
    keyfile: str | None = None

    def __init__(self, options: SandboxOptions) -> None:
        extra = options.extra or {}
        env = os.environ  # `ferry sandbox serve odoo` has no --extra: these stand in for it
        self.version = int(extra.get("version", env.get("FERRY_SANDBOX_ODOO_VERSION", 17)))
        if self.version not in (17, 18, 19):
            raise ValueError("odoo sandbox version must be 17, 18 or 19")
        self.accounting = bool(extra.get("accounting", env.get("FERRY_SANDBOX_ODOO_ACCOUNTING",
                                                            "") in ("1", "true", "yes")))
        self.db_name = str(extra.get("db", "ferry"))
        self.admin_login = str(extra.get("admin_login", "admin"))
        self.admin_password = str(extra.get("admin_password", "admin"))
        self.options = options
        self.holder: dict[str, Database] = {"db": self._fresh()}
        self.app = build_app(self.holder, faults_spec=options.faults, seed=options.seed,
                             time_scale=options.time_scale,
                             max_request_bytes=int(extra.get("max_request_bytes",
                                                             DEFAULT_MAX_REQUEST)),
                             reset=self.reset)

    def _fresh(self) -> Database:
        return new_database(version=self.version, accounting=self.accounting, db=self.db_name,
                            admin_login=self.admin_login, admin_password=self.admin_password,
                            users=list(self.options.users), seed=self.options.seed)

    @property
    def database(self) -> Database:
        return self.holder["db"]

    def reset(self) -> None:
        self.holder["db"] = self._fresh()

    def credentials(self, base_url: str) -> dict[str, Any]:
        db = self.database
        admin = db.logins[self.admin_login]
        return {"url": base_url, "db": self.db_name, "login": self.admin_login,
                "password": self.admin_password, "api_key": admin.api_keys[0],
                "version": self.version, "accounting": self.accounting,
                "users": {login: entry.password for login, entry in db.logins.items()
                          if login != self.admin_login}}


def build(options: SandboxOptions) -> OdooSandbox:
    return OdooSandbox(options)


def profile(info: dict[str, Any], time_scale: float, env_prefix: str
            ) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``ferry.yaml`` destination section and env for a running Odoo sandbox (for
    ``ferry.sandbox.profiles``): the admin's API key goes in an env var, never in the file."""
    c = info["credentials"]
    var = f"{env_prefix}ODOO_API_KEY"
    return ({"kind": "odoo", "url": c["url"], "db": c["db"], "login": c["login"],
             "api_key_env": var, "time_scale": time_scale}, {var: c["api_key"]})
