"""FHIR R4 Bulk Data source: NDJSON files (a folder, or an export pulled from a server).

In ``server`` mode a read first runs (or reuses) a bulk export into the work folder: the files
land as ``{Type}.{n}.ndjson`` beside the manifest, which is written last, so a folder with a
manifest is complete. Then both modes read the same way: per object, the files of its resource
types, streamed line by line. The checkpoint names the export, the file and the byte offset.

Delta pickup (NOTES §4): the manifest's ``transactionTime`` is each page's ``watermark``; a read
with ``since`` kicks off ``$export?_since=`` and reports the manifest's ``deleted`` entries as
``Page.deleted_ids``. A folder without a server filters on ``meta.lastUpdated`` instead.

A full export (its manifest's request has no ``_since``, ``_until`` or ``_typeFilter``, and
names every resource type of the object) holds every resource there is, so a read of it lists
every id (``Page.listed_ids``, ``complete_listing``): what a newer full export dropped into the
folder no longer has is deleted at the delta, as the clinic export reader does. A line whose id
cannot be read leaves that read's listing incomplete (nothing deleted by absence), and so does a
folder with no manifest (whether it is a full export is not known) or with no file of the
object's types.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import shutil
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from ferry.connectors import walltime
from ferry.connectors.base import CheckItem, FieldSpec, FileInfo, ObjectInfo, Page, Source
from ferry.connectors.http import acall_with_retry
from ferry.errors import ConfigError, FerryError, RecordError
from ferry.model.crypto import FileWriter
from ferry.model.entities import ENTITIES, Document, Record, parse_record
from ferry.model.fields import fields_of
from ferry.sources.clinic_csv.rows import RowError
from ferry.sources.fhir_bulk.fhirvals import BadResource, rid
from ferry.sources.fhir_bulk.index import INDEXED, FactIndex, enrich_patient, enrich_practitioner
from ferry.sources.fhir_bulk.ndjson import Line, deleted_refs, read_lines, type_of_file
from ferry.sources.fhir_bulk.resources import ISSUES, KNOWN, MAPPERS, TYPES_FOR

OBJECTS = ("clinic", "practitioner", "patient", "patient_relationship", "practitioner_patient",
           "appointment", "clinical_note", "treatment_record", "insurance_policy",
           "prescription", "invoice", "document")
#: deleted resource type → objects its ids may be in (and how the id is written there)
DELETED_TO: dict[str, tuple[str, ...]] = {}
for _obj, _types in TYPES_FOR.items():
    for _t in _types:
        DELETED_TO[_t] = (*DELETED_TO.get(_t, ()), _obj)


class FhirBulkSource(Source):
    name: ClassVar[str] = "fhir_bulk"
    objects: ClassVar[tuple[str, ...]] = OBJECTS

    def __init__(self, settings: Any, workdir: Path, transport: Any = None) -> None:
        self.settings = settings
        self._tz = ZoneInfo(settings.timezone) if settings.timezone else None
        self.workdir = Path(workdir)
        self.transport = transport
        self._exports: dict[str, Path] = {}
        self._reported_files = False
        self._index: FactIndex | None = None

    # -- where the files are -----------------------------------------------------------------

    def _client(self) -> Any:
        from ferry.sources.fhir_bulk.client import BulkClient

        token = os.environ.get(self.settings.token_env) if self.settings.token_env else None
        if self.settings.token_env and not token:
            raise ConfigError(f"environment variable {self.settings.token_env} is not set")
        return BulkClient(self.settings.base_url, token=token, transport=self.transport,
                          time_scale=self.settings.time_scale)

    async def folder(self, since: dt.datetime | None = None, export: str | None = None) -> Path:
        if self.settings.mode == "folder":
            return Path(self.settings.path).expanduser()
        root = self.workdir / "fhir_bulk"
        if export and (root / export / "manifest.json").exists():
            return root / export
        key = since.isoformat() if since else "full"
        if key not in self._exports:
            self._exports[key] = await self._run_export(root, since)
        return self._exports[key]

    async def _run_export(self, root: Path, since: dt.datetime | None) -> Path:
        client = self._client()
        try:
            stamp = since.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if since else None
            status = await acall_with_retry(lambda: client.kickoff(
                types=self.settings.types or None, group=self.settings.group_id, since=stamp))
            manifest = await client.wait(status)
            tag = hashlib.sha256(f"{manifest.transaction_time}|{since}".encode()).hexdigest()[:12]
            target = root / f"export-{tag}"
            if (target / "manifest.json").exists():
                return target
            part = root / f"export-{tag}.part"
            shutil.rmtree(part, ignore_errors=True)
            part.mkdir(parents=True)
            for group, files in (("", manifest.output), ("deleted", manifest.deleted),
                                 ("error", manifest.error)):
                for n, f in enumerate(files):
                    stem = group or f.type or "Unknown"
                    await client.download(f, part / f"{stem}.{n:03d}.ndjson",
                                          token_required=manifest.requires_access_token)
            (part / "manifest.json").write_text(json.dumps({
                "transactionTime": manifest.transaction_time, "request": manifest.request,
                "requiresAccessToken": manifest.requires_access_token}))
            shutil.rmtree(target, ignore_errors=True)
            part.rename(target)
            return target
        finally:
            await client.aclose()

    @staticmethod
    def files(folder: Path) -> list[tuple[str | None, Path]]:
        out = []
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.suffix in (".ndjson", ".jsonl") and not p.name.startswith(
                    ("deleted", "error", "outcome")):
                out.append((type_of_file(p), p))
        return out

    @staticmethod
    def watermark(folder: Path) -> str:
        m = folder / "manifest.json"
        if m.exists():
            return str(json.loads(m.read_text()).get("transactionTime"))
        return dt.datetime.now(dt.UTC).isoformat()

    def _file_errors(self, folder: Path, files: list[tuple[str | None, Path]]
                     ) -> list[FerryError]:
        """Problems no object's read would meet: unknown-type files, server error files."""
        if self._reported_files:
            return []
        self._reported_files = True
        out: list[FerryError] = []
        for rtype, path in files:
            if rtype not in KNOWN:
                out.extend(e for e in read_lines(path, system=self.name, object_name="unknown",
                                                 expect=None, known=frozenset())
                           if isinstance(e, RecordError))
        for path in sorted(folder.glob("error*.ndjson")) + sorted(folder.glob("outcome*.ndjson")):
            with path.open("rb") as f:
                for n, _ in enumerate(f, 1):
                    out.append(RowError(self.name, "export", path.name, n, None, None,
                                        "the server reported an OperationOutcome for the export"))
        return out

    def _facts(self, folder: Path, files: list[tuple[str | None, Path]]) -> tuple[
            FactIndex | None, list[FerryError]]:
        if not any(t in INDEXED for t, _ in files):
            return None, []  # nothing to fold in: no index to build
        if self._index is None:
            self._index = FactIndex(self.workdir / "fhir_bulk" / "facts.sqlite")
        sig = hashlib.sha256(json.dumps([(str(p), p.stat().st_size, p.stat().st_mtime_ns)
                                         for _, p in files]).encode()).hexdigest()
        errors = self._index.build([(t, p) for t, p in files if t], sig, system=self.name,
                                   known=KNOWN)
        return self._index, errors

    # -- Source ------------------------------------------------------------------------------

    def check(self) -> list[CheckItem]:
        s = self.settings
        if s.mode == "folder":
            ok = Path(s.path).expanduser().is_dir()
            return [CheckItem("NDJSON folder", ok, "" if ok else "folder not found",
                              "" if ok else "set source.path")]
        try:  # the run's own async client and transport (a sync get cannot take it)
            client = self._client()
        except ConfigError as exc:
            return [CheckItem("FHIR server reachable", False, str(exc), "set the token")]
        return [asyncio.run(self._check_metadata(client))]

    @staticmethod
    async def _check_metadata(client: Any) -> CheckItem:
        import httpx

        try:
            r = await client.http.get("/metadata", timeout=15)
            ok = r.status_code == 200
            return CheckItem("FHIR server reachable", ok, f"status {r.status_code}",
                             "" if ok else "check base_url and the token")
        except httpx.HTTPError as exc:
            return CheckItem("FHIR server reachable", False, type(exc).__name__,
                             "check base_url")
        finally:
            await client.aclose()

    def describe(self) -> list[ObjectInfo]:
        folder = asyncio.run(self.folder()) if self.settings.mode == "folder" else None
        counts: dict[str, int] = {}
        if folder is not None:
            for rtype, path in self.files(folder):
                with path.open("rb") as f:
                    counts[rtype or "?"] = counts.get(rtype or "?", 0) + sum(1 for _ in f)
        out = []
        for obj in self.objects:
            specs = [FieldSpec(fi.name, fi.kind, ref=fi.ref, phi=fi.phi)
                     for fi in fields_of(ENTITIES[obj])]
            n = sum(counts.get(t, 0) for t in TYPES_FOR[obj])
            out.append(ObjectInfo(obj, obj.replace("_", " "), specs, count=n if folder else None))
        return out

    async def read(self, object_name: str, *, checkpoint: str | None = None,
                   since: dt.datetime | None = None) -> AsyncIterator[Page]:
        cp = json.loads(checkpoint) if checkpoint else {}
        folder = await self.folder(since, cp.get("export"))
        export = folder.name if self.settings.mode == "server" else None
        wm = self.watermark(folder)
        files = self.files(folder)
        wanted = TYPES_FOR.get(object_name, ())
        mine = [(t, p) for t, p in files if t in wanted]
        errors: list[FerryError] = [] if cp else self._file_errors(folder, files)
        deleted = [] if cp else self._deleted(folder, object_name)
        index = None
        if object_name in ("patient", "practitioner"):
            index, more = self._facts(folder, files)
            if object_name == "patient" and not cp:
                errors.extend(e for e in more if isinstance(e, RowError))
        filter_since = since if self.settings.mode == "folder" else None
        names = [p.name for _, p in mine]
        start = names.index(cp["file"]) if cp.get("file") in names else 0
        size = self.settings.page_size
        records: list[Record] = []
        # every id is listed, read or not; a read from the start of a full export is complete
        listed: list[str] = []
        # (a server export of ours is a full one only when no ``since`` asked for changes)
        whole = (not cp and bool(mine) and self.full_export(folder, object_name, mine)
                 and (self.settings.mode == "folder" or since is None))
        for n, (rtype, path) in enumerate(mine[start:], start):
            resume = n == start and cp.get("file") == path.name
            offset, line = (cp["offset"], cp["line"]) if resume else (0, 1)
            assert rtype is not None
            pending: list[tuple[Line, dict[str, Any]]] = []
            for item in read_lines(path, system=self.name, object_name=object_name,
                                   expect=rtype, known=KNOWN, start=offset, line=line):
                if isinstance(item, RowError):
                    errors.append(item)
                    whole = False  # a line whose id is not read: it may be the object's
                else:
                    try:
                        mapped = MAPPERS[rtype](item.resource)
                    except (BadResource, TypeError, AttributeError, KeyError, ValueError,
                            ArithmeticError) as exc:  # odd shapes must not stop the read
                        element = exc.element if isinstance(exc, BadResource) else None
                        errors.append(RowError(self.name, object_name, path.name, item.line,
                                               None, element, "resource shape is not valid R4"
                                               + (f" ({exc.reason})" if isinstance(
                                                   exc, BadResource) else "")))
                        mapped = []
                        if object_name == "practitioner_patient":
                            whole = False  # its ids come from the resource's content
                        elif isinstance(item.resource.get("id"), str):
                            listed.append(rid(rtype, item.resource["id"]))
                    voided = item.resource.get("status") == "entered-in-error"
                    for obj, data in mapped:
                        if obj == object_name and voided:
                            # R4: it "should not have been part of this patient's record":
                            # never migrated and not listed, so a delta takes out one an
                            # earlier run wrote
                            errors.append(RowError(self.name, object_name, path.name,
                                                   item.line, None, "status", ENTERED_IN_ERROR,
                                                   str(data.get("source_id"))))
                        elif obj == object_name:
                            issues = settle_naive(data, self._tz, self.name, object_name,
                                                  path.name, item.line)
                            errors += issues
                            if all(getattr(e, "kept", False) for e in issues):
                                pending.append((item, data))
                            else:  # refused: in the export all the same
                                listed.append(str(data.get("source_id")))
                    offset, line = item.end, item.line + 1
                if len(pending) + len(errors) >= size:
                    listed += (str(d["source_id"]) for _, d in pending)
                    records += self._finish(object_name, path, pending, errors, index,
                                            filter_since)
                    cpn = {"export": export, "file": path.name, "offset": offset, "line": line}
                    yield Page(object_name, records, json.dumps(cpn), watermark=wm,
                               deleted_ids=deleted, errors=errors, listed_ids=listed)
                    records, errors, deleted, pending, listed = [], [], [], [], []
                    await asyncio.sleep(0)
            listed += (str(d["source_id"]) for _, d in pending)
            records += self._finish(object_name, path, pending, errors, index, filter_since)
        yield Page(object_name, records, "", done=True, watermark=wm, deleted_ids=deleted,
                   errors=errors, listed_ids=listed, complete_listing=whole)

    @staticmethod
    def full_export(folder: Path, obj: str, mine: list[tuple[str | None, Path]]) -> bool:
        """Whether the folder's export holds every resource of ``obj``'s types: its manifest's
        request asked for no changes-only, time-bounded or filtered subset, (for a patient- or
        group-level export) the object lives in the patient compartment, and the folder has as
        many files of each of those types as the manifest's ``output`` lists (a file not
        copied in would otherwise read as all its resources deleted)."""
        m = folder / "manifest.json"
        if not m.exists():
            return False
        try:
            manifest = json.loads(m.read_text())
            request = str(manifest.get("request") or "")
            output = [o for o in manifest.get("output") or [] if isinstance(o, dict)]
        except (ValueError, AttributeError):
            return False
        for rtype in TYPES_FOR.get(obj, ()):
            if sum(o.get("type") == rtype for o in output) > sum(t == rtype for t, _ in mine):
                return False
        if not request:
            return False
        url = urllib.parse.urlsplit(request)
        query = urllib.parse.parse_qs(url.query)
        if {"_since", "_until", "_typeFilter"} & query.keys():
            return False
        if "_type" in query:
            asked = {t.strip() for v in query["_type"] for t in v.split(",")}
            if not set(TYPES_FOR.get(obj, ())) <= asked:
                return False
        if "/Patient/$export" in url.path or "/Group/" in url.path:
            return obj not in ("clinic", "practitioner")  # outside the patient compartment
        return True

    def _finish(self, obj: str, path: Path, pending: list[tuple[Line, dict[str, Any]]],
                errors: list[FerryError], index: FactIndex | None,
                since: dt.datetime | None) -> list[Record]:
        if index is not None and pending:
            found = index.lookup([d["source_id"] for _, d in pending])
            enrich = enrich_patient if obj == "patient" else enrich_practitioner
            for _, d in pending:
                if d["source_id"] in found:
                    enrich(d, found[d["source_id"]])
        out = []
        for line, data in pending:
            if obj == "document" and not data.get("url"):
                data["url"] = f"ndjson:{path.name}:{line.start}"
            try:
                rec = parse_record(obj, data, system=self.name)
            except RecordError as exc:
                errors.append(RowError(self.name, obj, path.name, line.line, None, exc.field,
                                       f"{exc.field}: {exc.reason}", str(data.get("source_id"))))
                continue
            if since is None or (rec.updated_at or since) >= since:
                out.append(rec)
        return out

    def _deleted(self, folder: Path, obj: str) -> list[str]:
        from ferry.sources.fhir_bulk.fhirvals import rid

        out = []
        for path in sorted(folder.glob("deleted*.ndjson")):
            for rtype, id_ in deleted_refs(path):
                if obj in DELETED_TO.get(rtype, ()):
                    out.append(rid(rtype, id_))
        return out

    async def fetch_file(self, document: Document, dest: Path, codec: object = None
                         ) -> FileInfo:
        """Written through ``FileWriter``: hashed (and encrypted) as the bytes arrive."""
        url = document.url or ""
        ref = f"{self.name}:document:{document.source_id}"
        if url.startswith("ndjson:"):
            _, fname, offset = url.split(":", 2)
            folder = await self.folder()
            with (folder / fname).open("rb") as f:
                f.seek(int(offset))
                res = json.loads(f.readline())
            att = ((res.get("content") or [{}])[0]).get("attachment") or {}
            if not att.get("data"):
                raise RecordError(ref, "url", "attachment has neither data nor url")
            with FileWriter(dest, codec) as out:
                out.write(base64.b64decode(att["data"]))
                out.commit()
        elif url and (self.settings.mode == "server" or (
                _on_server(url) and self.settings.base_url)):
            # a folder's attachment may name its Binary on the EHR's server (the usual way a
            # Bulk export carries files): fetched from there when base_url is set
            from ferry.sources.fhir_bulk.client import OutputFile

            client = self._client()
            try:
                with FileWriter(dest, codec) as out:
                    await client.download(OutputFile("Binary", url), dest, token_required=True,
                                          writer=out)
            finally:
                await client.aclose()
        elif url and self.settings.mode == "folder":
            if _on_server(url):
                raise RecordError(ref, "url", "attachment is on the EHR's server, not in the"
                                  " folder: set source base_url (and token_env) to fetch it")
            src = (Path(self.settings.path) / url).resolve()
            if not src.is_file() or Path(self.settings.path).resolve() not in src.parents:
                raise RecordError(ref, "url", "attachment file not found in the export folder")
            with FileWriter(dest, codec) as out, src.open("rb", buffering=0) as fh:
                out.fill_from(fh.readinto)  # straight into the writer's chunk buffer
                out.commit()
        else:
            raise RecordError(ref, "url", "document has no content location")
        return FileInfo(dest, out.size, out.sha256, document.mime_type)

    async def aclose(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None


def _on_server(url: str) -> bool:
    return urllib.parse.urlsplit(url).scheme in ("http", "https")


ENTERED_IN_ERROR = ("marked entered-in-error at the source (FHIR: it should never have been part"
                    " of the record): not migrated")
NO_OFFSET = ("a date-time with a clock time but no UTC offset, which FHIR R4 does not allow:"
             " not guessed; set source.timezone to the practice's zone to read it as the"
             " practice's clock")


def settle_naive(data: dict[str, Any], tz: dt.tzinfo | None, system: str, obj: str, file: str,
                 line: int) -> list[FerryError]:
    """List what the mapper could not read (``resources.ISSUES``), then read in place each
    clock time the resource gave without an offset (``fhirvals.instant``
    leaves them naive): in ``tz`` by ``walltime``'s stated rule, listed when it falls in an
    hour the clocks repeat or skip. With no ``tz`` an optional field is left out and listed,
    and the record refused (an error not ``kept``) when the field is one it cannot lack. The
    list names the record and field, never the value."""
    out: list[FerryError] = []
    for key, why in data.pop(ISSUES, ()):
        issue = RowError(system, obj, file, line, None, key, why, str(data.get("source_id")))
        issue.kept = True  # type: ignore[attr-defined]
        out.append(issue)
    model = ENTITIES[obj]
    for key, value in list(data.items()):
        if not isinstance(value, dt.datetime) or value.tzinfo is not None:
            continue
        kept = True
        if tz is None:
            del data[key]
            kept = key not in model.model_fields or not model.model_fields[key].is_required()
            why = NO_OFFSET + ("; the field is left empty, the record is kept" if kept else
                               "; the record is refused until then")
        else:
            data[key], kind = walltime.reading(value, tz)
            if kind is None:
                continue
            why = walltime.reason(kind) + "; the record is kept"
        issue = RowError(system, obj, file, line, None, key, why, str(data.get("source_id")))
        issue.kept = kept  # type: ignore[attr-defined]
        out.append(issue)
    return out
