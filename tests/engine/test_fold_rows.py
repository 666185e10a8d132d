"""The fold accumulator: one encrypted row per child (its values and order key together), and
rows an earlier version wrote (one per child and key, the order key apart) still read, so a
delta pass after an upgrade folds old and new children into the same parent."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from ferry.engine.load import CHILD, FOLD_SCHEMA, _typed, fold_values
from ferry.model.crypto import AesGcmCodec
from ferry.model.staging import StagingStore


def _old_row(store: StagingStore, parent: str, key: str, order: str, sid: str, value: object
             ) -> tuple[object, ...]:
    enc = store.codec.encode
    return ("m", parent, key, enc(order.encode()), sid,
            enc(json.dumps(_typed(value), default=str).encode()))


def _new_row(store: StagingStore, parent: str, order: str, sid: str, values: dict) -> tuple:  # type: ignore[type-arg]
    doc = {"o": order, "v": {k: _typed(v) for k, v in values.items()}}
    return ("m", parent, CHILD, b"", sid, store.codec.encode(json.dumps(doc).encode()))


def test_both_row_layouts_fold_in_order_with_types_kept(tmp_path: Path) -> None:
    store = StagingStore(tmp_path / "s.db", AesGcmCodec(bytes(range(32))))
    store.conn.executescript(FOLD_SCHEMA)
    day = dt.date(2024, 5, 1)
    rows = [
        # an earlier load's child c2 (one row per key), ordered between c1 and c3
        _old_row(store, "7", "x_total", "2024-02-01", "c2", Decimal("2.50")),
        _old_row(store, "7", "x_last", "2024-02-01", "c2", "second"),
        _new_row(store, "7", "2024-03-01", "c3", {"x_total": Decimal("1.25"), "x_last": "third",
                                                  "x_day": day}),
        _new_row(store, "7", "2024-01-01", "c1", {"x_last": "first"}),
        _new_row(store, "8", "", "c9", {"x_when": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)}),
    ]
    with store.tx() as c:
        c.executemany("INSERT INTO fold_acc VALUES (?,?,?,?,?,?)", rows)
    got = fold_values(store, "m")
    assert got == {"7": {"x_day": [day], "x_last": ["first", "second", "third"],
                         "x_total": [Decimal("2.50"), Decimal("1.25")]},
                   "8": {"x_when": [dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)]}}
    assert list(got["7"]) == ["x_day", "x_last", "x_total"]  # keys in one order for every parent
    assert fold_values(store, "m", ["8"]) == {"8": got["8"]}
    # nothing in the table is readable without the key: values and order keys alike
    for _, _, _, o, _, v in store.conn.execute("SELECT * FROM fold_acc"):
        assert b"first" not in bytes(v) and b"2024" not in bytes(o) + bytes(v)
