"""A folded child's row written by orjson reads back as the standard library's did."""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.engine.load import _child_json


class Colour(enum.Enum):
    RED = "red"


LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
          | st.datetimes(timezones=st.none() | st.just(dt.UTC)) | st.dates() | st.decimals()
          | st.just(Colour.RED))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.tuples(inner, inner) | st.dictionaries(st.text(), inner, max_size=3),
                      max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(order=st.text(), values=st.dictionaries(st.text(), VALUES, max_size=5))
def test_child_json_reads_back_as_json_dumps(order: str, values: dict) -> None:
    doc = {"o": order, "v": values}
    got, want = _child_json(doc), json.dumps(doc, default=str).encode()
    # NaN is not equal to itself: a document holding one must be the standard library's bytes
    assert got == want or json.loads(got) == json.loads(want)


def test_values_orjson_would_write_differently_take_the_standard_library() -> None:
    for odd in (float("nan"), float("inf"), dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC),
                Colour.RED, Decimal("1.5"), 2**70, "\ud800", [dt.date(2024, 1, 2)]):
        doc = {"o": "", "v": {"k": odd}}
        assert _child_json(doc) == json.dumps(doc, default=str).encode()


def _standard(raw: bytes) -> tuple[object, dict]:
    """What ``fold_values`` made of a child's row with the standard library's reader."""
    from ferry.engine.load import _untyped

    doc = json.loads(raw)
    return doc["o"], {k: _untyped(x) for k, x in doc["v"].items()}


@settings(max_examples=400, deadline=None)
@given(order=st.text(), values=st.dictionaries(st.text(), VALUES, max_size=5),
       typed=st.booleans())
def test_child_rows_read_back_as_json_loads_reads_them(order: str, values: dict,
                                                       typed: bool) -> None:
    """``_child_values`` (orjson where it reads the same) gives what ``json.loads`` and
    ``_untyped`` give, value for value and type for type (an integer beyond 64 bits stays an
    integer, NaN a float, a typed date a date)."""
    from ferry.engine.load import _child_values, _typed

    doc = {"o": order, "v": {k: _typed(v) for k, v in values.items()} if typed else values}
    for raw in (_child_json(doc), json.dumps(doc, default=str).encode()):
        assert repr(_child_values(raw)) == repr(_standard(raw))
        assert repr(_child_values(raw.decode())) == repr(_standard(raw))


def test_child_rows_orjson_reads_otherwise_go_to_the_standard_library() -> None:
    from ferry.engine.load import _child_values

    for raw in (b'{"o":"","v":{"k":123456789012345678901234567890}}',
                b'{"o":"","v":{"k":NaN}}', b'{"o":"\\ud800","v":{}}',
                b'{"o":"","v":{"k":[1e400]}}', b'{"o":"","v":{"a":{"$d":"2024-01-02"},'
                b'"b":{"$x":"1"},"c":{"$n":"1.50"}}}',
                b'{"o":"2024","v":{"a":{"$dt":"2024-01-02T03:04:05+00:00"},"b":1}}'):
        assert repr(_child_values(raw)) == repr(_standard(raw))


def test_child_rows_numbers_read_as_the_standard_library_reads_them() -> None:
    """Floats come through orjson; an integer orjson would read as a float (beyond 64 bits)
    does not, whichever side of the boundary, nor a float that may have been one."""
    from ferry.engine.load import _child_values

    numbers = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**20, -(10**25),
               0, -0.0, 0.1, 12.5, 1e20, -1e20, 9.223372036854776e18, 1e-300, 5e-324,
               1.7976931348623157e308, 123456.78, float(2**53 + 1)]
    for n in numbers:
        for doc in ({"o": "", "v": {"k": n}}, {"o": "", "v": {"a": "x", "k": n, "b": 1.5}}):
            for raw in (_child_json(doc), json.dumps(doc).encode()):
                assert repr(_child_values(raw)) == repr(_standard(raw)), raw
