"""``ferry sandbox serve practicehub``: an emulated PracticeHub account on 127.0.0.1.

The client reaches it the way it reaches the real service, by the account's base URL
(``https://{account}.{region}.practicehub.io/api``), while the TCP connection goes to the local
port (the connector's ``connect_to`` setting). ``credentials`` returns both, plus the API keys and
the ``x-app-details`` value. Options (``SandboxOptions.extra``): ``account`` (``demo``),
``region`` (``neptune``), ``keys`` (how many API keys, 2), ``limit_scope`` (``account`` as
documented, or ``key`` to emulate a per-key limit), ``file_ttl_s`` (signed-link lifetime in
emulated seconds, 600), ``dirt`` (a ``DirtRates`` for the generator).

Admin surface (besides the shared ``/_sandbox/state|reset|requests|faults``):
``POST /_sandbox/mutate`` ``{"resources": {"patients": {"updates": 5, "creates": 2,
"deletes": 1, "seed": 3}}}`` changes the account now (as staff would during a cutover; deleted
ids appear under ``/api/{resource}/deleted``); ``GET /_sandbox/pages`` is the log of list
requests with page numbers; ``GET /_sandbox/records/{resource}`` the canonical records held.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import Faults, FaultSpec
from ferry.sandbox.registry import SandboxOptions


class PracticeHubSandbox:
    certfile: str | None = None
    keyfile: str | None = None

    def __init__(self, options: SandboxOptions) -> None:
        from ferry.sandbox.practicehub.app import PracticeHubApp
        from ferry.sandbox.practicehub.state import PracticeState

        extra = options.extra
        self.account = str(extra.get("account", "demo"))
        self.region = str(extra.get("region", "neptune"))
        n_keys = int(extra.get("keys", 2))
        self.keys = [
            "phk_" + hashlib.sha256(f"{options.seed}:{self.account}:{i}".encode()).hexdigest()[:32]
            for i in range(n_keys)]
        self.app_details = "ferry=migrations@example.com"
        self.state = PracticeState(options.seed, options.patients, extra.get("dirt"))
        self.api = PracticeHubApp(
            self.state, account=self.account, region=self.region, keys=self.keys,
            clock=Clock(options.time_scale),
            faults=Faults(FaultSpec.parse(options.faults, seed=options.seed)),
            limit_scope=str(extra.get("limit_scope", "account")),
            file_ttl_s=float(extra.get("file_ttl_s", 600.0)))
        self.app = self.api.app

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": f"https://{self.account}.{self.region}.practicehub.io/api",
            "connect_to": base_url,
            "api_key": self.keys[0],
            "api_keys": list(self.keys),
            "app_details": self.app_details,
            "account": self.account,
            "region": self.region,
        }


def build(options: SandboxOptions) -> PracticeHubSandbox:
    return PracticeHubSandbox(options)
