"""The PracticeHub ``Source``: resumable paged reads, deltas with deletions, files, check.

Checkpoints. Each page carries a token naming the page to fetch *next* (with the ``since`` and
watermark the read began with, and whether the read is in its deletions phase), so the engine,
which stages a page and its token in one transaction, resumes after a SIGKILL at the first page
not yet staged: no completed page is fetched again. Pages are read in id order (the order the
API pages in) for as long as the API offers a ``links.next``; the page number in that link is
what the token keeps, so a resumed run builds the same URL.

Optional resources. Only the resources public client code reads are taken as given (``wire.
PUBLIC``); the others are probed, and one answering 404 is absent on this account: its read
yields one empty, finished page, ``describe`` reports it unreachable, ``check`` says how to bring
its records instead (the practice's CSV export through a clinic_csv source).

Deltas. ``since`` becomes the documented ``updated`` filter; after the changed rows, the
``/{resource}/deleted`` list (an ASSUMPTION modelled on Cliniko) reports deletions as
``Page.deleted_ids``. Where that list answers 404 (``deletions: auto`` probes it once per
object and delta), the delta reads the whole list instead (``sweep``): every row, so changed
rows are re-staged by content hash, and every id (``Page.listed_ids``), so the engine finds the
deleted ones as the staged ids the listing no longer names. A sweep costs one request per page
of the object, the same as a full extract of it; the ``updated`` pass it replaces is then
redundant and is not made. The watermark is the server's clock (``Date`` header) when the read began,
less ``watermark_overlap_s``: a change made while later pages were read is picked up next time.
Offset paging has one blind spot the API gives no way round: a row *deleted* during a full read
shifts later rows one place up, so one row may be skipped; the next delta (which starts before
that read began) re-reads every row changed since, and a delta can be run with an older
``since`` to sweep.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import OrderedDict
from collections.abc import AsyncIterator
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from ferry.connectors.base import (
    CheckItem,
    FieldSpec,
    FileInfo,
    ObjectInfo,
    Page,
    RateInfo,
    Source,
)
from ferry.errors import FatalError, FerryError, RecordError
from ferry.model.entities import Document, Record, entity
from ferry.model.fields import Kind, field_info, fields_of
from ferry.sources.practicehub.client import Expired, ListPage, NotFound, PracticeHubClient
from ferry.sources.practicehub.wire import (
    API_FIELDS,
    OPTIONAL,
    RESOURCES,
    SYSTEM,
    UNREACHABLE_HOW,
    Decoder,
)

#: region label → the zones its accounts are in ([3p]: ``sydney`` serves ANZ; ``neptune`` serves
#: the UK and continental Europe, so it says too little to check)
REGION_ZONES = {"sydney": "Australia"}
#: downloads of one file, each from a freshly issued link after the first (see ``fetch_file``)
LINK_ATTEMPTS = 6
#: a page's files downloaded this many at a time (signed links are served by the file store,
#: outside the API allowance; two keep the store and Ferry's hashing and sealing both busy)
FILE_LANES = 2

CUSTOM_KINDS = {"text": Kind.TEXT, "long_text": Kind.LONG_TEXT, "int": Kind.INT,
                "decimal": Kind.DECIMAL, "bool": Kind.BOOL, "date": Kind.DATE,
                "datetime": Kind.DATETIME, "enum": Kind.ENUM, "set": Kind.SET}


def _token(**state: Any) -> str:
    return json.dumps(state, separators=(",", ":"), sort_keys=True)


class PracticeHubSource(Source):
    name: ClassVar[str] = SYSTEM
    objects: ClassVar[tuple[str, ...]] = tuple(RESOURCES)
    #: the documented surface (the resources its public client code shows); an account
    #: that serves the extended ones stages more
    typical_objects: ClassVar[tuple[str, ...] | None] = (
        "practitioner", "patient", "appointment_type", "appointment", "invoice", "payment",
        "document", "message")

    def __init__(self, client: PracticeHubClient, *, page_size: int = 100,
                 decoder: Decoder | None = None, watermark_overlap_s: float = 1.0,
                 describe_counts: bool = True, prefetch: int = 1, deletions: str = "auto",
                 timezone_set: bool = True) -> None:
        self.client = client
        self.deletions = deletions
        self.timezone_set = timezone_set
        #: optional objects found absent (404) by this source instance
        self.absent: set[str] = set()
        self._deleted_list: dict[str, bool] = {}
        self._methods: dict[str, str] | None = None
        self._probed: set[str] = set()
        self.page_size = max(1, min(page_size, 100))
        self.decoder = decoder or Decoder()
        self.overlap = watermark_overlap_s
        self.describe_counts = describe_counts
        self.prefetch = prefetch
        self._links: _Links = _Links()

    # -- reading ---------------------------------------------------------------------------------
    def _params(self, page: int, since: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"page": page, "page_size": self.page_size}
        if since:
            params["updated"] = since
        return params

    def _watermark(self, lp: ListPage) -> str:
        at = lp.server_time if lp.server_time is not None else dt.datetime.now(dt.UTC).timestamp()
        return dt.datetime.fromtimestamp(int(at - self.overlap), dt.UTC).isoformat()

    async def read(self, object_name: str, *, checkpoint: str | None = None,
                   since: dt.datetime | None = None) -> AsyncIterator[Page]:
        if object_name not in RESOURCES:
            raise FatalError(f"practicehub has no object {object_name!r}", system=SYSTEM)
        state: dict[str, Any] = json.loads(checkpoint) if checkpoint else {
            "page": 1, "phase": "list", "watermark": None,
            "since": since.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            if since else None}
        resource = RESOURCES[object_name]
        if not checkpoint and since is not None and not await self._has_deleted_list(resource):
            state["phase"] = "sweep"
        if object_name == "payment" and self._methods is None:
            await self._load_methods()
        # whether the optional objects this one refers to exist, known before rows are decoded:
        # with per-key allowances asked alongside the first pages (it then costs no time); on
        # one shared allowance first, as two requests racing on a fresh connection could
        # arrive closer together than the limit allows
        targets = sorted(t for t in set(_optional_refs(object_name).values())
                         if t not in self._probed)
        probes: list[asyncio.Future[None]] = []
        for t in targets:
            if self.client.parallelism > 1:
                probes.append(asyncio.ensure_future(self._probe(t)))
            else:
                await self._probe(t)
        if state["phase"] in ("list", "sweep"):
            async for page in self._pages(object_name, resource, state, probes):
                yield page
            if state["phase"] != "deleted":
                return
        async for page in self._pages(object_name, f"{resource}/deleted", state):
            yield page

    async def _probe(self, obj: str) -> None:
        """Whether an optional object is served (one request, once per source instance)."""
        try:
            await self.client.get_json(self.client.url(RESOURCES[obj]), {"page_size": 1},
                                       counted=RESOURCES[obj])
        except NotFound:
            self.absent.add(obj)
        self._probed.add(obj)

    def unseen_deletions(self, object_name: str) -> str | None:
        if self.deletions != "off":
            return None
        return ("deletions: off in ferry.yaml: a delta reads only the changed records, so a"
                " record deleted at PracticeHub stays in the CRM; set deletions: auto (the"
                " /deleted list if it answers, else a comparison of the id sets)")

    async def _has_deleted_list(self, resource: str) -> bool:
        """Whether deletions come from ``/{resource}/deleted`` (else: a sweep, or none)."""
        if self.deletions in ("list", "off"):
            return True
        if self.deletions == "sweep":
            return False
        if resource not in self._deleted_list:
            try:
                await self.client.get_json(self.client.url(f"{resource}/deleted"),
                                           {"page": 1, "page_size": 1}, counted=resource)
                self._deleted_list[resource] = True
            except NotFound:
                self._deleted_list[resource] = False
        return self._deleted_list[resource]

    async def _load_methods(self) -> None:
        """``/payment_methods`` [code]: the names behind payments' ``payment_type_id``."""
        methods: dict[str, str] = {}
        url: str | None = self.client.url("payment_methods")
        params: dict[str, Any] | None = {"page": 1, "page_size": 100}
        try:
            while url:
                lp = await self.client.list_page(url, params, "payment_methods")
                for row in lp.data:
                    if isinstance(row, dict) and row.get("id") is not None and row.get("name"):
                        methods[str(row["id"]).strip()] = str(row["name"])
                url, params = (lp.next_url, None) if lp.data else (None, None)
        except NotFound:
            pass  # payments then carry no method name
        self._methods = methods

    async def _pages(self, obj: str, path: str, state: dict[str, Any],
                     probes: list[asyncio.Future[None]] | None = None) -> AsyncIterator[Page]:
        """Pages of one list from ``state['page']`` on, yielded in order.

        ``prefetch`` pages are requested ahead while the caller stages the current one, so the
        allowance, not the round trip plus staging, sets the pace (the fetch of page n+1 waits
        on the pacer while page n is written). The price: a run killed mid-way loses the pages
        fetched but not yet staged (at most 1 + prefetch) and fetches them again on resume; a
        staged page is never fetched again. With per-key allowances ``parallelism`` more pages
        are in flight, one per key."""
        deleted = path.endswith("/deleted")
        sweep = state["phase"] == "sweep"
        since = None if sweep else state["since"]
        url = self.client.url(path)
        ahead: dict[int, asyncio.Task[ListPage]] = {}
        last_page: int | None = None
        try:
            page = int(state["page"])
            while True:
                width = self.client.parallelism + self.prefetch
                for n in range(page, page + width):
                    if n not in ahead and (last_page is None or n <= last_page) and (
                            n == page or last_page is not None):
                        ahead[n] = asyncio.ensure_future(self.client.list_page(
                            url, self._params(n, since), path))
                try:
                    lp = await ahead.pop(page)
                except NotFound:
                    if obj not in OPTIONAL or deleted or page != 1:
                        raise
                    self.absent.add(obj)  # not served on this account: nothing to read
                    self._probed.add(obj)
                    yield Page(object=obj, records=[], checkpoint="", done=True,
                               listed_ids=None)
                    return
                self._probed.add(obj)
                last_page = max(1, -(-lp.total // self.page_size))
                if state["watermark"] is None:
                    state["watermark"] = self._watermark(lp)
                more = bool(lp.next_url) and bool(lp.data)
                nxt = _page_of(lp.next_url) if more else None
                if more:
                    state["page"] = nxt or page + 1
                elif state["since"] and not deleted and not sweep \
                        and self.deletions != "off":
                    state.update(phase="deleted", page=1)
                if probes:
                    await asyncio.gather(*probes)
                    probes = None
                records, errors, gone = self._decode(obj, lp.data, deleted)
                done = not more and not (state["phase"] == "deleted" and not deleted)
                listed = [str(r["id"]).strip() for r in lp.data if isinstance(r, dict)
                          and r.get("id") is not None] if sweep else None
                yield Page(object=obj, records=records, errors=errors, deleted_ids=gone,
                           checkpoint="" if done else _token(**state), done=done,
                           watermark=state["watermark"], listed_ids=listed,
                           complete_listing=sweep and done)
                if not more:
                    return
                page = int(state["page"])
        finally:
            for task in [*ahead.values(), *(probes or [])]:
                task.cancel()

    def _decode(self, obj: str, rows: list[dict[str, Any]], deleted: bool
                ) -> tuple[list[Record], list[FerryError], list[str]]:
        if deleted:
            return [], [], [str(r["id"]) for r in rows if r.get("id") is not None]
        records: dict[str, Record] = {}
        errors: list[FerryError] = []
        for row in rows:
            if obj == "payment" and self._methods and row.get("payment_method") is None \
                    and row.get("payment_type_id") is not None:
                row = dict(row)  # [code] the method is named by id; /payment_methods names it
                row["payment_method"] = self._methods.get(str(row["payment_type_id"]).strip())
            if obj == "document" and "url" in row:
                # A pre-signed link changes on every listing; kept out of the record (whose
                # content hash must be stable across re-reads) and handed to fetch_file.
                row = dict(row)
                link = row.pop("url")
                if link and row.get("id") is not None:
                    self._links[str(row["id"])] = link
            for key, target in _optional_keys(obj):
                if target in self.absent and row.get(key) is not None:
                    # the API names a record it does not serve (e.g. a location): a reference
                    # no load could resolve would only cost the record its place
                    row = {**row, key: None}
            try:
                rec = self.decoder.record(obj, row, errors)  # a non-ISO date: listed, kept
            except RecordError as err:
                errors.append(err)
                continue
            records[rec.source_id] = rec  # [code] an id may repeat in one list: keep one
        return list(records.values()), errors, []

    # -- files -----------------------------------------------------------------------------------
    async def fetch_files(self, documents: list[Document], dests: list[Path],
                          codec: object = None) -> list[FileInfo | RecordError]:
        """The files whose listing gave a link, fetched in turn in one worker call (a thread
        hop and retry wrapper a file cost more CPU on the loop than a small file's bytes); a
        link that expired or a download worth retrying then goes through ``fetch_file``."""
        for dest in {d.parent for d in dests}:
            dest.mkdir(parents=True, exist_ok=True)
        links = {doc.source_id: self._links.pop(doc.source_id, None) or doc.url
                 for doc in documents}
        jobs = [(links[doc.source_id], dest, f"{SYSTEM}:document:{doc.source_id}")
                for doc, dest in zip(documents, dests, strict=True) if links[doc.source_id]]
        # FILE_LANES downloads in flight, each lane taking every n-th file in turn: one at a
        # time, the store sent a file while Ferry waited, then Ferry hashed and sealed it while
        # the store waited (the extract's wall was the two CPUs' sum, one core idle)
        lanes = [jobs[i::FILE_LANES] for i in range(FILE_LANES) if jobs[i::FILE_LANES]]
        answers = await asyncio.gather(*(asyncio.to_thread(self.client.download_many, lane,
                                                           codec) for lane in lanes))
        merged: list[Any] = [None] * len(jobs)
        for i, answer in enumerate(answers):
            merged[i::FILE_LANES] = answer
        done = iter(merged)
        out: list[FileInfo | RecordError] = []
        for doc, dest in zip(documents, dests, strict=True):
            link = links[doc.source_id]
            got = next(done) if link else None
            if isinstance(got, RecordError):
                out.append(got)
                continue
            if isinstance(got, tuple):
                size, sha, ctype = got
                out.append(FileInfo(dest, size, sha, doc.mime_type or ctype))
                continue
            if link and not isinstance(got, Expired):
                self._links[doc.source_id] = link  # retried as it was, with backoff
            try:  # no link, or it failed: the single-file path (fresh links, backoff)
                out.append(await self.fetch_file(doc, dest, codec))
            except RecordError as err:
                out.append(err)
        return out

    async def fetch_file(self, document: Document, dest: Path, codec: object = None
                         ) -> FileInfo:
        """Stream the file from the link its listing gave (free: pre-signed links are outside
        the API allowance); a link that expired (403) or was never seen (a resumed run) is
        fetched fresh from ``/files/{id}``, which costs one request of the allowance."""
        ref = f"{SYSTEM}:document:{document.source_id}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        url = self._links.pop(document.source_id, None) or document.url
        # A fresh link can expire again before its download starts on a loaded machine (the
        # lifetime is short, and shorter still under a sandbox's time scale): refresh a few
        # times before giving up, since a file given up here is missing from the migration.
        for attempt in range(LINK_ATTEMPTS):
            if not url or attempt:
                try:
                    body, _ = await self.client.get_json(self.client.url(
                        f"files/{document.source_id}"))
                except NotFound:  # no single-file endpoint is documented
                    raise RecordError(ref, "url", "the file's link expired and PracticeHub "
                                      "offers no fresh one for a single file; extract again",
                                      system=SYSTEM) from None
                url = body.get("url") if isinstance(body, dict) else None
                if not url:
                    raise RecordError(ref, "url", "the source lists no link for this file",
                                      system=SYSTEM)
            try:
                size, sha, ctype = await self.client.download(url, dest, ref, codec)
            except Expired:
                continue
            return FileInfo(dest, size, sha, document.mime_type or ctype)
        raise RecordError(ref, "url", f"the file link was refused {LINK_ATTEMPTS} times, each"
                          " fresh; run `ferry extract` again to fetch it", system=SYSTEM)

    # -- check / describe ------------------------------------------------------------------------
    def check(self) -> list[CheckItem]:
        host = self.client.host
        parts = host.split(".")
        items = [CheckItem("base URL", host.endswith(".practicehub.io") and len(parts) == 4,
                           host, "use https://{account}.{region}.practicehub.io/api")]
        for i, key in enumerate(list(self.client.keys)):
            label = "API key" if len(self.client.keys) == 1 else f"API key {i + 1}"
            try:
                r = self.client.get_sync(self.client.url("practitioners"), {"page_size": 1},
                                         key=key)
            except Exception as exc:  # noqa: BLE001 - any failure to connect is the finding
                items.append(CheckItem("reachable", False, f"cannot reach {host}: "
                                       f"{type(exc).__name__}", "check base_url and network"))
                break
            msg = _message(r)
            if r.status_code == 404:
                items.append(CheckItem("account and region", False, msg,
                                       "check the account and region in base_url (the region "
                                       "seen in PracticeHub's docs is 'neptune')"))
                break
            if i == 0:
                items.append(CheckItem("account and region", True, host))
            if r.status_code == 401:
                items.append(CheckItem(label, False, msg, "create a key under Settings → "
                                       "Developers, and send x-app-details as name=email"))
            elif r.status_code == 429:
                items.append(CheckItem(label, True, "accepted (rate limited right now)"))
            else:
                items.append(CheckItem(label, r.status_code == 200, f"HTTP {r.status_code}"))
        if all(i.ok for i in items):
            items.append(self._timezone_item())
            absent = [o for o in OPTIONAL if not self._reachable(o)]
            items.append(CheckItem(
                "objects not reachable by API", True,
                ", ".join(sorted(absent)) + " (PracticeHub answers 404: no public document "
                "names these resources)" if absent else "none: every optional resource answers",
                UNREACHABLE_HOW if absent else ""))
        return items

    def _reachable(self, obj: str) -> bool:
        """Probe an optional resource once (one request); 404 means absent on this account."""
        if obj in self.absent:
            return False
        try:
            self.client.get_json_sync(self.client.url(RESOURCES[obj]), {"page_size": 1})
        except NotFound:
            self.absent.add(obj)
            return False
        return True

    def _timezone_item(self) -> CheckItem:
        """Appointment times come as practice-local wall time with no offset [code]: without
        the practice's zone they would shift by its UTC offset."""
        region = self.client.host.split(".")[1] if self.client.host.count(".") >= 3 else ""
        zone = self.decoder.tz.key if hasattr(self.decoder.tz, "key") else str(self.decoder.tz)
        if not self.timezone_set:
            return CheckItem("practice time zone", False, "not set: appointment times are "
                             "practice-local without an offset and would be read as UTC",
                             "set source.timezone in ferry.yaml to the practice's IANA zone "
                             "(e.g. Europe/London, Australia/Sydney)")
        hint = REGION_ZONES.get(region)
        if hint and not zone.startswith(hint):
            return CheckItem("practice time zone", False, f"{zone} is set but the account's "
                             f"region {region!r} suggests {hint}/…: ambiguous",
                             "confirm source.timezone with the practice")
        return CheckItem("practice time zone", True, f"{zone} (appointment times are read as "
                         "this zone's wall time and stored with their UTC offset)")

    def describe(self) -> list[ObjectInfo]:
        out = []
        for obj, resource in RESOURCES.items():
            if obj in OPTIONAL and not self._reachable(obj):
                out.append(ObjectInfo(name=obj, label=resource, count=0, reachable=False,
                                      note=UNREACHABLE_HOW))
                continue
            model = entity(obj)
            api = {v: k for k, v in API_FIELDS.get(obj, {}).items()}
            api.update(created_at="created", updated_at="updated")
            fields = [FieldSpec(name=f.name, kind=f.kind, label=f.label, key=api.get(f.name,
                      f.name), required=f.required, options=f.options, ref=f.ref,
                      writable=False, phi=f.phi) for f in fields_of(model)]
            count = None
            if self.describe_counts or obj == "patient":
                body = self.client.get_json_sync(self.client.url(resource), {
                    "page_size": 100 if obj == "patient" else 1})
                count = int(body.get("total_entries") or 0)
                if obj == "patient":
                    fields += _custom_specs(body.get("data") or [])
            out.append(ObjectInfo(name=obj, label=resource, fields=fields, count=count))
        return out

    def rate(self) -> RateInfo:
        return RateInfo(requests_per_second=1.0 * self.client.parallelism, page_size=100,
                        notes="1 request per second per account (PracticeHub docs)")

    async def aclose(self) -> None:
        await self.client.aclose()


class _Links(OrderedDict[str, str]):
    """Fresh file links of the pages read lately (bounded: an old link is expired anyway)."""

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        if len(self) > 20_000:
            self.popitem(last=False)


@cache
def _optional_refs(obj: str) -> dict[str, str]:
    """Reference fields of ``obj`` that point at an optional object: field → object."""
    model = entity(obj)
    out = {}
    for name in model.model_fields:
        info = field_info(model, name)
        if info.kind == Kind.REF and info.ref in OPTIONAL:
            out[name] = info.ref
    return out


@cache
def _optional_keys(obj: str) -> tuple[tuple[str, str], ...]:
    """(row key, optional object) of ``_optional_refs``: the API's name of each field."""
    names = {v: k for k, v in API_FIELDS.get(obj, {}).items()}
    return tuple((names.get(name, name), target) for name, target in _optional_refs(obj).items())


def _page_of(url: str | None) -> int | None:
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page")
    return int(values[0]) if values and values[0].isdigit() else None


def _message(response: Any) -> str:
    try:
        return str(response.json().get("error", ""))[:200] or f"HTTP {response.status_code}"
    except ValueError:
        return f"HTTP {response.status_code}"


def _custom_specs(rows: list[dict[str, Any]]) -> list[FieldSpec]:
    """Patient custom fields, as seen on the first page of patients (types as declared)."""
    seen: dict[str, FieldSpec] = {}
    for row in rows:
        for item in row.get("custom_fields") or []:
            key = str(item.get("key") or item.get("name"))
            if key not in seen:
                seen[key] = FieldSpec(name=f"custom.{key}", key=key, label=item.get("name") or key,
                                      kind=CUSTOM_KINDS.get(item.get("type"), Kind.TEXT),
                                      custom=True, options=item.get("options"), writable=False)
    return list(seen.values())
