"""``ferry sandbox serve practicehub``: an emulated PracticeHub account on 127.0.0.1.

The client reaches it the way it reaches the real service, by the account's base URL
(``https://{account}.{region}.practicehub.io/api``), while the TCP connection goes to the local
port (the connector's ``connect_to`` setting). ``credentials`` returns both, plus the API keys,
the ``x-app-details`` value and the practice's time zone. Options: ``SandboxOptions.surface``
(``documented``, the default, or ``extended``); ``SandboxOptions.extra``: ``account``
(``demo``), ``region`` (``neptune``), ``timezone`` (the practice's IANA zone:
``Australia/Sydney`` when the region is ``sydney``, else its home country's, ``Practice.timezone``;
its visits are booked in that zone's opening hours, 08:00-17:45), ``keys`` (how many API
keys, 2), ``limit_scope`` (``account`` as documented, or ``key`` to emulate a per-key limit),
``file_ttl_s`` (signed-link lifetime in emulated seconds, 600), ``dirt`` (a ``DirtRates``),
``doc_size_scale`` (benchmarks: the ordinary documents' sizes multiplied, 1), ``dst_edges``
(False: three appointments moved onto the zone's last clock changes, shown without an offset
in the hour the clocks repeated and the hour they skipped; ``PracticeState.edges`` names them).

Where each endpoint and behaviour comes from (``../shared/specs/sources/NOTES.md`` §1;
[doc] developers.practicehub.io guides, [code] third-party client code calling the live API):

| endpoint / behaviour | source | surface |
|---|---|---|
| ``https://{account}.{region}.practicehub.io/api/{resource}`` | [doc] guide examples | both |
| ``x-practicehub-key`` + ``x-app-details: app=email``, 401 without | [doc] /guide/authentication | both |
| ``{total_entries, data, links}``, ``page``, ``page_size`` ≤ 100, no ``next`` on the last page | [doc] /guide/pagination | both |
| 1 request/s per account, 429 past it (``Retry-After: 1`` added) | [doc] /guide/rate-limiting | both |
| ``?updated=<timestamp>`` | [doc] /guide/polling-vs-webhooks | both |
| ``/patients``, ``/practitioners``, ``/appointments``, ``/appointment_types`` | [code] importers | both |
| ``/files`` with a pre-signed ``url`` (403 once expired) and ``entity_type`` | [code] | both |
| ``/invoices`` (``total`` a string), ``/payments`` (money and ``payment_type_id`` strings) | [code] | both |
| ``/payment_methods`` ``{id, name}`` (free-text names) | [code] | both |
| ``/patient_logs`` (``type``, ``sub_type``, HTML ``data``) | [code] | both |
| appointment ``start``/``end`` as ``YYYY-MM-DD HH:MM:SS`` practice-local time | [code] the ``start`` filter's local format | both |
| an appointment id listed twice (every id divisible by 23) | [code] importers de-duplicate by id | both |
| ``created`` timestamps, ``patient_id`` string or number, ``cancelDate`` | [code] | both |
| statuses ``processed``/``cancelled`` | [code]; ``booked``/``dna`` ASSUMPTION | both |
| field names beyond those [code] shows (addresses, DOB, phones, custom_fields…) | ASSUMPTION (Cliniko-like); the docs promise no field list | both |
| ``/locations``, ``/clinical_notes``, ``/treatment_records``, ``/insurance_policies``, ``/prescriptions``, ``/appointment_reminders``, ``/practitioner_patients``, ``/patient_relationships``, ``/policies``, ``/workflows``, ``/campaigns`` | ASSUMPTION modelled on Cliniko; no public source names them | extended |
| ``/api/{resource}/deleted`` | ASSUMPTION (Cliniko's ``/deleted`` lists) | extended |
| ``/api/{resource}/{id}`` | ASSUMPTION (REST convention) | extended |
| payment ``payment_method`` text beside ``payment_type_id`` | ASSUMPTION | extended |

Admin surface (besides the shared ``/_sandbox/state|reset|requests|faults``):
``POST /_sandbox/mutate`` ``{"resources": {"patients": {"updates": 5, "creates": 2,
"deletes": 1, "seed": 3, "delete_ids": [], "restore_ids": []}}}`` changes the account now (as staff would during a cutover; on the
extended surface deleted ids appear under ``/api/{resource}/deleted``; a restored id is listed again, updated now); ``POST /_sandbox/set`` ``{"resource", "id", "fields": {canonical name: value}}`` gives one record
those values; ``GET /_sandbox/pages``
is the log of list requests with page numbers; ``GET /_sandbox/records/{resource}`` the
canonical records held.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import Faults, FaultSpec
from ferry.sandbox.registry import SandboxOptions
from ferry.sandbox.synth import Practice


def account_zone(extra: dict[str, Any]) -> str | None:
    """The zone an account's ``extra`` sets: its ``timezone``, else Sydney's for region
    ``sydney``; None: the practice's own (``Practice.timezone``). Its visits are booked in
    this zone's opening hours (``Practice(timezone=...)``)."""
    zone = extra.get("timezone") or ("Australia/Sydney" if extra.get("region") == "sydney"
                                     else None)
    return str(zone) if zone else None


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
        self.timezone = account_zone(extra) or Practice(options.seed, options.patients).timezone
        self.surface = options.surface
        self.state = PracticeState(options.seed, options.patients, extra.get("dirt"),
                                   timezone=self.timezone, surface=self.surface,
                                   doc_size_scale=float(extra.get("doc_size_scale", 1.0)),
                                   dst_edges=bool(extra.get("dst_edges", False)))
        self.api = PracticeHubApp(
            self.state, account=self.account, region=self.region, keys=self.keys,
            clock=Clock(options.time_scale),
            faults=Faults(FaultSpec.parse(options.faults, seed=options.seed)),
            limit_scope=str(extra.get("limit_scope", "account")),
            file_ttl_s=float(extra.get("file_ttl_s", 600.0)), surface=self.surface)
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
            "timezone": self.timezone,
        }


def build(options: SandboxOptions) -> PracticeHubSandbox:
    return PracticeHubSandbox(options)
