"""Payload hashes made of orjson's text tell payloads apart as ``canonical_json``'s did, and
hashes stored by an earlier Ferry (``canonical_json``'s) still say "unchanged"."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.engine.writes import ORJSON_HASH, canonical_hash, payload_hash, same_payload
from ferry.model.crypto import AesGcmCodec
from ferry.model.staging import PlainCodec, canonical_json

# what a built payload holds: the mapping's transforms give text, numbers, booleans, dates,
# date-times (naive or aware), decimals, lists and dicts of them; fold payloads add None
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
          | st.datetimes(timezones=st.none() | st.just(dt.UTC)) | st.dates() | st.decimals())
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.tuples(inner, inner) | st.dictionaries(st.text(), inner, max_size=3),
                      max_leaves=8)
PAYLOADS = st.dictionaries(st.text(max_size=8), VALUES, max_size=5)
CODECS = (PlainCodec(), AesGcmCodec(b"k" * 32))


@settings(max_examples=500, deadline=None)
@given(a=PAYLOADS, b=PAYLOADS)
def test_payloads_canonical_json_tells_apart_hash_apart(a: dict, b: dict) -> None:
    for codec in CODECS:
        if canonical_json(a) != canonical_json(b):
            assert payload_hash(a, codec) != payload_hash(b, codec)
        assert payload_hash(a, codec) == payload_hash(dict(reversed(a.items())), codec)


@settings(max_examples=300, deadline=None)
@given(a=PAYLOADS, b=PAYLOADS)
def test_a_hash_stored_before_still_matches_its_payload(a: dict, b: dict) -> None:
    for codec in CODECS:
        old = canonical_hash(a, codec)  # what an earlier Ferry stored
        assert same_payload(old, a, codec)
        assert same_payload(payload_hash(a, codec), a, codec)
        if canonical_json(a) != canonical_json(b):
            assert not same_payload(old, b, codec)
            assert not same_payload(payload_hash(a, codec), b, codec)
        assert not same_payload(None, a, codec)


def test_values_orjson_writes_as_null_or_refuses_take_canonical_json() -> None:
    for odd in (float("nan"), float("inf"), None, 2**70, "\ud800"):
        p = {"k": odd, "d": dt.date(2024, 1, 2)}
        assert payload_hash(p) == canonical_hash(p)
    ordinary = {"name": "A", "n": 1.5, "at": dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC),
                "amount": Decimal("12.30"), "tags": ["x", "y"]}
    assert payload_hash(ordinary).startswith(ORJSON_HASH)
    assert payload_hash({"k": None}) != payload_hash({"k": float("nan")})


def test_a_date_time_and_text_like_it_hash_apart_as_canonical_json_tells_them() -> None:
    """orjson's own date-time text has a "T" ("2024-01-02T03:04:05"): a date-time would
    match that text, which ``canonical_json`` (``str``: a space) tells apart."""
    for when in (dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
                 dt.date(2024, 1, 2), dt.time(3, 4)):
        for text in (when.isoformat(), str(when)):
            a, b = {"k": when}, {"k": text}
            assert (payload_hash(a) == payload_hash(b)) == (canonical_json(a) == canonical_json(b))
        assert payload_hash({"k": when}) != payload_hash({"k": when.isoformat()}) \
            or str(when) == when.isoformat()
