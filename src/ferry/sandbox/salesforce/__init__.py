"""Salesforce Sales Cloud sandbox: an empty org over HTTPS on 127.0.0.1.

``build(options)`` returns a ``SalesforceSandbox`` with a FastAPI ``app``, the TLS files uvicorn
needs (a trustme CA signs a certificate for 127.0.0.1/localhost) and ``credentials(base_url)``:
the client id/secret for the client-credentials flow, the consumer key, username and private key
file for the JWT bearer flow, and ``ca_bundle`` (the CA PEM) so clients verify TLS instead of
turning verification off. HTTPS is not optional because simple-salesforce hard-codes ``https://``.

``SandboxOptions.extra`` keys: ``daily_api_requests`` (default 100000), ``audit_fields`` (allow
CreatedDate & co on insert), ``address_picklists`` (State and Country/Territory Picklists on:
``addresses``), ``max_file_bytes`` (ContentVersion size cap), ``silent_truncate``
(``"Object.Field:N"``: that field is cut to N characters without an error — a planted fault for
diff tests), ``lock_seed``, ``session_ttl_s`` (sessions expire after that many emulated
seconds: INVALID_SESSION_ID mid-run). ``--faults lock=R`` fails rows with UNABLE_TO_LOCK_ROW at rate R.
``bulk_queue_s``, ``bulk_rows_per_s``, ``bulk_lanes``: how long a Bulk API 2.0 ingest job stays
queued and in progress (emulated seconds, divided by the time-scale; ``bulk.BulkTiming``: the
states are documented, the durations are an assumption).

Provenance (``--surface`` changes nothing here: everything below is in Salesforce's REST, Bulk
API 2.0 and Tooling API guides or the object reference). NOTES = ``shared/specs/salesforce/
NOTES.md``; [code] = simple-salesforce, which the tests drive the sandbox with.

| endpoint / behaviour | source |
|---|---|
| ``POST /services/oauth2/token`` (client credentials, JWT bearer; ``invalid_grant``) | [doc] OAuth flows; NOTES 1 |
| bearer session; 401 ``[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]`` | [doc] NOTES 1 (the body has no ``fields`` key, nor has 404 ``NOT_FOUND``) |
| ``GET /services/data`` (versions, no token), 410 for retired versions | [doc] NOTES 1 |
| ``GET …/limits``; ``Sforce-Limit-Info`` on every answer; 403 ``REQUEST_LIMIT_EXCEEDED`` | [doc] limits cheat sheet; NOTES 3 |
| ``GET …/sobjects``, ``…/sobjects/{obj}/describe`` (incl. compound ``MailingAddress``, read-only) | [doc] REST guide, object reference; NOTES 5 |
| ``GET/POST/PATCH/DELETE …/sobjects/{obj}[/{id}]``, upsert ``…/{obj}/{extField}/{value}`` | [doc] REST guide; NOTES 3 |
| ``POST/PATCH/DELETE …/composite/sobjects``, ``PATCH …/composite/sobjects/{obj}/{extField}`` (≤ 200, ``allOrNone``) | [doc] sObject Collections; NOTES 3 |
| ``GET …/query``, ``…/queryAll`` (deleted rows too), ``nextRecordsUrl`` paging | [doc] REST query resources; NOTES 3 |
| error bodies: JSON array ``{message, errorCode, fields}``; collection rows ``{statusCode, message, fields}``; the codes used | [doc] REST status codes and errors; NOTES 3 |
| ``POST …/jobs/ingest``, ``PUT …/batches``, ``PATCH`` (UploadComplete/Aborted), ``GET`` state, ``successfulResults``/``failedResults``/``unprocessedrecords``; ``…/jobs/query`` | [doc] Bulk API 2.0 guide; NOTES 2 |
| an ingest job's processing time: queued (``UploadComplete``) then ``InProgress`` (internal batches of 10,000 records in parallel) then ``JobComplete`` | [doc] Bulk API 2.0 guide, "How Requests Are Processed", "Understanding Bulk API 2.0 Ingest" (states, 10,000-record batches); [assumption] the durations: 2 s queued, 1,000 rows/s per batch, 4 batches at once (``bulk.BulkTiming``) |
| ``GET …/tooling/query``, ``POST/DELETE …/tooling/sobjects/CustomField``, ``…/CustomObject`` | [doc] Tooling API reference; NOTES 4 |
| PermissionSet, FieldPermissions, ObjectPermissions, PermissionSetAssignment; field-level security enforced (``INVALID_FIELD``) | [doc] object reference; NOTES 4 |
| ContentVersion (base64 ≤ 37.5 MB, ``FirstPublishLocationId`` → ContentDocumentLink), ``…/VersionData`` | [doc] REST guide, object reference; NOTES 5 |
| audit fields on insert only, with the permission | [doc] help article 000176484; NOTES 5 |
| validation: required, lengths, picklists, external-id uniqueness, references, 18-char ids with key prefixes | [doc] object reference; NOTES 3, 5 |
| State and Country/Territory Picklists (``address_picklists``): ``…CountryCode``/``…StateCode`` picklists, text/code syncing, ``FIELD_INTEGRITY_EXCEPTION`` | [doc] Help: standard countries, field-syncing logic, picklist fields; ``addresses`` |
| HTTPS only | [code] simple-salesforce builds every URL as ``https://``; NOTES 6 |
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request

from ferry.sandbox.admin import RequestLog, install_admin
from ferry.sandbox.clock import Clock
from ferry.sandbox.faults import FaultMiddleware, Faults, FaultSpec
from ferry.sandbox.registry import SandboxOptions

API_VERSION = "62.0"


class _StripSlash:
    """``/sobjects/Contact/`` and ``/sobjects/Contact`` are the same resource on the platform."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and len(scope["path"]) > 1 and scope["path"].endswith("/"):
            scope = {**scope, "path": scope["path"].rstrip("/"),
                     "raw_path": scope["path"].rstrip("/").encode()}
        await self.app(scope, receive, send)


class SalesforceSandbox:
    def __init__(self, options: SandboxOptions) -> None:
        import trustme

        from ferry.sandbox.salesforce.app import Api, install_gate, install_rest
        from ferry.sandbox.salesforce.auth import TokenEndpoint
        from ferry.sandbox.salesforce.bulk import install_bulk
        from ferry.sandbox.salesforce.state import Org
        from ferry.sandbox.salesforce.tooling import install_tooling

        self.options = options
        self.dir = Path(tempfile.mkdtemp(prefix="ferry-sf-sandbox-"))
        # its certificate and keys: removed when it stops (``close``), else when it is
        # collected or the process exits (each run left a folder behind: 776 on one machine)
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.dir), True)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = str(self.dir / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.certfile = str(self.dir / "server.pem")
        self.keyfile = str(self.dir / "server.key")
        cert.private_key_pem.write_to_path(self.keyfile)
        cert.cert_chain_pems[0].write_to_path(self.certfile)
        for extra_pem in cert.cert_chain_pems[1:]:
            extra_pem.write_to_path(self.certfile, append=True)

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwt_key_file = str(self.dir / "jwt.key")
        Path(self.jwt_key_file).write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        self.client_id = "3MVG9ferrySandbox" + secrets.token_hex(8)
        self.client_secret = secrets.token_hex(16)

        self.clock = Clock(options.time_scale)
        self.faults = Faults(FaultSpec.parse(options.faults, seed=options.seed))
        extra = options.extra
        self._make_org = lambda: Org(self.clock, list(options.users),
                                     daily_limit=int(extra.get("daily_api_requests", 100_000)),
                                     audit_fields=bool(extra.get("audit_fields", False)),
                                     address_picklists=bool(extra.get("address_picklists",
                                                                      False)),
                                     session_ttl=float(extra.get("session_ttl_s", 0)))
        self.org = self._make_org()
        self.log = RequestLog()
        app = FastAPI(title="Salesforce sandbox", docs_url=None, redoc_url=None,
                      openapi_url=None, redirect_slashes=False)
        self.api = Api(self.org, self.faults, extra)
        self.tokens = TokenEndpoint(self.org, self.client_id, self.client_secret,
                                    key.public_key())
        app.add_api_route("/services/oauth2/token", self._token, methods=["POST"])
        install_bulk(app, self.api)
        install_tooling(app, self.api)
        install_rest(app, self.api)
        install_gate(app, self.org)
        install_admin(app, state=lambda: self.org.snapshot(), reset=self.reset,
                      faults=self.faults, log=self.log)
        body = b'[{"message":"injected fault","errorCode":"SERVER_UNAVAILABLE"}]'
        self.fastapi = app
        self.app = _StripSlash(FaultMiddleware(app, self.faults, options.time_scale,
                                               error_body=body))

    async def _token(self, request: Request) -> Any:
        return await self.tokens(request)

    def reset(self) -> None:
        """Back to an empty org (same credentials and certificate)."""
        fresh = self._make_org()
        self.org.__dict__.update(fresh.__dict__)
        self.api.queries.cursors.clear()

    def close(self) -> None:
        """Remove the sandbox's temp folder (its certificate and keys); called on stop."""
        self._cleanup()

    def credentials(self, base_url: str) -> dict[str, Any]:
        return {"instance_url": base_url, "login_url": base_url,
                "client_id": self.client_id, "client_secret": self.client_secret,
                "username": "integration@ferry-sandbox.example",
                "jwt_key_file": self.jwt_key_file, "ca_bundle": self.ca_file,
                "api_version": API_VERSION}


def build(options: SandboxOptions) -> SalesforceSandbox:
    return SalesforceSandbox(options)
