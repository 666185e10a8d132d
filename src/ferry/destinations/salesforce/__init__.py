"""Salesforce Sales Cloud destination (REST + Bulk API 2.0 + Tooling API).

Settings live in ``ferry.yaml`` under ``destination.settings``; secrets only as env-var names::

    destination:
      kind: salesforce
      settings:
        login_url: https://acme.my.salesforce.com   # token endpoint host (My Domain)
        auth: client_credentials                    # or jwt, or access_token
        client_id_env: SF_CLIENT_ID
        client_secret_env: SF_CLIENT_SECRET
        api_version: "62.0"

Custom names: a logical name becomes ``Title_Case_Words__c`` (``ferry_source_id`` →
``Ferry_Source_Id__c``, ``treatment_record`` → ``Treatment_Record__c``); a name already ending in
``__c`` is used as is. See ``provision.api_name``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ferry.destinations.salesforce.writer import SalesforceDestination


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: where OAuth tokens come from: My Domain for client_credentials; login/test for JWT
    login_url: str = "https://login.salesforce.com"
    #: optional; the token response's ``instance_url`` is used when present
    instance_url: str | None = None
    auth: Literal["client_credentials", "jwt", "access_token"] = "client_credentials"
    client_id_env: str = "SALESFORCE_CLIENT_ID"
    client_secret_env: str = "SALESFORCE_CLIENT_SECRET"
    #: JWT bearer: env var holding the *path* of the connected app's private key (PEM)
    jwt_key_path_env: str = "SALESFORCE_JWT_KEY_PATH"
    username: str | None = None  # JWT ``sub``
    audience: str | None = None  # JWT ``aud``; defaults to login_url
    #: auth=access_token: env var with a pre-fetched session id (instance_url required)
    access_token_env: str = "SALESFORCE_ACCESS_TOKEN"
    api_version: str = "62.0"
    #: CA bundle to verify TLS with (the sandbox's CA); default: system store
    ca_bundle: str | None = None
    timeout_s: float = 120.0
    #: rows at or above this go through Bulk API 2.0; below, sObject collections (200/call)
    bulk_threshold: int = Field(2000, ge=1)
    bulk_max_rows: int = Field(100_000, ge=1)  # rows per ingest job
    poll_initial_s: float = 0.2
    poll_max_s: float = 5.0
    job_timeout_s: float = 3600.0
    #: divides the Bulk job polling, the retry rounds' pauses and the retry back-off
    #: (sandboxes, benchmarks: an emulated org at ``time_scale`` N); 1 for a real org
    time_scale: float = Field(1.0, gt=0)
    #: permission set that grants Ferry's custom objects and fields to the integration user
    permission_set: str = "Ferry_Migration"
    max_file_bytes: int = 2_000_000_000  # multipart ContentVersion limit
    #: the external-id field used for upserts, when rows carry it
    source_id_field: str = "Ferry_Source_Id__c"
    retries: int = 6
    #: seconds to wait before looking again for a file upload, or a permission set, custom
    #: object or field ``prepare`` creates, whose answer was lost, before
    #: sending it again (a gateway's 504 leaves the request running: ``connectors.settle``)
    ambiguous_settle_s: float = Field(5.0, ge=0)


def create(settings: dict[str, Any], workdir: Path) -> SalesforceDestination:
    from ferry.destinations.salesforce.writer import SalesforceDestination

    return SalesforceDestination(Settings.model_validate(settings), workdir)


def pricing(workdir: Path) -> SalesforceDestination:
    """This connector built to price calls only (``cost``, ``rate``; nothing is called), with
    its default settings: ``ferry estimate --patients N`` counts calls as a project's does."""
    from ferry.destinations.salesforce.writer import SalesforceDestination

    return SalesforceDestination(Settings(), workdir)
