"""Find destination records by the source id they carry, at the lowest token price.

Where the id lives: persons, organizations and deals have a custom field (40-hex key); activities
and notes carry ``[ferry-id:...]`` in their HTML text trailer; files in their description.

Price list (x-token-cost): a list page is 10 tokens for 500 v2 records (20 for 500 notes, 20 for
100 files); ``itemSearch/field`` is 20 tokens per *id* and has its own 10-per-2-s burst cap.

Choice: one paged scan builds a source-id index (``custom_fields=<key>`` keeps pages small), kept
current with this instance's own creates and deletes, so a resume that asks about thousands of
open intents pays for the scan once. The scan is also strongly consistent, whereas Pipedrive's
search index lags fresh writes, and a missed record means a duplicate. Field search is therefore
opt-in (``find_search_max`` ids or fewer, when no index exists yet): cheaper only for a handful
of ids in a large account. An ambiguous create (``fresh``) re-checks the newest page sorted by
id descending: one 10-token call that sees the record if the server made it.
"""

from __future__ import annotations

from typing import Any

from ferry.destinations.pipedrive.client import V2_OBJECTS, PipedriveClient
from ferry.destinations.pipedrive.values import ID_KEY, split_trailer

MARKED = {"activity": "note", "note": "content"}


class Finder:
    def __init__(self, client: PipedriveClient, search_max: int,
                 id_keys: dict[str, str] | None = None) -> None:
        self.client = client
        self.search_max = search_max
        self.id_keys: dict[str, str] = id_keys if id_keys is not None else {}
        self.index: dict[str, dict[str, str]] = {}

    def _sid_of(self, obj: str, rec: dict[str, Any], key: str) -> str | None:
        if obj in MARKED:
            return split_trailer(rec.get(MARKED[obj]))[1].get(key or ID_KEY)
        if obj == "file":
            desc = str(rec.get("description") or "")
            return desc[10:-1] if desc.startswith("[ferry-id:") and desc.endswith("]") else None
        value = (rec.get("custom_fields") or {}).get(key)
        return None if value is None else str(value)

    def _records(self, obj: str, key: str, newest_only: bool = False):  # type: ignore[no-untyped-def]
        if obj in V2_OBJECTS:
            params: dict[str, Any] = {}
            if obj not in MARKED:
                params["custom_fields"] = key
            if newest_only:
                params.update(sort_by="id", sort_direction="desc")
                yield from next(self.client.pages_v2(f"/{V2_OBJECTS[obj]}", params), [])
                return
            for page in self.client.pages_v2(f"/{V2_OBJECTS[obj]}", params):
                yield from page
            return
        limit = 100 if obj == "file" else 500
        params = {"sort": "id DESC"} if newest_only else {}
        pages = self.client.pages_v1(f"/{obj}s", params, limit=limit)
        if newest_only:
            yield from next(pages, [])
            return
        for page in pages:
            yield from page

    def _build(self, obj: str, key: str) -> dict[str, str]:
        idx: dict[str, str] = {}
        for rec in self._records(obj, key):
            sid = self._sid_of(obj, rec, key)
            if sid is not None:
                cur = idx.get(sid)
                if cur is None or int(rec["id"]) < int(cur):
                    idx[sid] = str(rec["id"])
        self.index[f"{obj}|{key}"] = idx
        return idx

    def _search(self, obj: str, key: str, sid: str) -> str | None:
        body = self.client.call("v2", "GET", "/itemSearch/field",
                                params={"term": sid, "entity_type": obj, "field": key,
                                        "match": "exact", "limit": 500})
        ids = []
        for row in body.get("data") or []:
            item = row.get("item", row) if isinstance(row, dict) else {}
            if "id" in item and str(item.get("name", sid)) == sid:
                ids.append(int(item["id"]))
        return str(min(ids)) if ids else None

    def find(self, obj: str, id_field: str, source_ids: list[str], *, fresh: bool = False
             ) -> dict[str, str]:
        ids = [str(s) for s in dict.fromkeys(source_ids) if s is not None]
        key = id_field or self.id_keys.get(obj, ID_KEY)
        if obj not in MARKED and obj != "file" and key and not key.startswith("~"):
            self.id_keys.setdefault(obj, key)
        if not ids:
            return {}
        searchable = obj in ("person", "organization", "deal")
        if fresh:
            found = {}
            for rec in self._records(obj, key, newest_only=True):
                sid = self._sid_of(obj, rec, key)
                if sid in ids:
                    found[sid] = str(rec["id"])
            return found
        if f"{obj}|{key}" not in self.index and searchable and len(ids) <= self.search_max:
            hits = {s: self._search(obj, key, s) for s in ids}
            return {s: d for s, d in hits.items() if d}
        idx = self.index.get(f"{obj}|{key}")
        if idx is None:
            idx = self._build(obj, key)
        return {s: idx[s] for s in ids if s in idx}

    def remember(self, obj: str, sid: str | None, dest_id: str, key: str | None = None) -> None:
        if sid is None:
            return
        for name, idx in self.index.items():
            o, _, k = name.partition("|")
            if o == obj and (key is None or k == key):
                idx.setdefault(sid, dest_id)

    def forget(self, obj: str, dest_id: str) -> None:
        for name, idx in self.index.items():
            if name.partition("|")[0] == obj:
                for sid in [s for s, d in idx.items() if d == dest_id]:
                    del idx[sid]
