"""Real HTTPS against the Salesforce sandbox on 127.0.0.1 (ephemeral port, trustme CA).

``sf(...)`` starts a sandbox with the given options and returns a handle: its credentials, a raw
authenticated httpx client, the admin state, and ``dest(**settings)`` — a connector made by the
package's own ``create`` with secrets passed as env-var names (the values live in the env only).
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry.destinations.salesforce import create
from ferry.sandbox.registry import SandboxOptions, build
from ferry.sandbox.server import Running, serve_in_thread

USERS = ["dr.ada@clinic.example", "frontdesk@clinic.example"]
_n = itertools.count()


@dataclass
class Handle:
    sb: Any
    running: Running
    creds: dict[str, Any]
    workdir: Path
    env: dict[str, str]
    opened: list[Any]

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def settings(self, **over: Any) -> dict[str, Any]:
        return {"login_url": self.base_url, "client_id_env": self.env["id"],
                "client_secret_env": self.env["secret"], "jwt_key_path_env": self.env["key"],
                "ca_bundle": self.creds["ca_bundle"], "poll_initial_s": 0.02,
                "poll_max_s": 0.1, **over}

    def dest(self, **over: Any) -> Any:
        dest = create(self.settings(**over), self.workdir)
        self.opened.append(dest)
        return dest

    def token(self) -> str:
        r = httpx.post(self.base_url + "/services/oauth2/token", verify=self.creds["ca_bundle"],
                       data={"grant_type": "client_credentials",
                             "client_id": self.creds["client_id"],
                             "client_secret": self.creds["client_secret"]}, timeout=60)
        r.raise_for_status()
        return str(r.json()["access_token"])

    def raw(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url + "/services/data/v62.0/",
                            verify=self.creds["ca_bundle"],
                            headers={"Authorization": f"Bearer {self.token()}"}, timeout=60)
        self.opened.append(client)
        return client

    def state(self) -> dict[str, Any]:
        return httpx.get(self.base_url + "/_sandbox/state", verify=self.creds["ca_bundle"],
                         timeout=60).json()

    def records(self, obj: str) -> list[dict[str, Any]]:
        return list(self.state()["objects"].get(obj, []))

    def faults(self, spec: str, seed: int = 1) -> None:
        httpx.post(self.base_url + "/_sandbox/faults", verify=self.creds["ca_bundle"],
                   json={"spec": spec, "seed": seed}, timeout=60).raise_for_status()


@pytest.fixture
def sf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Handle]]:
    started: list[Running] = []
    handles: list[Handle] = []

    def start(users: list[str] | None = None, faults: str = "", time_scale: float = 1.0,
              **extra: Any) -> Handle:
        # a Bulk job done as soon as it has been polled once (its processing time has a test
        # of its own: test_an_ingest_job_is_queued_then_processed_for_its_configured_time)
        extra.setdefault("bulk_queue_s", 0.0)
        extra.setdefault("bulk_rows_per_s", 0.0)
        sb = build("salesforce", SandboxOptions(users=USERS if users is None else users,
                                                faults=faults, time_scale=time_scale,
                                                extra=extra))
        running = serve_in_thread(sb.app, certfile=sb.certfile, keyfile=sb.keyfile)
        started.append(running)
        creds = sb.credentials(running.base_url)
        n = next(_n)
        env = {"id": f"FERRY_TEST_SF_ID_{n}", "secret": f"FERRY_TEST_SF_SECRET_{n}",
               "key": f"FERRY_TEST_SF_KEY_{n}"}
        monkeypatch.setenv(env["id"], creds["client_id"])
        monkeypatch.setenv(env["secret"], creds["client_secret"])
        monkeypatch.setenv(env["key"], creds["jwt_key_file"])
        handle = Handle(sb, running, creds, tmp_path / f"work{n}", env, [])
        handles.append(handle)
        return handle

    yield start
    for handle in handles:  # idle keep-alive connections would hold the server's shutdown
        for client in handle.opened:
            client.close()
    gc.collect()  # responses held by caught exceptions pin their connections until collected
    for running in started:
        running.stop()


def _f(obj: str, name: str, kind: Any, **kw: Any) -> Any:
    from ferry.connectors.base import SchemaItem

    return SchemaItem("custom_field", obj, name, name.replace("_", " ").title(), kind, **kw)


def seed_items() -> list[Any]:
    """The seed-002 schema: custom fields on Contact/Task/Event/Account and four custom objects."""
    from ferry.connectors.base import SchemaItem
    from ferry.model.fields import Kind

    items = [SchemaItem("custom_object", o, o, o.removesuffix("__c").replace("_", " "))
             for o in ("Treatment_Record__c", "Insurance_Record__c", "Invoice__c",
                       "Practitioner_Patient_Relationship__c")]
    for obj in ("Account", "Contact", "Task", "Event", "Treatment_Record__c",
                "Insurance_Record__c", "Invoice__c", "Practitioner_Patient_Relationship__c"):
        items.append(_f(obj, "ferry_source_id", Kind.TEXT, external_id=True))
    items += [
        _f("Contact", "mrn", Kind.TEXT), _f("Contact", "source_created_at", Kind.DATETIME),
        _f("Contact", "npi", Kind.TEXT),
        _f("Contact", "compliance_documents", Kind.SET, options=("HIPAA", "OSHA")),
        _f("Task", "appointment_type", Kind.TEXT), _f("Task", "visit_notes", Kind.LONG_TEXT),
        _f("Treatment_Record__c", "diagnosis_code", Kind.TEXT),
        _f("Treatment_Record__c", "treatment_date", Kind.DATE),
        _f("Treatment_Record__c", "patient", Kind.REF, ref="Contact"),
        _f("Treatment_Record__c", "practitioner", Kind.REF, ref="Contact"),
        _f("Insurance_Record__c", "carrier_name", Kind.TEXT),
        _f("Insurance_Record__c", "active", Kind.BOOL),
        _f("Insurance_Record__c", "coverage_type", Kind.ENUM, options=("PPO", "HMO")),
        _f("Insurance_Record__c", "patient", Kind.REF, ref="Contact"),
        _f("Invoice__c", "invoice_number", Kind.TEXT), _f("Invoice__c", "amount", Kind.MONEY),
        _f("Invoice__c", "status", Kind.ENUM, options=("Paid", "Pending", "Overdue",
                                                        "Cancelled")),
        _f("Invoice__c", "invoice_date", Kind.DATE),
        _f("Invoice__c", "patient", Kind.REF, ref="Contact"),
        _f("Invoice__c", "source_treatment", Kind.REF, ref="Treatment_Record__c"),
        _f("Practitioner_Patient_Relationship__c", "patient_contact", Kind.REF, ref="Contact"),
        _f("Practitioner_Patient_Relationship__c", "practitioner_contact", Kind.REF,
           ref="Contact"),
    ]
    return items
