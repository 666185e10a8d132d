"""Extract: pull a source into the staging store, page by page, resumable at any instant.

Each page is staged together with its checkpoint in one transaction (``StagingStore.put_page``),
so a run killed with SIGKILL resumes from the page after the last one staged: no page is fetched
twice and no record staged twice. Document content is streamed to ``files_dir`` as pages arrive.
Rows a source could not parse go to the skip table with their reason; the run goes on.
A file source's column placement is kept with the records it shaped (``placement``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ferry.connectors.base import Page, Source
from ferry.engine import placement
from ferry.errors import RecordError
from ferry.model.crypto import encrypt_file
from ferry.model.entities import Document
from ferry.model.staging import StagingStore

log = logging.getLogger("ferry.extract")


@dataclass
class ExtractStats:
    pages: int = 0
    staged: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    errors: int = 0  # rows that did not become records
    field_issues: int = 0  # records kept with a field left empty (bad value)
    duplicates: int = 0  # rows whose key an earlier row had (that row's record staged)
    verdicts: list[str] = field(default_factory=list)  # file-level findings (no values)
    #: object → why a delta pass could not see its deletions, and how to catch them
    deletions_unseen: dict[str, str] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0


def scope_for(object_name: str, since: dt.datetime | None, run_id: str = "") -> str:
    """Checkpoint scope: a full extract and each delta pass resume independently.

    A delta pass is keyed by its run (a resumed pass reuses its run), not by its ``since``:
    two passes can start from the same watermark, and the second must still read.
    """
    return f"extract:{object_name}" if since is None else f"delta:{object_name}:{run_id}"


def extract(source: Source, store: StagingStore, *, run_id: str,
            objects: list[str] | None = None, since: dt.datetime | None = None,
            files_dir: Path | None = None,
            on_page: Callable[[Page, ExtractStats], None] | None = None,
            since_by_object: dict[str, dt.datetime | None] | None = None) -> ExtractStats:
    """Run the async extraction to completion from synchronous code."""
    return asyncio.run(aextract(source, store, run_id=run_id, objects=objects, since=since,
                                files_dir=files_dir, on_page=on_page,
                                since_by_object=since_by_object))


async def aextract(source: Source, store: StagingStore, *, run_id: str,
                   objects: list[str] | None = None, since: dt.datetime | None = None,
                   files_dir: Path | None = None,
                   on_page: Callable[[Page, ExtractStats], None] | None = None,
                   since_by_object: dict[str, dt.datetime | None] | None = None
                   ) -> ExtractStats:
    """``since_by_object`` gives each object its own watermark (a delta pass)."""
    stats = ExtractStats()
    try:
        placements = placement.of_source(source)  # file sources: how the columns are placed
        reading = placement.reading_of(getattr(source, "settings", None))  # parse settings
        for obj in objects or list(source.objects):
            obj_since = since_by_object.get(obj) if since_by_object is not None else since
            digest = placement.digest_for(source, placements, store, obj)
            await _extract_object(source, store, obj, run_id, obj_since, files_dir, on_page,
                                  stats, digest, reading)
        for v in source.verdicts():  # file-level findings, kept with the run's problems
            stats.verdicts.append(v.reason)
            store.skip(run_id, v.ref, v.field, v.reason, "extract-verdict")
    finally:
        await source.aclose()
    return stats


async def _extract_object(source: Source, store: StagingStore, obj: str, run_id: str,
                          since: dt.datetime | None, files_dir: Path | None,
                          on_page: Callable[[Page, ExtractStats], None] | None,
                          stats: ExtractStats, digest: str | None = None,
                          reading: dict[str, Any] | None = None) -> None:
    reading = reading or {}
    if since is not None and not placement.full_read(since):
        unseen = source.unseen_deletions(obj)
        if unseen:
            stats.deletions_unseen[obj] = unseen
    scope = scope_for(obj, since, run_id)
    checkpoint = store.get_checkpoint(scope)
    moved = placement.stale(store, obj, digest, reading)
    if moved and placement.reading_changes(store, obj, reading) and since is not None:
        # a delta pass under other parse settings: every staged record was read otherwise,
        # so read them all (placed as now) rather than refuse or mix the two
        since = placement.EVERYTHING
    if checkpoint == "done":
        if not (moved and since is None):
            return
        # the last full read ended, but under another placement or other parse settings
        # than now (a column placed, ``timezone`` set since): read it again from the start
        checkpoint = None
    # a read from the start of everything re-places every record: one placement after it
    fresh = placement.full_read(since) and checkpoint is None
    started = checkpoint
    placement.before_read(store, obj, digest, full=placement.full_read(since))
    async for page in source.read(obj, checkpoint=checkpoint, since=since):
        for err in page.errors:
            twice = getattr(err, "duplicate", False)  # its key's first row was staged
            if getattr(err, "kept", False):
                stats.field_issues += 1
            elif twice:
                stats.duplicates += 1
            else:
                stats.errors += 1
            if isinstance(err, RecordError):
                # ``kept``: the record was staged with this field left empty (not a lost row)
                stage = "extract-field" if getattr(err, "kept", False) else \
                    "extract-duplicate" if twice else "extract"
                store.skip(run_id, err.ref, err.field, err.reason, stage)
            else:
                store.skip(run_id, f"{source.name}:{obj}:?", None, str(err), "extract")
        if files_dir is not None and obj == "document":
            await _fetch_files(source, store, page, files_dir, run_id, stats)
        token = "done" if page.done else page.checkpoint
        put = store.put_page(obj, page.records, scope, token, page.watermark,
                             listed=page.listed_ids)
        if page.deleted_ids:
            stats.deleted[obj] = stats.deleted.get(obj, 0) + store.mark_deleted(obj,
                                                                                 page.deleted_ids)
        if page.done and page.complete_listing:
            # no deletions list at the source: what its full listing no longer names is gone
            stats.deleted[obj] = stats.deleted.get(obj, 0) + store.mark_unlisted(obj, scope)
        stats.pages += 1
        stats.staged[obj] = stats.staged.get(obj, 0) + put.inserted + put.updated
        stats.unchanged[obj] = stats.unchanged.get(obj, 0) + put.unchanged
        if page.watermark and store.get_value(f"pending-watermark:{scope}") is None:
            store.set_value(f"pending-watermark:{scope}", page.watermark)
        if page.done:
            _promote_watermark(store, obj, scope)
            if fresh:
                _read_from_start(source, store, obj, run_id, digest, reading)
            elif page.every_row and started is None:
                # a delta pass of an export reads (and reports) every row again
                store.supersede_skips(f"{source.name}:{obj}:", run_id)
        if on_page:
            on_page(page, stats)
        if page.done:
            return
    # A source whose iterator simply ends has nothing more to give: close the scope all the same.
    store.set_checkpoint(scope, "done")
    _promote_watermark(store, obj, scope)
    if fresh:
        _read_from_start(source, store, obj, run_id, digest, reading)


def _read_from_start(source: Source, store: StagingStore, obj: str, run_id: str,
                     digest: str | None, reading: dict[str, Any]) -> None:
    """Every record of ``obj`` was read from the start in this run: its placement and parse
    settings are the staged records' now, and the row problems earlier reads reported of it
    are superseded (this read reported again those still there)."""
    placement.after_read_from_start(store, obj, digest, reading)
    store.supersede_skips(f"{source.name}:{obj}:", run_id)


def _promote_watermark(store: StagingStore, obj: str, scope: str) -> None:
    """The next delta starts from when this pass *began* reading the object, so a change made
    while later pages were read is picked up next time rather than missed."""
    pending = store.get_value(f"pending-watermark:{scope}")
    current = store.get_value(f"watermark:{obj}")
    if pending is not None and (current is None or str(pending) > str(current)):
        store.set_value(f"watermark:{obj}", pending)


def watermark(store: StagingStore, obj: str) -> str | None:
    value = store.get_value(f"watermark:{obj}")
    return None if value is None else str(value)


async def _fetch_files(source: Source, store: StagingStore, page: Page, files_dir: Path,
                       run_id: str, stats: ExtractStats) -> None:
    """Download each document of the page before the page is staged (so resume refetches
    at most one page of files) and record path, size and checksum on the staged record."""
    docs: list[Document] = []
    for rec in page.records:
        assert isinstance(rec, Document)
        docs.append(rec)
    got = await source.fetch_files(docs, [files_dir / f"{rec.source_id}.bin" for rec in docs],
                                   store.codec)
    kept = []
    for rec, info in zip(docs, got, strict=True):
        if isinstance(info, RecordError):
            store.skip(run_id, info.ref, info.field, info.reason, "extract-file")
            kept.append(rec)
            continue
        # at rest, files are as protected as payloads: sources write through ``FileWriter``,
        # which encrypts as it writes (this then only reads the file's magic)
        encrypt_file(info.path, store.codec)
        stats.files += 1
        stats.file_bytes += info.size
        kept.append(rec.model_copy(update={"local_path": str(info.path), "size": info.size,
                                           "sha256": info.sha256,
                                           "mime_type": rec.mime_type or info.mime_type}))
    page.records = kept  # type: ignore[assignment]
