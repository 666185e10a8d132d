"""The emulated account's data: compact pre-rendered rows, indexed for paging and ``updated``.

Why this shape: a 20,000-patient practice has several hundred thousand related rows. Holding
them as pydantic records would cost gigabytes, so each row is rendered once to JSON bytes and a
page is the concatenation of 100 of them. Rows are kept in ascending id order (the order the API
pages in), which keeps page boundaries stable while records are added (new ids go last) and makes
an ``updated`` filter's result only grow while it is paged. Canonical records are regenerated
from the seed on demand (the generator is deterministic), except for rows the mutation mode made,
which are kept as records so ``/_sandbox/state`` can show what the sandbox now holds.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ferry.model.entities import Record
from ferry.sandbox.practicehub.rules import (
    OBJECT_RESOURCE,
    RESOURCES,
    api_id,
    mutable_field,
    render,
)

#: [code] "the same id can appear twice in one list, for example a cancelled copy of a slot":
#: every appointment whose id is a multiple of this is listed twice, the copy right after it
DUPLICATE_EVERY = 23


def _dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _ts(value: dt.datetime | None) -> float:
    return value.timestamp() if value is not None else 0.0


def _clock_changes(tz: dt.tzinfo, before: dt.datetime
                   ) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The last instants (UTC) before ``before`` when ``tz``'s clocks went back and forward."""
    back = forward = None
    t = before.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
    for _ in range(24 * 400):
        prev = t - dt.timedelta(hours=1)
        a, b = prev.astimezone(tz).utcoffset(), t.astimezone(tz).utcoffset()
        if a is not None and b is not None and a != b:
            if b < a and back is None:
                back = t
            elif b > a and forward is None:
                forward = t
            if back is not None and forward is not None:
                break
        t = prev
    return back, forward


def _key(rid: int | str) -> tuple[int, int | str]:
    """Sort key: integer ids numerically, then any textual ids."""
    return (0, rid) if isinstance(rid, int) else (1, rid)


@dataclass
class Table:
    """One resource: its rows (JSON bytes) in id order, their update times and deletions."""

    resource: str
    obj: str
    keys: list[tuple[int, int | str]] = field(default_factory=list)
    rows: dict[int | str, bytes] = field(default_factory=dict)
    updated: dict[int | str, float] = field(default_factory=dict)
    deleted: list[tuple[int | str, float]] = field(default_factory=list)
    #: ids listed twice (PracticeHub's repeated appointment rows)
    repeats: set[int | str] = field(default_factory=set)
    changed: dict[int | str, Record] = field(default_factory=dict)  # made by mutation mode
    version: int = 0
    _filter_cache: dict[tuple[float, int], list[int | str]] = field(default_factory=dict)

    def put(self, rid: int | str, row: bytes, updated: float) -> None:
        if rid not in self.rows:
            k = _key(rid)
            if not self.keys or k > self.keys[-1]:
                self.keys.append(k)
            else:
                bisect.insort(self.keys, k)
        self.rows[rid] = row
        self.updated[rid] = updated
        self.version += 1

    def remove(self, rid: int | str, at: float) -> None:
        if rid in self.rows:
            self.keys.pop(bisect.bisect_left(self.keys, _key(rid)))
            del self.rows[rid]
            del self.updated[rid]
            self.changed.pop(rid, None)
            self.deleted.append((rid, at))
            self.version += 1

    def ids(self, since: float | None) -> list[int | str]:
        """Ids in page order; with ``since``, only rows updated at or after it."""
        cache_key = (-1.0 if since is None else since, self.version)
        hit = self._filter_cache.get(cache_key)
        if hit is None:
            hit = [k[1] for k in self.keys if since is None or self.updated[k[1]] >= since]
            if self.repeats:
                hit = [r for rid in hit for r in ((rid, rid) if rid in self.repeats else (rid,))]
            if since is not None:  # keep the full list and the newest filtered query
                self._filter_cache = {k: v for k, v in self._filter_cache.items() if k[0] < 0
                                      and k[1] == self.version}
            self._filter_cache[cache_key] = hit
        return hit

    def deleted_since(self, since: float | None) -> list[tuple[int | str, float]]:
        return [d for d in self.deleted if since is None or d[1] >= since]

    def max_int_id(self) -> int:
        ints = [k[1] for k in self.keys[-1:] if k[0] == 0]
        return int(ints[0]) if ints else 0


class PracticeState:
    """Every resource of the one emulated account, built from the synthetic practice."""

    def __init__(self, seed: int, patients: int, dirt: Any = None, *,
                 timezone: str = "Europe/London", surface: str = "documented",
                 doc_size_scale: float = 1.0, dst_edges: bool = False) -> None:
        self.seed = seed
        self.patients = patients
        self.dirt = dirt
        self.doc_size_scale = doc_size_scale
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.surface = surface
        self.dst_edges = dst_edges
        #: appointment ids planted on the zone's clock changes (``dst_edges``), by what they show
        self.edges: dict[str, int | str] = {}
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        from ferry.sandbox.synth import Practice

        with self.lock:
            kw = {"dirt": self.dirt} if self.dirt is not None else {}
            self.practice = Practice(self.seed, self.patients,  # visits in the account's hours
                                     doc_size_scale=self.doc_size_scale,
                                     timezone=self.timezone, **kw)
            self.tables: dict[str, Table] = {}
            self.mutations = 0
            self.methods: dict[str, int] = {}
            objects = set(self.practice.objects())
            for resource, obj in RESOURCES.items():
                table = Table(resource, obj)
                if obj in objects:
                    for rec in self.practice.iter(obj):
                        self._store(table, rec)
                        if obj == "appointment" and isinstance(api_id(rec.source_id), int) \
                                and api_id(rec.source_id) % DUPLICATE_EVERY == 0:
                            table.repeats.add(api_id(rec.source_id))
                table.version = 0
                self.tables[resource] = table
            if self.dst_edges:
                self._plant_dst_edges()
            methods = Table("payment_methods", "payment_method")
            for name, mid in self.methods.items():
                methods.put(mid, _dumps({"id": mid, "name": name}), 0.0)
            methods.version = 0
            self.tables["payment_methods"] = methods
            # Hundreds of thousands of rows would make every full collection a pause of tens of
            # milliseconds; at a high --time-scale a paused server makes the next on-time request
            # look early. The rows live as long as the sandbox, so take them out of the GC's way.
            if sum(len(t.rows) for t in self.tables.values()) > 50_000:
                gc.collect()
                gc.freeze()

    def _plant_dst_edges(self) -> None:
        """Three appointments moved onto the practice's last clock changes before the
        generator's today, as a system keeping wall times shows them (no offset):

        * ``resolvable``: 01:15-02:00 on the second pass of the repeated hour (the hour after
          the clocks went back), 45 minutes, end after the hour: its end says which pass;
        * ``repeated``: 01:10-01:30 on the second pass, both in the repeated hour: nothing says
          which pass (its ``created`` too, rendered in the same hour);
        * ``skipped``: 02:30-02:50 on the day the clocks went forward, a clock time that never
          happened (staff typed it; the system keeps wall times). Its record here holds the
          instant Ferry's stated rule gives (as if the clocks had not changed yet)."""
        from ferry.sandbox.synth.people import REF_NOW

        back, forward = _clock_changes(self.tz, REF_NOW)
        if back is None or forward is None:
            return  # a zone without daylight time has no such hours
        table = self.tables["appointments"]
        picks = [r for r in self.practice.iter("appointment")
                 if isinstance(api_id(r.source_id), int) and api_id(r.source_id) in table.rows
                 and api_id(r.source_id) not in table.repeats][:3]
        if len(picks) < 3:
            return
        second = back  # the repeated hour's second pass begins at the change (01:00 again)
        plans = {
            "resolvable": (second + dt.timedelta(minutes=15), 45),
            "repeated": (second + dt.timedelta(minutes=10), 20),
        }
        for (what, (start, minutes)), rec in zip(plans.items(), picks[:2], strict=True):
            new = rec.model_copy(update={
                "start": start, "end": start + dt.timedelta(minutes=minutes),
                "duration_minutes": minutes,
                **({"created_at": start} if what == "repeated" else {})})
            table.changed[api_id(rec.source_id)] = new
            self._store(table, new)
            self.edges[what] = api_id(rec.source_id)
        skipped_wall = forward.astimezone(self.tz).replace(tzinfo=None, minute=0, second=0) \
            - dt.timedelta(hours=1) + dt.timedelta(minutes=30)  # 02:30 on a 02:00 change
        start = skipped_wall.replace(tzinfo=self.tz, fold=0)
        rec = picks[2]
        new = rec.model_copy(update={"start": start, "end": start + dt.timedelta(minutes=20),
                                     "duration_minutes": 20})
        rid = api_id(rec.source_id)
        table.changed[rid] = new
        row = render(new, self._date_format, tz=self.tz, method_id=self.method_id,
                     surface=self.surface)
        row["start"] = skipped_wall.strftime("%Y-%m-%d %H:%M:%S")
        row["end"] = (skipped_wall + dt.timedelta(minutes=20)).strftime("%Y-%m-%d %H:%M:%S")
        table.put(rid, _dumps(row), _ts(new.updated_at))
        self.edges["skipped"] = rid

    def method_id(self, name: str) -> int:
        return self.methods.setdefault(name, len(self.methods) + 1)

    def _store(self, table: Table, rec: Record) -> None:
        row = render(rec, self._date_format, tz=self.tz, method_id=self.method_id,
                     surface=self.surface)
        table.put(row["id"], _dumps(row), _ts(rec.updated_at))

    def _date_format(self, obj: str, rid: str, name: str) -> str | None:
        fn = getattr(self.practice, "date_format", None)
        return fn(obj, rid, name) if fn else None

    def file_bytes(self, rid: int | str) -> bytes | None:
        """Content of a listed file (regenerated from the seed; mutated copies kept)."""
        table = self.tables["files"]
        if rid not in table.rows:
            return None
        rec = table.changed.get(rid) or self.find("document", rid)
        return None if rec is None else self.practice.file_bytes(rec)

    def find(self, obj: str, rid: int | str) -> Record | None:
        table = self.tables[OBJECT_RESOURCE[obj]]
        if rid in table.changed:
            return table.changed[rid]
        if obj == "document":  # every file download asks: not a scan of the practice each time
            doc = self.practice.document(str(rid))
            if doc is not None and api_id(doc.source_id) == rid:
                return doc
        for rec in self.practice.iter(obj):
            if api_id(rec.source_id) == rid:
                return rec
        return None

    def records(self, obj: str) -> Iterator[Record]:
        """The canonical records the sandbox holds now, in page order."""
        table = self.tables[OBJECT_RESOURCE[obj]]
        for rec in self.practice.iter(obj):
            rid = api_id(rec.source_id)
            if rid in table.rows and rid not in table.changed:
                yield rec
        yield from table.changed.values()

    # -- mutation mode -------------------------------------------------------------------------
    def mutate(self, resource: str, creates: int = 0, updates: int = 0, deletes: int = 0,
               seed: int | None = None, delete_ids: list[int | str] | None = None,
               restore_ids: list[int | str] | None = None) -> dict[str, list[Any]]:
        """Change, add and delete records now, as clinic staff would during a cutover;
        ``restore_ids``: deleted records listed again (staff undoing a deletion)."""
        table = self.tables[resource]
        rng = random.Random(seed if seed is not None else self.mutations)
        self.mutations += 1
        with self.lock:
            ids = list(dict.fromkeys(table.ids(None)))  # a repeated row is one record
            picked = rng.sample(ids, min(len(ids), updates + deletes + (1 if creates else 0)))
            upd, dele = picked[:updates], picked[updates:updates + deletes]
            dele += [i for i in delete_ids or [] if i in table.rows and i not in upd]
            template_id = picked[-1] if creates and picked else None
            wanted = set(upd) | ({template_id} if template_id is not None else set())
            originals = {rid: r for rid in wanted if (r := self.find(table.obj, rid)) is not None}
            now = dt.datetime.now(dt.UTC)
            fname = mutable_field(table.obj)
            out: dict[str, list[Any]] = {"created": [], "updated": [], "deleted": [],
                                         "restored": []}
            for rid in restore_ids or []:
                rec = self.find(table.obj, rid) if rid not in table.rows else None
                if rec is not None:
                    back = rec.model_copy(update={"updated_at": now})
                    table.changed[rid] = back
                    self._store(table, back)
                    table.deleted = [d for d in table.deleted if d[0] != rid]
                    out["restored"].append(rid)
            for rid in upd:
                rec = originals[rid]
                change: dict[str, Any] = {"updated_at": now}
                if fname:
                    change[fname] = f"changed {self.mutations}"
                new = rec.model_copy(update=change)
                table.changed[rid] = new
                self._store(table, new)
                out["updated"].append(rid)
            for rid in dele:
                table.remove(rid, now.timestamp())
                out["deleted"].append(rid)
            if creates and template_id is not None:
                base = originals[template_id]
                next_id = max(table.max_int_id(), max((d[0] for d in table.deleted
                                                       if isinstance(d[0], int)), default=0))
                for i in range(creates):
                    nid = next_id + 1 + i
                    change = {"source_id": str(nid), "created_at": now, "updated_at": now}
                    if table.obj == "patient":  # a new person, not a duplicate of the template
                        change["email"] = f"new.patient.{nid}@example.com"
                    if fname:
                        change[fname] = f"created {self.mutations}"
                    new = base.model_copy(update=change)
                    table.changed[nid] = new
                    self._store(table, new)
                    out["created"].append(nid)
            return out

    def set_fields(self, resource: str, rid: int | str, fields: dict[str, Any]) -> bool:
        """Give one record these canonical field values now (tests: a 09:00 appointment)."""
        table = self.tables[resource]
        with self.lock:
            rec = self.find(table.obj, rid)
            if rec is None:
                return False
            now = dt.datetime.now(dt.UTC)
            new = type(rec).model_validate({**rec.model_dump(), **fields, "updated_at": now})
            table.changed[rid] = new
            self._store(table, new)
            return True

    def summary(self) -> dict[str, Any]:
        return {r: {"object": t.obj, "count": len(t.rows), "deleted": [d[0] for d in t.deleted],
                    "changed": sorted(t.changed, key=_key)}
                for r, t in self.tables.items()}
