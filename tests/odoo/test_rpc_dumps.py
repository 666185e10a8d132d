"""The Odoo client's request bodies are the bytes ``xmlrpc.client`` makes (its own marshaller
runs per value and was a large part of a big create's CPU)."""

from __future__ import annotations

import datetime as dt
import xml.parsers.expat
import xmlrpc.client
from pathlib import Path
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


def _stdlib_answer(body: bytes) -> Any:
    p, u = xmlrpc.client.getparser()
    p.feed(body)
    p.close()
    return u.close()


def _typed(value: Any) -> Any:
    """A value with the type of every part spelt out (True == 1 == 1.0 otherwise)."""
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _typed(v) for k, v in value.items()})
    if isinstance(value, xmlrpc.client.Binary):
        return ("Binary", value.data)
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_answers_read_as_the_stdlib_unmarshaller_reads_them(value: Any) -> None:
    """``loads_answer`` reads an answer from expat's tree, one call per value (the stdlib's
    Unmarshaller runs three handlers per element): the same values, of the same types, and
    the same error for an answer XML cannot carry (a control character)."""
    from ferry.destinations.odoo.rpc import loads_answer

    body = xmlrpc.client.dumps((value,), methodresponse=True, allow_none=True).encode(
        "utf-8", "xmlcharrefreplace")
    try:
        want = _stdlib_answer(body)
    except xml.parsers.expat.ExpatError:
        import pytest
        with pytest.raises(xml.parsers.expat.ExpatError):
            loads_answer(body)
        return
    assert _typed(loads_answer(body)) == _typed(want)


def test_unusual_answers_are_read_by_the_stdlib() -> None:
    import pytest

    from ferry.destinations.odoo.rpc import loads_answer

    when = xmlrpc.client.DateTime(dt.datetime(2024, 7, 1, 9, 30))
    body = xmlrpc.client.dumps(([{"at": when, "raw": xmlrpc.client.Binary(b"\x00\xff")}],),
                               methodresponse=True).encode()
    got = loads_answer(body)
    assert got == _stdlib_answer(body) and isinstance(got[0][0]["at"], xmlrpc.client.DateTime)
    fault = xmlrpc.client.dumps(xmlrpc.client.Fault(2, "access denied")).encode()
    with pytest.raises(xmlrpc.client.Fault, match="access denied"):
        loads_answer(fault)
    for odd in (b"<?xml version='1.0'?><methodResponse><params><param><value><i8>12"
                b"</i8></value></param></params></methodResponse>",
                b"<methodResponse><params><param><value>  spaced </value></param></params>"
                b"</methodResponse>"):
        assert loads_answer(odd) == _stdlib_answer(odd)
    with pytest.raises(xml.parsers.expat.ExpatError):
        loads_answer(b"<methodResponse><params>")


def test_a_files_base64_text_is_the_same_whichever_way_it_is_read(tmp_path: Path) -> None:
    """``FileB64`` encodes a stored file's decrypted chunks as they come (1 MiB each, not a
    multiple of 3: the bytes cut off go with the next chunk), a plain file in 3 MiB blocks,
    bytes in memory at once: the text is the file's base64 at every size around the seams."""
    import base64
    import os

    from ferry.destinations.odoo.rpc import FileB64
    from ferry.model.crypto import FILE_CHUNK, AesGcmCodec, PlainView, encrypt_file

    codec = AesGcmCodec(bytes(range(32)))
    for n in (0, 1, 2, 3, 4, FILE_CHUNK - 1, FILE_CHUNK, FILE_CHUNK + 1, FILE_CHUNK + 2,
              2 * FILE_CHUNK + 1, 3 * FILE_CHUNK, FileB64.CHUNK + 2 * FILE_CHUNK + 5):
        data = os.urandom(n)
        f = tmp_path / f"f{n}"
        f.write_bytes(data)
        want = base64.b64encode(data)
        assert b"".join(FileB64(f).chunks()) == want, n
        encrypt_file(f, codec)
        stored = FileB64(PlainView.of_file(f, codec))
        assert b"".join(stored.chunks()) == want and stored.b64_length == len(want), n
        assert b"".join(FileB64(PlainView.of_bytes(data, "x")).chunks()) == want, n
