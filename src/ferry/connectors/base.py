"""The seam every system plugs into: the Source and Destination interfaces.

The engine speaks only these types. A new system is one package under ``ferry.sources`` or
``ferry.destinations`` that subclasses ``Source`` / ``Destination`` and is named in
``registry.py``; nothing in the engine names a system. Behaviour differences are declared in
``Capabilities`` (the engine branches on those, never on a system's name).

Value shapes at the seam
------------------------
* Sources yield canonical records (``ferry.model.entities``), already validated.
* Destination payloads are ``{physical_field_name: plain value}``. Plain values are ``str``,
  ``int``, ``float``, ``Decimal``, ``bool``, ``datetime.date``, ``datetime.datetime`` (aware),
  ``list[str]`` (sets) or ``None``. Enum/set values are option *labels*; references are
  destination ids as ``str``. The connector shapes them as its API wants (Pipedrive email arrays,
  option ids, Odoo many2one ints, Salesforce CSV) and ``read`` shapes them back the same way, so
  what the engine wrote and what it reads back compare field by field.
* Physical field names are what ``describe()`` reports as ``FieldSpec.key`` (a Pipedrive hash
  key, a Salesforce ``__c`` API name, an Odoo ``x_`` name, or a standard field name).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ferry.errors import FerryError, RecordError
from ferry.model.entities import Document, Record
from ferry.model.fields import Kind, PhiClass

# ---------------------------------------------------------------------------------------------
# Shared descriptions


@dataclass
class FieldSpec:
    """One field of a source or destination object."""

    name: str  # logical name (source field path, or destination field label/name)
    kind: Kind
    label: str = ""
    key: str = ""  # physical key used in payloads; defaults to ``name``
    required: bool = False
    custom: bool = False
    max_length: int | None = None
    options: list[str] | None = None  # enum/set labels
    ref: str | None = None  # object a reference points at
    writable: bool = True
    external_id: bool = False  # can be used to find/upsert records by source id
    phi: PhiClass = PhiClass.NONE

    def __post_init__(self) -> None:
        self.key = self.key or self.name
        self.label = self.label or self.name


@dataclass
class ObjectInfo:
    """One object (type of record) of a system, with its fields."""

    name: str
    label: str = ""
    fields: list[FieldSpec] = field(default_factory=list)
    custom: bool = False
    count: int | None = None
    #: False when the source's API does not serve this object on this account (an optional
    #: resource answering 404); ``note`` then says how to bring its records another way
    reachable: bool = True
    note: str = ""

    def field(self, name_or_key: str) -> FieldSpec | None:
        for f in self.fields:
            if name_or_key in (f.name, f.key, f.label):
                return f
        return None


@dataclass
class CheckItem:
    """One line of ``ferry check``: what was checked, whether it passed, what to do if not."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""
    #: not ok, yet nothing is broken (e.g. no BAA yet: clinical data is held back): WARN, exit 0
    warn: bool = False

    @property
    def status(self) -> str:
        return "ok" if self.ok else "WARN" if self.warn else "FAIL"


@dataclass(frozen=True)
class RateInfo:
    """A system's published limits, for pacing and for the estimator."""

    requests_per_second: float | None = None  # steady-state ceiling per key/account
    burst: int | None = None  # requests allowed per ``burst_window_s``
    burst_window_s: float | None = None
    daily_budget: int | None = None  # tokens/requests per day, if any
    page_size: int = 100  # max records per list call
    batch_size: int = 1  # max records per create call
    notes: str = ""


# ---------------------------------------------------------------------------------------------
# Sources


@dataclass
class Page:
    """One page read from a source, with where to resume after it."""

    object: str
    records: list[Record]
    checkpoint: str  # opaque resume token for the *next* page; "" when done
    done: bool = False
    watermark: str | None = None  # source-side time of this read, for the next delta
    deleted_ids: list[str] = field(default_factory=list)
    errors: list[FerryError] = field(default_factory=list)  # RecordErrors of rows not parsed
    #: a source with no list of deletions reads every id instead: the ids of this page's rows
    #: (parsed or not), and on the last page ``complete_listing``; the engine then marks as
    #: deleted every staged record of the object that the whole listing did not name
    listed_ids: list[str] | None = None
    complete_listing: bool = False
    #: on the last page: this read gave every row of the object from its first, ``since`` or
    #: not (an export folder), with every problem of them: the problems earlier reads
    #: reported of the object are superseded
    every_row: bool = False


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    sha256: str
    mime_type: str | None = None


class Source(ABC):
    """A practice-management system we read from."""

    name: ClassVar[str]
    #: canonical objects this source can produce, in dependency order (parents first)
    objects: ClassVar[tuple[str, ...]]
    #: what a typical account or export stages, for an estimate from a practice's size alone
    #: (``ferry estimate --patients``); ``objects`` when None
    typical_objects: ClassVar[tuple[str, ...] | None] = None
    #: the practice's country (``options.phone_region``), given by the engine when it opens
    #: the source (``pipeline.open_source``): what a reader tells by country (a date's
    #: day/month order) it takes from this before any guess from the data
    phone_region: str | None = None

    @abstractmethod
    def check(self) -> list[CheckItem]:
        """Credentials, reachability, region: each as a CheckItem."""

    @abstractmethod
    def describe(self) -> list[ObjectInfo]:
        """Objects with their fields (standard and custom) and counts where cheap."""

    @abstractmethod
    def read(self, object_name: str, *, checkpoint: str | None = None,
             since: dt.datetime | None = None) -> AsyncIterator[Page]:
        """Pages of ``object_name`` from ``checkpoint`` on; only changes when ``since`` is set."""

    def unseen_deletions(self, object_name: str) -> str | None:
        """Why a delta (a read ``since`` a time) cannot see ``object_name``'s deletions at this
        source and how to catch them, or None when it can: the delta report says so per
        object rather than let a deleted record stay in the CRM silently."""
        return None

    async def fetch_file(self, document: Document, dest: Path, codec: object = None
                         ) -> FileInfo:
        """Stream a document's content to ``dest``; raise RecordError when it cannot be had.

        ``codec``: the store's payload codec; a file is written through
        ``crypto.FileWriter(dest, codec)`` so it reaches the disk already encrypted at rest."""
        raise NotImplementedError(f"{self.name} has no files")

    async def fetch_files(self, documents: list[Document], dests: list[Path],
                          codec: object = None) -> list[FileInfo | RecordError]:
        """A page's documents, each to its ``dests`` entry: its ``FileInfo``, or the
        ``RecordError`` that ``fetch_file`` raised for it (the others are still fetched). A
        source may fetch them in one worker call; by default, one ``fetch_file`` each."""
        out: list[FileInfo | RecordError] = []
        for doc, dest in zip(documents, dests, strict=True):
            try:
                out.append(await self.fetch_file(doc, dest, codec))
            except RecordError as err:
                out.append(err)
        return out

    def raw_columns(self, limit: int = 20
                    ) -> Mapping[str, Sequence[tuple[str, Sequence[str], str | None]]] | None:
        """An export's own columns, for the mapping proposer (``ferry map``): {object:
        [(header, up to ``limit`` sample cells, field the reader placed it in or None), ...]}.
        None for a source whose records come in a fixed, documented shape (an API)."""
        return None

    def held(self) -> list[tuple[str, str]]:
        """(file, why) for each file held back until a person names the object it holds;
        nothing is read from it meanwhile. Only export readers hold files."""
        return []

    def rate(self) -> RateInfo:
        return RateInfo()

    def verdicts(self) -> list[RecordError]:
        """File- or object-level findings about what was read (a file refused as not a table,
        no key column, no identity column, characters cleaned), each a RecordError whose ref
        names the file (``system:file:name``); the engine records them with the extract."""
        return []

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


# ---------------------------------------------------------------------------------------------
# Destinations


@dataclass(frozen=True)
class Capabilities:
    """What a destination can do; the engine branches on these, never on names."""

    custom_objects: bool = False
    custom_fields: bool = True
    pipelines: bool = False  # deals with pipelines/stages (Pipedrive, Odoo crm.stage)
    activity_types: bool = False
    native_upsert: bool = False  # create-or-update by external id in one call
    soft_delete: bool = False  # deleted records linger (e.g. 30 days) before purge
    max_file_bytes: int | None = None
    batch_create: int = 1
    #: records the engine hands to one ``create`` (0: ``batch_create``). A destination that
    #: makes one API call per record but runs several at once takes more than its batch, so a
    #: chunk's intents, and then its outcomes, share one transaction each
    create_group: int = 0
    batch_update: int = 1
    batch_delete: int = 1
    #: ``upload`` only opens and sizes its file (``open("rb")``, ``stat().st_size``): the engine
    #: hands it the stored file decrypted as it is read (``crypto.PlainView``), not a plain copy
    upload_reads_view: bool = False
    #: files the engine hands to one ``upload_many`` (1: one ``upload`` per file). Their
    #: intents, and then their outcomes, share one transaction each; the destination may
    #: look for them and send them in fewer calls
    upload_group: int = 1
    #: shapes a custom field's logical name into the physical one when known in advance
    custom_field_style: Literal["hash", "suffix__c", "prefix_x"] = "hash"


SchemaKind = Literal["custom_field", "custom_object", "pipeline", "stage", "activity_type"]


@dataclass(frozen=True)
class SchemaItem:
    """Something ``prepare`` must make exist in the destination."""

    kind: SchemaKind
    object: str  # object it belongs to (for fields/stages: owner object; pipeline: "deal")
    name: str  # logical name, stable across accounts (e.g. "ferry_source_id", "mrn")
    label: str
    field_kind: Kind | None = None
    options: tuple[str, ...] = ()
    parent: str | None = None  # stage → pipeline name; custom object field → object
    order: int = 0
    ref: str | None = None  # lookup fields: the object referenced
    external_id: bool = False


@dataclass(frozen=True)
class Provisioned:
    """Outcome of ensuring one SchemaItem: its physical key and whether we created it."""

    item: SchemaItem
    key: str  # physical key or id (hash key, API name, stage id …)
    created: bool
    option_ids: dict[str, str] = field(default_factory=dict)  # label → option id
    #: what else this ensure made that removing the item must remove too, e.g. the Salesforce
    #: permission set and assignment opened for the first new field: name → id
    also_made: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DestUser:
    id: str
    email: str
    name: str = ""
    active: bool = True


@dataclass(frozen=True)
class FileUpload:
    """One file of ``Destination.upload_many``: what ``upload`` takes, as one value."""

    parent_object: str
    parent_id: str
    path: Any  # a Path, or a ``crypto.PlainView`` (``Capabilities.upload_reads_view``)
    file_name: str
    mime_type: str | None
    extra: dict[str, Any] | None = None


class KeptAsText(RecordError):
    """A field the destination could not take its value in (a region its list lacks) and kept
    as written in another field of the same record, ``kept_in`` (Odoo: the contact's notes).
    The skip file lists it (stage ``load-kept``); the sample reads ``kept_in`` back and counts
    the field ``kept_as_text`` only when the text is there."""

    def __init__(self, ref: str, field: str | None, reason: str, kept_in: str,
                 **kw: Any) -> None:
        super().__init__(ref, field, reason, **kw)
        self.kept_in = kept_in


@dataclass
class WriteResult:
    """Outcome of one record's write: a destination id, or an error saying why not.

    ``field_errors`` (on success only): fields the destination left empty while writing the
    rest of the record (a reference it cannot resolve, such as a region Odoo does not list),
    each a ``RecordError`` naming the field and the reason, never the value. The engine writes
    them to the skip file (stage ``load-field``) and the sample diff counts them as explained.
    A ``KeptAsText`` among them: the value was kept as written in another field (stage
    ``load-kept``)."""

    ok: bool
    dest_id: str | None = None
    error: FerryError | None = None
    created: bool = False
    field_errors: list[FerryError] = field(default_factory=list)

    @classmethod
    def success(cls, dest_id: str, *, created: bool = False,
                field_errors: list[FerryError] | None = None) -> WriteResult:
        return cls(True, dest_id, None, created, list(field_errors or []))

    @classmethod
    def failure(cls, error: FerryError) -> WriteResult:
        return cls(False, None, error)


@dataclass(frozen=True)
class Cost:
    calls: int
    tokens: int = 0


@dataclass(frozen=True)
class Budget:
    """API budget left now; ``None`` where the system has no such limit."""

    remaining: int | None
    limit: int | None
    resets_at: float | None = None  # epoch seconds


class Destination(ABC):
    """A CRM we write into. Every method is synchronous and safe to call from one thread."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    @abstractmethod
    def check(self) -> list[CheckItem]: ...

    @abstractmethod
    def describe(self) -> list[ObjectInfo]:
        """Standard and custom fields of every writable object, with physical keys."""

    @abstractmethod
    def users(self) -> list[DestUser]: ...

    @abstractmethod
    def ensure(self, items: list[SchemaItem]) -> list[Provisioned]:
        """Make each item exist (idempotent: an existing one is found, not created again)."""

    @abstractmethod
    def remove(self, provisioned: Provisioned) -> None:
        """Undo one ``ensure`` that created something (rollback of schema). What is already
        gone (404/410, not found) counts as removed: a rollback killed after the destination
        applied a removal, before logging it, must be able to run again."""

    def remove_leftovers(self) -> list[str]:
        """Remove what ``ensure`` makes besides the items themselves (a Salesforce permission
        set and its assignment), found by its fixed name and Ferry's tag — not by the audit
        log, which misses it when ``prepare`` was killed before logging. Rollback calls it once
        the last ``prepare`` is undone. Returns ``object:id`` of what it removed."""
        return []

    def existing_schema(self, items: list[SchemaItem]) -> list[bool | None]:
        """For each item, whether it exists now (``None``: cannot tell). Read-only.

        ``prepare`` asks before it ensures anything and writes the answer into each intent, so
        an item made by an attempt killed before its outcome was logged is still known to be
        Ferry's (rollback removes it) rather than mistaken for the customer's own.
        """
        return [None] * len(items)

    @abstractmethod
    def find(self, object_name: str, id_field: str, source_ids: list[str]) -> dict[str, str]:
        """Destination ids of records whose ``id_field`` holds one of ``source_ids``."""

    @abstractmethod
    def create(self, object_name: str, rows: list[dict[str, Any]]) -> list[WriteResult]:
        """Create rows (batched as the API allows); one result per row, in order."""

    @abstractmethod
    def update(self, object_name: str, rows: list[tuple[str, dict[str, Any]]]
               ) -> list[WriteResult]:
        """Update ``(dest_id, fields)`` pairs; one result per pair, in order."""

    @abstractmethod
    def delete(self, object_name: str, dest_ids: list[str]) -> list[WriteResult]:
        """Delete by id; an id already gone (404/410, deleted) is a success: the goal is met."""

    @abstractmethod
    def read(self, object_name: str, dest_ids: list[str], fields: list[str] | None = None
             ) -> dict[str, dict[str, Any]]:
        """Read records back by id, values shaped as ``create`` accepts them."""

    def stored_form(self, object_name: str, key: str, value: Any, row: dict[str, Any]
                    ) -> Any:
        """``value`` as ``read`` will return it once ``create`` stored it (identity here).

        ``create`` may accept several spellings of one value while ``read`` can return only
        one — it cannot know which spelling was sent: Odoo takes a country as ``Spain`` or
        ``ES`` and reads it back as ``ES``. A destination like that overrides this so the sample
        diff (``ferry.engine.diff``) compares like with like. ``row`` is the whole payload sent
        (a state resolves within the row's country). Must not raise: a value it cannot
        resolve is returned unchanged; and should use cached look-ups, not an API call per
        value."""
        return value

    def kept_as_text(self, object_name: str, key: str) -> str | None:
        """The field of ``object_name`` where this destination keeps, as written, a value of
        ``key`` it cannot take (``KeptAsText``), so the sample can read it there; None (here):
        such a value is only left empty."""
        return None

    def design_rule(self, object_name: str, key: str, sent: Any, stored: Any, *,
                    row: dict[str, Any] | None = None) -> str | None:
        """The destination's own documented rule that turns ``sent`` into ``stored``, or None.
        ``row``: the record as read back (a field the destination derives from others).

        Some differences are the destination's design, not a fault: Salesforce keeps a file's
        name without its extension in ``ContentVersion.Title``; a checkbox is never empty, so
        an unsent boolean reads back ``False``. The sample diff counts such a difference as
        explained and names the rule; anything this does not name stays unexplained."""
        return None

    def stored_meaning(self, object_name: str, key: str, kind: str, row: dict[str, Any]
                       ) -> tuple[Any, str] | None:
        """What the stored value of ``key`` (in ``row``, as ``read`` returned it) means under
        this destination's documented semantics, and how it was read (words for the report,
        never the value): for ``kind`` ``datetime`` or ``date`` (the source field's canonical
        kind) an instant (aware, UTC) or a day (``date``), whichever the stored form holds; for
        ``money`` ``(amount, currency code or None)``. ``None``: not a value of that kind, or
        no documented reading. The sample diff compares it with the source's staged value
        whatever the map's transforms did (``ferry.connectors.meaning`` has the readings).
        Here: only forms that say their own meaning (an aware instant, a day, a number); a
        destination overrides it with its own rules (naive times, times split in two fields,
        the currency beside an amount)."""
        from ferry.connectors import meaning

        return meaning.reading(row.get(key), kind, instant_as="an instant with its offset",
                               naive_utc=False)

    @abstractmethod
    def iter_ids(self, object_name: str) -> Iterator[str]:
        """Every live record id of an object (for reconcile and rollback verification)."""

    def upload(self, parent_object: str, parent_id: str, path: Path, file_name: str,
               mime_type: str | None, extra: dict[str, Any] | None = None) -> WriteResult:
        """Attach a file to a record; files over ``max_file_bytes`` fail as RecordError.

        ``extra`` holds additional fields of the file record; keys starting with ``_`` are
        hints, not fields: ``_source_id`` lets a destination find the file after an
        interruption (``find``), ``_src_object`` names the source object.
        """
        raise NotImplementedError(f"{self.name} takes no files")

    def file_rename(self, object_name: str, file_name: str) -> dict[str, Any] | None:
        """The fields an ``update`` of an uploaded file (``object_name``) writes to give it
        ``file_name`` as ``upload`` would have named it (read back by ``read`` under the same
        keys), or None: the destination cannot rename a file without uploading it again."""
        return None

    def upload_many(self, files: list[FileUpload]) -> list[WriteResult]:
        """``upload`` of each file, a result per file in order (a file's RecordError is its
        failure). A destination with ``upload_group`` > 1 may do it in fewer calls."""
        out = []
        for f in files:
            try:
                out.append(self.upload(f.parent_object, f.parent_id, f.path,  # type: ignore[arg-type]
                                       f.file_name, f.mime_type, f.extra))
            except RecordError as err:
                out.append(WriteResult.failure(err))
        return out

    def find_upload(self, object_name: str, parent_object: str, parent_id: str,
                    source_id: str, file_name: str | None, size: int | None) -> str | None:
        """The file an interrupted ``upload`` of ``source_id`` left on its parent, if any.

        By the source-id tag ``upload`` stores with the file; a destination that can only tag
        a file in a second call also recognises an untagged file of that parent with this
        name and size (and tags it), so a resume never uploads the same file twice."""
        return self.find(object_name, "", [source_id]).get(source_id)

    def forget_lookups(self) -> None:  # noqa: B027 - optional hook
        """Drop what ``find`` / ``find_upload`` keep from earlier reads (an index of source
        ids), so the next look reads the destination again: a resume looks twice, and writes
        a killed process had sent may have landed in between."""

    def cost(self, op: str, object_name: str, n: int) -> Cost:
        """API calls (and tokens, where priced) that ``op`` on ``n`` records will take."""
        batch = {"create": self.capabilities.batch_create,
                 "update": self.capabilities.batch_update,
                 "delete": self.capabilities.batch_delete}.get(op, 1)
        return Cost(calls=-(-n // max(batch, 1)))

    def budget(self) -> Budget:
        return Budget(None, None)

    def rate(self) -> RateInfo:
        return RateInfo()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
