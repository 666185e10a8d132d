"""What every connection key of every source and destination means, and where its value is found.

The keys themselves come from each connector package's pydantic ``Settings`` (see ``keys``), so a
new key shows up in ``ferry init`` and in the docs without an edit here; ``tests/cli`` fails when
a key has no entry in ``HELP`` (so nobody meets an unexplained key). Only the wording lives here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ferry.connectors.registry import DESTINATIONS, SOURCES, destination_module, source_module
from ferry.errors import ConfigError

#: (kind, key) -> (meaning, where to find the value). "" where: a Ferry tuning knob.
_COMMON_CSV = {
    "path": ("folder holding the export files (CSV / XLSX)",
             "the folder you saved the clinic system's data export into"),
    "files": ("{file name: object} for files whose name does not say what they hold",
              "only when `ferry audit` cannot tell a file's object"),
    "columns": ("{file or object: {column: field}}: where each export column goes; `ferry map`"
                " writes every column's placement here (null: a custom field)",
                "`ferry map` fills it; edit a line to place a column it left to review (a field"
                " of the object: `ferry check` names the closest when one does not exist), then"
                " `ferry map --force`"),
    "encoding": ("force a text encoding (default: detected per file)", ""),
    "delimiter": ("force a column delimiter (default: detected per file)", ""),
    "header_row": ("1-based line of the header row (default: detected)", ""),
    "dayfirst": ("ambiguous dates like 03/04 are day-first (default: from the data, the"
                 " practice's country and the system's own order; a date none of them settles"
                 " is left out and listed by `ferry extract`)",
                 "set it before `ferry extract`; changed later, the next `ferry extract` reads"
                 " the staged records again"),
    "timezone": ("time zone of date-times without one (IANA name, e.g. America/New_York,"
                 " Australia/Sydney; UTC when unset, and `ferry check` fails while the export"
                 " holds clock times without an offset)",
                 "the practice's time zone in the clinic system's settings; set it before"
                 " `ferry extract` (changed later, run, sample and delta refuse the records"
                 " read in the old zone, and the next `ferry extract` reads them again)"),
    "page_size": ("records per staged page", ""),
    "encoding_fallback": ("decode lines the encoding refuses with this codec instead of"
                          " reporting them", ""),
    "max_record_lines": ("a quoted cell may span at most this many lines", ""),
}

HELP: dict[str, dict[str, tuple[str, str]]] = {
    "practicehub": {
        "base_url": ("the account's API address: https://ACCOUNT.REGION.practicehub.io/api",
                     "the address bar when logged in to PracticeHub (account and region are the"
                     " first two parts of the host; the region seen so far is 'neptune')"),
        "connect_to": ("send requests to this address instead (a local sandbox), keeping the"
                       " account's Host", "sandbox runs only: the URL `ferry sandbox serve` prints"),
        "api_key_env": ("name of the environment variable holding the API key",
                        "PracticeHub: Settings → Developers → create a key (account owners; other"
                        " roles need it under Settings → Security & Permissions)"),
        "api_key_envs": ("several variables, one key each, of the same account", ""),
        "app_details": ("sent as x-app-details, appname=contact@email (required by PracticeHub)",
                        "your tool name and a contact email, e.g. ferry=it@clinic.example"),
        "page_size": ("records per request (PracticeHub caps it at 100)", ""),
        "requests_per_second": ("pace of requests (PracticeHub allows 1 per second per account)",
                                ""),
        "limit_scope": ("'account': all keys share the allowance (documented); 'key': one each", ""),
        "pace_margin": ("fraction added to each wait so we stay under the limit", ""),
        "time_scale": ("divide every wait by this (must match a sandbox's --time-scale)",
                       "sandbox runs only"),
        "timezone": ("time zone of date-times without one (IANA name)",
                     "PracticeHub: Settings → Practice details → time zone"),
        "dayfirst": ("dates not in ISO 8601 (PracticeHub's shape, year first) are read"
                     " day-first (true) or month-first (false); unset, one only a single order"
                     " reads (13-Feb-1948, 28/02/2020) is read and any other left out and"
                     " listed by `ferry extract`, never guessed", ""),
        "deletions": ("how a delta finds deleted records: auto (the /deleted list if it answers,"
                      " else compare id sets), list, sweep (compare id sets), off", ""),
        "watermark_overlap_s": ("seconds re-read before the delta watermark (clock skew)", ""),
        "describe_counts": ("count every resource at audit (one request each)", ""),
        "prefetch": ("pages requested ahead while the current one is staged", ""),
        "timeout_s": ("seconds to wait for one response", ""),
    },
    "clinic_csv": dict(_COMMON_CSV),
    "pulse": {
        **_COMMON_CSV,
        "path": ("export folder (export mode)",
                 "Pulse: Reports → Export data; save the CSV files into one folder"),
        "mode": ("'export' (CSV folder, every tier) or 'rest' (higher tiers)", ""),
        "base_url": ("REST base URL (rest mode)", "ask Pulse support for your account's API URL"),
        "api_key_env": ("name of the environment variable holding the REST API key (rest mode)",
                        "issued by Pulse support on tiers with API access"),
        "time_scale": ("divide pacing waits by this", "sandbox runs only"),
    },
    "fhir_bulk": {
        "mode": ("'folder' (NDJSON files already exported) or 'server' (run a $export)", ""),
        "path": ("folder of {Type}*.ndjson files (folder mode)",
                 "the folder your EHR's Bulk Data export wrote"),
        "base_url": ("FHIR base URL (server mode; in folder mode, where attachments naming a"
                     " Binary are fetched)", "the EHR's FHIR endpoint in its admin or"
                     " developer settings (SMART Backend Services registration)"),
        "token_env": ("name of the environment variable holding a bearer token (server mode,"
                      " or those fetches)",
                      "issued by the EHR's SMART Backend Services client"),
        "types": ("resource types to export (default: all the server exports)", ""),
        "group_id": ("export Group/{id}/$export instead of the whole system",
                     "the EHR's patient group for this practice"),
        "page_size": ("records per staged page", ""),
        "time_scale": ("divide every server-requested wait by this", "sandbox runs only"),
        "timezone": ("time zone of date-times with a clock time but no offset, which R4 does"
                     " not allow (IANA name); unset, such a value is left out and listed by"
                     " `ferry extract`, never read as UTC",
                     "the practice's time zone in the EHR's settings"),
    },
    "pipedrive": {
        "base_url": ("API address: https://COMPANY.pipedrive.com (or https://api.pipedrive.com)",
                     "the address bar when logged in to Pipedrive: COMPANY is the first part"),
        "api_token_env": ("name of the environment variable holding the API token",
                          "Pipedrive: profile menu → Personal preferences → API (use an admin's"
                          " token: custom fields and pipelines need admin rights)"),
        "plan": ("subscription plan; sets the daily token budget and burst limit",
                 "Pipedrive: Settings → Billing (lite, growth, premium, ultimate)"),
        "seats": ("paid seats; the daily token budget grows with them",
                  "Pipedrive: Settings → Billing → seats"),
        "daily_budget": ("daily API token budget (default 30,000 × plan multiplier × seats)",
                         "Settings → Usage → API usage, if you bought top-ups"),
        "burst": ("calls per 2 s per token (default by plan)", ""),
        "time_scale": ("divide every limit window by this (must match a sandbox)",
                       "sandbox runs only"),
        "default_currency": ("currency a deal is sent in when its source names none (ISO "
                             "code); unset: Pipedrive gives such a deal your user's default "
                             "currency and Ferry lists each one",
                             "Pipedrive: Settings → Company settings → Currencies"),
        "max_file_bytes": ("largest file uploaded (Pipedrive documents no cap)", ""),
        "find_search_max": ("look records up by field search for at most this many ids", ""),
        "workers": ("rows in flight at once (paced by the limits anyway)", ""),
        "retry_attempts": ("attempts per call on 429 / 5xx / network errors", ""),
        "timeout_s": ("seconds to wait for one response", ""),
        "ambiguous_settle_s": ("seconds to wait before looking again for a create or upload"
                               " whose answer was lost, before sending it again (5)", ""),
    },
    "salesforce": {
        "login_url": ("where OAuth tokens come from: My Domain for client_credentials",
                      "Salesforce: Setup → My Domain (https://NAME.my.salesforce.com)"),
        "instance_url": ("API host; the token response's instance_url wins when present",
                         "Setup → My Domain; needed only with auth: access_token"),
        "auth": ("client_credentials, jwt or access_token", "client_credentials is Salesforce's"
                 " recommended flow for integrations"),
        "client_id_env": ("name of the environment variable holding the consumer key",
                          "Setup → App Manager → your connected app → View → Consumer Key"),
        "client_secret_env": ("name of the environment variable holding the consumer secret",
                              "same page as the consumer key (client_credentials; the app"
                              " needs a 'Run As' integration user)"),
        "jwt_key_path_env": ("name of the environment variable holding the path of the"
                             " connected app's private key (auth: jwt)",
                             "the key whose certificate you uploaded to the connected app"),
        "username": ("integration user's username, the JWT subject (auth: jwt)",
                     "Setup → Users"),
        "audience": ("JWT audience (default: login_url)", ""),
        "access_token_env": ("name of the environment variable holding a session id"
                             " (auth: access_token)", "`sf org display` prints one"),
        "api_version": ("REST API version", "Setup → Apex Classes → API version, or GET"
                        " /services/data"),
        "ca_bundle": ("CA bundle to verify TLS with (sandbox runs)", "sandbox runs only"),
        "timeout_s": ("seconds to wait for one response", ""),
        "bulk_threshold": ("rows at or above this go through Bulk API 2.0", ""),
        "bulk_max_rows": ("rows per Bulk API ingest job", ""),
        "poll_initial_s": ("first wait when polling a Bulk job", ""),
        "poll_max_s": ("longest wait between polls of a Bulk job", ""),
        "job_timeout_s": ("give up on a Bulk job after this many seconds", ""),
        "time_scale": ("divide the Bulk job polling and retry waits by this (must match a"
                       " sandbox)", "sandbox runs only"),
        "permission_set": ("permission set that opens Ferry's custom objects and fields",
                           "created by `ferry prepare`; removed by rollback"),
        "max_file_bytes": ("largest file uploaded (multipart ContentVersion limit)", ""),
        "source_id_field": ("external-id field every record carries its source id in", ""),
        "retries": ("attempts per call on transient errors", ""),
        "ambiguous_settle_s": ("seconds to wait before looking again for a file upload, or"
                               " a permission set or custom field `ferry prepare` creates,"
                               " whose answer was lost, before sending it again (5)", ""),
    },
    "odoo": {
        "url": ("server address, e.g. https://acme.odoo.com",
                "the address bar when logged in to Odoo"),
        "db": ("database name", "Odoo Online: the first part of the address; self-hosted:"
               " /web/database/manager"),
        "login": ("the user's login (an administrator, for `ferry prepare`)",
                  "Settings → Users & Companies → Users"),
        "password_env": ("name of the environment variable holding the password (or use"
                         " api_key_env)", ""),
        "api_key_env": ("name of the environment variable holding an API key",
                        "Odoo: avatar menu → Preferences → Account Security → New API Key"
                        " (external API access needs the Custom plan on Odoo Online)"),
        "protocol": ("jsonrpc (/jsonrpc) or xmlrpc (/xmlrpc/2): the same calls and errors;"
                     " JSON costs Ferry less CPU", "keep jsonrpc unless a proxy allows only"
                     " /xmlrpc"),
        "requests_per_second": ("pace of calls (Odoo documents no limit; 1/s is courteous)", ""),
        "batch_size": ("records per create / write / unlink call", ""),
        "time_scale": ("divide the pace and waits by this (must match a sandbox)",
                       "sandbox runs only"),
        "timeout_s": ("seconds to wait for one call", ""),
        "max_file_bytes": ("largest attachment uploaded", ""),
        "source_id_field": ("the x_ field every migrated record carries its source id in", ""),
        "ambiguous_settle_s": ("seconds to wait before looking again for a create or upload"
                               " whose answer was lost, before sending it again (5)", ""),
    },
}

#: Values written for required keys, and for keys a new user must look at first.
EXAMPLES: dict[str, dict[str, Any]] = {
    "practicehub": {"base_url": "https://ACCOUNT.neptune.practicehub.io/api",
                    "api_key_env": "PRACTICEHUB_API_KEY",
                    "app_details": "ferry=it@clinic.example"},
    "clinic_csv": {"path": "./export"},
    "pulse": {"path": "./export"},
    "fhir_bulk": {"path": "./export"},
    "pipedrive": {"base_url": "https://COMPANY.pipedrive.com",
                  "api_token_env": "PIPEDRIVE_API_TOKEN", "plan": "growth", "seats": 1},
    "salesforce": {"login_url": "https://MYDOMAIN.my.salesforce.com",
                   "client_id_env": "SALESFORCE_CLIENT_ID",
                   "client_secret_env": "SALESFORCE_CLIENT_SECRET"},
    "odoo": {"url": "https://COMPANY.odoo.com", "db": "COMPANY", "login": "admin@clinic.example",
             "api_key_env": "ODOO_API_KEY"},
}


@dataclass(frozen=True)
class Key:
    name: str
    required: bool
    default: Any
    meaning: str
    where: str


def _settings_model(role: str, kind: str) -> type[BaseModel]:
    module = source_module(kind) if role == "source" else destination_module(kind)
    return module.Settings  # type: ignore[no-any-return]


def kinds(role: str) -> list[str]:
    return sorted(SOURCES if role == "source" else DESTINATIONS)


def require_kind(role: str, kind: str) -> None:
    if kind not in kinds(role):
        raise ConfigError(f"unknown {role} {kind!r}{_did_you_mean(kind, kinds(role))};"
                          f" valid: {', '.join(kinds(role))}")


def keys(role: str, kind: str) -> list[Key]:
    """Every key the connector's Settings accepts, in its declaration order."""
    out = []
    for name, f in _settings_model(role, kind).model_fields.items():
        default = None
        if not f.is_required():
            default = f.get_default(call_default_factory=True)
            default = None if default is PydanticUndefined else default
        meaning, where = HELP.get(kind, {}).get(name, (f.description or "", ""))
        out.append(Key(name, f.is_required(), default, meaning, where))
    return out


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(role: str, kind: str, given: list[str]) -> None:
    """Refuse keys the connector does not know, naming the valid ones."""
    valid = [k.name for k in keys(role, kind)]
    for name in given:
        if name != "kind" and name not in valid:
            raise ConfigError(f"{role}.{name} is not a {kind} setting"
                              f"{_did_you_mean(name, valid)}; valid: {', '.join(valid)}")

OPTIONS_HELP: dict[str, str] = {
    "fallback_owner_email": "owner of records whose practitioner has no user in the destination"
                            " (a destination user's email; `ferry prepare` lists the unmatched)",
    "batch_size": "records per destination write batch (Salesforce: Bulk API 2.0 is used"
                  " for batches of bulk_threshold rows and more, e.g. batch_size: 5000)",
    "sample_size": "records `ferry sample` migrates by default",
    "dedup_by_email": "merge source patients that share an email into one person",
    "delete_policy": "what `ferry delta` does with records deleted at the source:"
                     " delete, ignore or flag (delete: the record and what cannot exist"
                     " without it; a record with only an optional link to it, such as a paid"
                     " invoice of a deleted visit, is kept with that link emptied)",
    "overlap_extract_and_load": "load while extracting (a run takes about max(extract, load))",
    "encrypt_at_rest": "encrypt staged records, audit before-images and files; key the audit"
                       " chain and the matching keys (HMAC) with the same key",
    "encryption_key_env": "name of the environment variable (or keyring entry, service"
                          " 'ferry') holding the encryption key; this project's own, so"
                          " another project's key in the same shell is not used for it",
    "phone_region": "the practice's country (ISO 3166 code: AU, GB, NL …) for phone numbers"
                    " of records whose address names no country; unset: a record's state and"
                    " postcode name it when they agree (IL 60601: US; NSW 2000: AU), else the"
                    " clinics' country"
                    " (`ferry check` says which, or that none names one: then numbers without a"
                    " +country prefix are left empty); an export's ambiguous dates (03/04)"
                    " follow its usual order (US: month first); set it before `ferry extract`",
    "resume_settle_s": "seconds a resume (or rollback) after a crash waits before deciding that"
                       " a create or upload the crashed run sent never landed (5)",
    "default_appointment_minutes": "minutes an appointment with no end and no length is"
                                   " assumed to last where the CRM refuses one without (a"
                                   " Salesforce Event), when its appointment type gives no"
                                   " length either; each such record and field is listed in"
                                   " the run's skip file and the sample (unset: the record is"
                                   " refused and listed)",
}


def markdown_keys(role: str, kind: str) -> str:
    """The settings table of a docs/connectors page (regenerate: python -m ferry.cli.settings_help)."""
    rows = ["| key | default | meaning | where to find the value |", "|---|---|---|---|"]
    for k in keys(role, kind):
        default = "(required)" if k.required else f"`{k.default}`" if k.default not in (
            None, [], {}) else "—"
        rows.append(f"| `{k.name}` | {default} | {k.meaning} | {k.where or '—'} |")
    return "\n".join(rows)


BEGIN, END = "<!-- settings:begin (generated) -->", "<!-- settings:end -->"


def refresh_docs(folder: Any) -> list[Any]:
    """Rewrite the generated settings table of every docs/connectors/<kind>.md."""
    from pathlib import Path

    changed = []
    for role in ("source", "destination"):
        for kind in kinds(role):
            path = Path(folder) / f"{kind}.md"
            if not path.exists():
                continue
            text = path.read_text()
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            new = f"{head}{BEGIN}\n{markdown_keys(role, kind)}\n{END}{tail}"
            if new != text:
                path.write_text(new)
                changed.append(path)
    return changed


if __name__ == "__main__":
    import sys

    for p in refresh_docs(sys.argv[1] if len(sys.argv) > 1 else "docs/connectors"):
        print(f"updated {p}")  # noqa: T201 - a maintenance script's output
