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
