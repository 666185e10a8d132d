"""The Odoo client's request bodies are the bytes ``xmlrpc.client`` makes (its own marshaller
runs per value and was a large part of a big create's CPU)."""

from __future__ import annotations

import datetime as dt
import xmlrpc.client
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.destinations.odoo.rpc import dumps

SCALARS = (st.none() | st.booleans() | st.integers(xmlrpc.client.MININT, xmlrpc.client.MAXINT)
           | st.floats(allow_nan=False) | st.text() | st.binary(max_size=20)
           | st.sampled_from(["a & b <c> d", "ünï ☃", "", "]]>", "\r\n\t"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.tuples(inner, inner) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4), max_leaves=25)


def stdlib(params: tuple[Any, ...], method: str) -> bytes:
    return xmlrpc.client.dumps(params, method, allow_none=True).encode("utf-8",
                                                                       "xmlcharrefreplace")


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, max_size=7).map(tuple), st.sampled_from(["execute_kw", "version"]))
def test_request_bodies_are_the_stdlib_bytes(params: tuple[Any, ...], method: str) -> None:
    assert dumps(params, method) == stdlib(params, method)


def test_wrapped_and_odd_values_go_through_the_stdlib_marshaller() -> None:
    when = xmlrpc.client.DateTime(dt.datetime(2024, 7, 1, 9, 30))
    params = ("db", 2, "key", "res.partner", "create",
              [[{"when": when, "raw": xmlrpc.client.Binary(b"\x00\xff"), "n": None}]],
              {"context": {"tz": "UTC"}})
    assert dumps(params, "execute_kw") == stdlib(params, "execute_kw")
    for bad in ({1: "x"}, 2**40):
        try:
            stdlib((bad,), "m")
        except (TypeError, OverflowError) as exc:
            want: type[Exception] = type(exc)
        try:
            dumps((bad,), "m")
        except want:
            continue
        raise AssertionError(f"{bad!r} was marshalled")
