"""What one load (run, sample or delta pass) works with, and the lookups the mapping uses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ferry.connectors.base import Destination
from ferry.engine.dedup import survivor_of
from ferry.engine.owners import OwnerMatch
from ferry.mapping.compile import CompiledMap
from ferry.mapping.model import MappingDoc, ObjectMap
from ferry.model.audit import AuditLog
from ferry.model.entities import Record
from ferry.model.staging import StagingStore

#: a hold decides whether a record must wait (PHI review, BAA gate): it returns None (write it),
#: a reason to hold it, "excluded: <reason>" (a confirmed exclusion), or the record to write
#: instead (e.g. redacted)
Hold = Callable[[ObjectMap, Record], "str | Record | None"]


class StoreLookup:
    """Resolves references through the id map (following merges) and owners through matching."""

    def __init__(self, store: StagingStore, owners: OwnerMatch,
                 extracted: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.owners = owners
        #: set while extraction runs alongside: whether an object is completely staged
        self.extracted = extracted
        self._labels: dict[tuple[str, str], str | None] = {}
        self._counts: dict[str, int] = {}  # staged records per referenced object
        #: dry run: (object, source id, destination object) the run would create; references
        #: to them resolve (to a placeholder) as they will once the run has created them
        self.planned: dict[tuple[str, str], set[str]] = {}
        self._found: dict[tuple[str, str, str | None], str] = {}
        self._gone: set[tuple[str, str]] | None = None  # deleted at the source (read once)

    def label(self, src_object: str, source_id: str) -> str | None:
        """A staged record's display name, for ``{clinic_name}``-style template fields.

        Only the objects people are named by (clinics, practitioners, patients' own
        relations) have one; kept per lookup, as the same few clinics recur on every row.
        """
        key = (src_object, source_id)
        if key not in self._labels:
            if len(self._labels) > 10_000:
                self._labels.clear()
            staged = self.store.get(src_object, source_id)  # one deleted at the source is
            # named as a fresh migration names it: not at all (it is not listed there)
            self._labels[key] = self._named_by_reference(src_object, source_id) \
                if staged is None else None if staged.deleted else display_name(staged.record)
        return self._labels[key]

    def _named_by_reference(self, src_object: str, value: str) -> str | None:
        """An export without a file of ``src_object`` (no staff file) whose reference column
        holds the name itself (an appointment's ``Practitioner: Dr Hemi Walker``): the name,
        which no record of its own will ever carry. Not an id (digits) nor an orphan
        reference of an object the export does have records of."""
        name = value.strip()
        if not any(c.isalpha() for c in name) or any(c.isdigit() for c in name):
            return None
        if src_object not in self._counts:
            self._counts[src_object] = self.store.count(src_object, include_deleted=True)
        return name if self._counts[src_object] == 0 else None

    def dest_id(self, src_object: str, source_id: str, dest_object: str | None = None
                ) -> str | None:
        """The destination id a reference resolves to. Found ids are kept for the load (parents
        load before their children, and a mapped id does not change within a load): the same
        patients, practitioners and clinics recur on every row, two queries each."""
        key = (src_object, source_id, dest_object)
        hit = self._found.get(key)
        if hit is not None:
            return hit
        if self._deleted(src_object, source_id):
            # deleted at the source: a delta's load runs before its deletions, and a reference
            # to the record resolved to its destination record, about to go (a fold of the
            # relationships named the deleted patient's person); a fresh run does not list it
            return None
        found = self._resolve(src_object, source_id, dest_object)
        if found is not None and not self.planned:
            if len(self._found) >= 100_000:
                self._found.clear()
            self._found[key] = found
        return found

    def gone(self, src_object: str, source_id: str) -> bool:
        """Whether a referenced record is not at the source: staged as deleted there (a delta),
        or not listed by it at all once its object is completely staged (a fresh migration of
        a source that deleted it, or a reference to a record the source never had). A record
        the source holds with no destination record yet (held, skipped, still to come) is not
        gone: a record linking to it waits for it (``waiting``)."""
        if self._deleted(src_object, source_id):
            return True
        if self.extracted is not None and not self.extracted(src_object):
            return False
        return self.store.get(src_object, source_id) is None

    def _deleted(self, src_object: str, source_id: str) -> bool:
        if self._gone is None:
            self._gone = {(str(o), str(i)) for o, i in self.store.conn.execute(
                "SELECT object, source_id FROM records WHERE deleted=1")}
        return (src_object, source_id) in self._gone

    def _resolve(self, src_object: str, source_id: str, dest_object: str | None) -> str | None:
        survivor = survivor_of(self.store, src_object, source_id)
        found = self.store.dest_id(src_object, survivor or source_id, dest_object)
        if found is None and self.planned:
            targets = self.planned.get((src_object, survivor or source_id), set())
            if targets and (dest_object is None or dest_object in targets):
                return f"(planned {src_object}:{survivor or source_id})"
        return found

    def owner(self, practitioner_source_id: str | None) -> str | None:
        return self.owners.owner(practitioner_source_id)


def display_name(record: Record) -> str | None:
    """What a person reads a record as: a name, else a title; ``None`` if it has neither."""
    name = getattr(record, "name", None)
    if isinstance(name, str) and name.strip():
        return name.strip()
    parts = [getattr(record, f, None) for f in ("title", "first_name", "last_name")]
    if parts[1] or parts[2]:
        return " ".join(str(p) for p in parts if p) or None
    title = getattr(record, "title", None)
    return str(title) if title else None


@dataclass
class MapStats:
    """Outcome counts of one object map; their sum is every record the map looked at."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    folded: int = 0
    uploaded: int = 0
    deleted: int = 0
    merged: int = 0
    excluded: int = 0
    held: int = 0
    skipped: int = 0
    #: delta: records an earlier pass could not link (their parent had no destination record),
    #: unchanged at the source, retried and still without that parent: they wait on, their
    #: earlier skip standing; not a skip of this pass (``LoadContext.unlinked``)
    waiting: int = 0
    #: practitioners with no destination user: nothing to write, and the records they own go
    #: to the fallback owner — a finding for the report, not a skip
    fallback: int = 0
    plan: Counter[str] = field(default_factory=Counter)
    #: dry run only: why records would be skipped, held or excluded (a run logs them instead)
    reasons: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k not in ("plan", "reasons")}
        if self.plan:
            d["plan"] = dict(self.plan)
        if self.reasons:
            d["reasons"] = dict(self.reasons.most_common())
        return d


@dataclass
class LoadContext:
    store: StagingStore
    audit: AuditLog
    dest: Destination
    doc: MappingDoc
    compiled: dict[str, CompiledMap]
    owners: OwnerMatch
    run_id: str
    batch_size: int = 100
    dry_run: bool = False
    only: set[tuple[str, str]] | None = None  # (object, source_id) of a sample
    changed_since: str | None = None  # delta: only records staged after this instant
    #: delta: source object → ids to load again although unchanged (held, or a missing parent)
    retry: dict[str, set[str]] | None = None
    #: delta: of ``retry``, those retried because their parent had no destination record (the
    #: load drops the ones the source changed in this pass: their skip would be news)
    unlinked: dict[str, set[str]] | None = None
    hold: Hold | None = None
    #: set while extraction runs alongside: tells whether an object is completely staged
    extracted: Callable[[str], bool] | None = None
    progress: Callable[[str, int, int], None] | None = None  # (map name, done, total)
    #: the project's private folder for plain copies of files being uploaded (never TMPDIR)
    tmp_dir: Path | None = None
    stats: dict[str, MapStats] = field(default_factory=dict)

    def stat(self, name: str) -> MapStats:
        return self.stats.setdefault(name, MapStats())

    @cached_property
    def lookup(self) -> StoreLookup:
        return StoreLookup(self.store, self.owners, self.extracted)

    def selected(self, object_name: str, source_id: str) -> bool:
        return self.only is None or (object_name, source_id) in self.only
