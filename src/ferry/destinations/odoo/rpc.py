"""The Odoo external API over the stdlib ``xmlrpc.client`` — calls only, no mapping logic.

Why stdlib XML-RPC: it is the protocol every Odoo from 8 to 19 serves, it needs no dependency,
and it points at a local emulator as easily as at a real server (NOTES 6). Every call goes
through the ``Pacer`` (the 1 call/second default is a vendor's self-imposed courtesy, not an Odoo
rule, hence a setting) and is counted. Idempotent calls (reads, write, unlink) are retried on
429/5xx/network failures and lock faults; ``create`` is not retried here because a call that
timed out may have committed — the writer re-checks by source id first (NOTES 5).

Logs carry the model and method only: never arguments, results or the password.
"""

from __future__ import annotations

import http.client
import itertools
import logging
import re
import urllib.parse
import weakref
import xml.etree.ElementTree as ET  # noqa: N817 - the stdlib's own name
import xml.parsers.expat
import xmlrpc.client
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pybase64

from ferry.connectors.http import call_with_retry
from ferry.connectors.ratelimit import Pacer
from ferry.destinations.odoo.errors import SYSTEM, from_fault, from_protocol
from ferry.errors import FatalError, RetriableError
from ferry.model.crypto import PlainView

log = logging.getLogger("ferry.odoo")
NETWORK = (OSError, http.client.HTTPException, xml.parsers.expat.ExpatError, EOFError)


class FileB64:
    """A file's content as an XML-RPC base64 text value (``ir.attachment.datas``), read and
    encoded a chunk at a time while the request is sent: the call never holds the file, nor
    its base64 text, nor that text escaped and encoded again by the marshaller, in memory (a
    90 MB file cost about six times its size, and most of the upload's CPU)."""

    CHUNK = 3 * 2**20  # a multiple of 3: the chunks' base64 texts join into the file's

    def __init__(self, path: Path | PlainView) -> None:
        self.path = path  # a file, or a stored one read as its plain content
        self.size = self.path.stat().st_size
        self.token = f"\x00ferry-file-{next(_FILE_IDS)}\x00"
        _FILES[self.token.encode()] = self

    @property
    def b64_length(self) -> int:
        return 4 * ((self.size + 2) // 3)

    def chunks(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while block := fh.read(self.CHUNK):
                # pybase64 (SIMD): the stdlib's encoder ran at ~370 MB/s and was a fifth of
                # the Odoo load's CPU; the text is the same
                yield pybase64.b64encode(block)


_FILE_IDS = itertools.count()
_FILES: weakref.WeakValueDictionary[bytes, FileB64] = weakref.WeakValueDictionary()
_FILE_MARK = re.compile(rb"\x00ferry-file-\d+\x00")


def _dump_file(marshaller: Any, value: FileB64, write: Any) -> None:
    write("<value><string>")
    write(value.token)  # replaced by the content as the request is sent (``send_content``)
    write("</string></value>\n")


xmlrpc.client.Marshaller.dispatch[FileB64] = _dump_file  # our own type: nothing else changes


def _escape(text: str) -> str:
    if "&" in text or "<" in text or ">" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


def _dump(value: Any, write: Any) -> None:
    """One value as ``xmlrpc.client.Marshaller`` writes it, without its per-value dispatch
    (a 100-row create is tens of thousands of values); other types go to the Marshaller."""
    t = type(value)
    if t is str:
        write("<value><string>")
        write(_escape(value))
        write("</string></value>\n")
    elif t is dict:
        write("<value><struct>\n")
        for k, v in value.items():
            if type(k) is not str:
                raise TypeError("dictionary key must be string")
            write("<member>\n")
            write(f"<name>{_escape(k)}</name>\n")
            _dump(v, write)
            write("</member>\n")
        write("</struct></value>\n")
    elif t is list or t is tuple:
        write("<value><array><data>\n")
        for v in value:
            _dump(v, write)
        write("</data></array></value>\n")
    elif t is int:
        if value > xmlrpc.client.MAXINT or value < xmlrpc.client.MININT:
            raise OverflowError("int exceeds XML-RPC limits")
        write(f"<value><int>{value}</int></value>\n")
    elif t is bool:
        write("<value><boolean>1</boolean></value>\n" if value
              else "<value><boolean>0</boolean></value>\n")
    elif t is float:
        write(f"<value><double>{value!r}</double></value>\n")
    elif value is None:
        write("<value><nil/></value>")
    else:
        xmlrpc.client.Marshaller("utf-8", allow_none=True)._Marshaller__dump(  # type: ignore[attr-defined]
            value, write)


def dumps(params: tuple[Any, ...], method: str) -> bytes:
    """The request body ``xmlrpc.client.dumps(params, method, allow_none=True)`` makes, encoded
    as ``ServerProxy`` sends it: the same bytes, in about half the CPU."""
    out = ["<?xml version='1.0'?>\n<methodCall>\n<methodName>", method,
           "</methodName>\n<params>\n"]
    write = out.append
    for v in params:
        write("<param>\n")
        _dump(v, write)
        write("</param>\n")
    write("</params>\n</methodCall>\n")
    return "".join(out).encode("utf-8", "xmlcharrefreplace")


class _Unusual(Exception):
    """An answer the plain reader leaves to ``xmlrpc.client`` (a fault, a date, binary data)."""


_INTS = frozenset({"int", "i4", "i8", "i1", "i2", "bigint"})


def _value(e: ET.Element) -> Any:
    if e.tag != "value":
        raise _Unusual
    if len(e) == 0:
        return e.text or ""  # a value without a type is a string
    t = e[0]
    tag = t.tag
    if tag == "string":
        return t.text or ""
    if tag in _INTS:
        return int(t.text or "")
    if tag == "boolean":
        if t.text == "1":
            return True
        if t.text == "0":
            return False
        raise _Unusual
    if tag == "double":
        return float(t.text or "")
    if tag == "nil":
        return None
    if tag == "array":
        if len(t) != 1 or t[0].tag != "data":
            raise _Unusual
        return [_value(v) for v in t[0]]
    if tag == "struct":
        out = {}
        for m in t:
            if m.tag != "member" or len(m) != 2 or m[0].tag != "name":
                raise _Unusual
            out[m[0].text or ""] = _value(m[1])
        return out
    raise _Unusual


def loads_answer(body: bytes) -> tuple[Any, ...]:
    """An XML-RPC answer's values as ``xmlrpc.client``'s Unmarshaller gives them (``Transport``
    with ``use_datetime=False``): the tree built by expat in C, then one call per value instead
    of three handlers per element (about half the CPU on a 100-row ``read``). A fault, a date,
    binary data or anything unusual is read by ``xmlrpc.client`` itself."""
    try:
        root = ET.fromstring(body)
        if root.tag != "methodResponse" or len(root) != 1 or root[0].tag != "params":
            raise _Unusual
        values = []
        for param in root[0]:
            if param.tag != "param" or len(param) != 1:
                raise _Unusual
            values.append(_value(param[0]))
        return tuple(values)
    except (_Unusual, ValueError, ET.ParseError):
        p, u = xmlrpc.client.getparser()
        p.feed(body)
        p.close()
        return u.close()  # type: ignore[no-any-return]


class _Timeout:
    """A per-connection timeout for the stdlib transports (they take none of their own), and
    requests that carry ``FileB64`` values streamed."""

    def __init__(self, timeout: float) -> None:
        super().__init__(use_datetime=False)  # type: ignore[call-arg]
        self._timeout = timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        conn = super().make_connection(host)  # type: ignore[misc]
        conn.timeout = self._timeout
        return conn

    def parse_response(self, response: http.client.HTTPResponse) -> tuple[Any, ...]:
        if response.getheader("Content-Encoding", "") == "gzip":
            return super().parse_response(response)  # type: ignore[misc,no-any-return]
        return loads_answer(response.read())

    def send_content(self, connection: http.client.HTTPConnection, request_body: bytes
                     ) -> None:
        parts: list[bytes | FileB64] = []
        pos = 0
        for m in _FILE_MARK.finditer(request_body):
            f = _FILES.get(m.group())
            if f is None:
                continue
            parts += [request_body[pos:m.start()], f]
            pos = m.end()
        if not parts:
            super().send_content(connection, request_body)  # type: ignore[misc]
            return
        parts.append(request_body[pos:])
        length = sum(p.b64_length if isinstance(p, FileB64) else len(p) for p in parts)
        connection.putheader("Content-Length", str(length))
        connection.endheaders()
        for p in parts:
            if isinstance(p, FileB64):
                for chunk in p.chunks():
                    connection.send(chunk)
            else:
                connection.send(p)


class _Transport(_Timeout, xmlrpc.client.Transport):
    pass


class _SafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


class _Endpoint:
    """What ``ServerProxy`` does for one service URL, with the request body made by ``dumps``
    (the same bytes as ``xmlrpc.client.dumps``, with less CPU per value)."""

    def __init__(self, url: str, transport: xmlrpc.client.Transport) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.netloc
        self.handler = urllib.parse.urlunsplit(["", "", *parts[2:]]) or "/RPC2"
        self.transport = transport

    def call(self, method: str, params: tuple[Any, ...]) -> Any:
        response = self.transport.request(self.host, self.handler, dumps(params, method),
                                          verbose=False)
        return response[0] if len(response) == 1 else response

    def close(self) -> None:
        self.transport.close()


class OdooRpc:
    """One authenticated user on one database; serial calls (one in flight, NOTES 5)."""

    def __init__(self, url: str, db: str, login: str, secret: str, *, pacer: Pacer,
                 timeout: float = 120.0, time_scale: float = 1.0, attempts: int = 6) -> None:
        self.url = url.rstrip("/")
        self.db = db
        self.login = login
        self._secret = secret
        self.pacer = pacer
        self.timeout = timeout
        self.time_scale = time_scale
        self.attempts = attempts
        self.uid: int | None = None
        self.calls: Counter[str] = Counter()
        self._common = self._proxy("common")
        self._object = self._proxy("object")

    def _proxy(self, service: str) -> _Endpoint:
        transport: xmlrpc.client.Transport = (
            _SafeTransport(self.timeout) if self.url.startswith("https")
            else _Transport(self.timeout))
        return _Endpoint(f"{self.url}/xmlrpc/2/{service}", transport)

    def __repr__(self) -> str:  # never show the secret
        return f"OdooRpc(url={self.url!r}, db={self.db!r}, login=<hidden>)"

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    # ------------------------------------------------------------------ plumbing
    def _send(self, proxy: _Endpoint, name: str, params: tuple[Any, ...], *,
              label: str, model: str = "", method: str = "", retry: bool = True) -> Any:
        def once() -> Any:
            self.pacer.wait()
            self.calls[label] += 1
            log.debug("odoo %s", label)
            try:
                return proxy.call(name, params)
            except xmlrpc.client.Fault as fault:
                raise from_fault(fault, model=model or "common", method=method or name) from None
            except xmlrpc.client.ProtocolError as err:
                if err.errcode == 429:
                    self.pacer.refused()
                proxy.close()  # an unread error body would poison the kept-alive connection
                raise from_protocol(err, time_scale=self.time_scale) from None
            except NETWORK as exc:
                raise RetriableError(f"network error talking to Odoo ({type(exc).__name__})",
                                     system=SYSTEM) from None

        if not retry:
            return once()
        return call_with_retry(once, attempts=self.attempts, base=0.5 / self.time_scale)

    # ------------------------------------------------------------------ common service
    def version(self) -> dict[str, Any]:
        result: dict[str, Any] = self._send(self._common, "version", (), label="common.version")
        return result

    def authenticate(self) -> int:
        uid = self._send(self._common, "authenticate", (self.db, self.login, self._secret, {}),
                         label="common.authenticate")
        if not uid:
            raise FatalError("Odoo refused the login: check the login and the password or API"
                             " key (Odoo Online users need an API key)", system=SYSTEM,
                             status=401)
        self.uid = int(uid)
        return self.uid

    # ------------------------------------------------------------------ object service
    def execute(self, model: str, method: str, *args: Any, retry: bool = True,
                **kwargs: Any) -> Any:
        """``execute_kw(db, uid, password, model, method, args, kwargs)``."""
        if self.uid is None:
            self.authenticate()
        params = (self.db, self.uid, self._secret, model, method, list(args), kwargs)
        return self._send(self._object, "execute_kw", params, label=f"{model}.{method}",
                          model=model, method=method, retry=retry)

    def search_read(self, model: str, domain: list[Any], fields: list[str], *,
                    limit: int | None = None, order: str | None = None,
                    context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        kw: dict[str, Any] = {"fields": fields}
        if limit:
            kw["limit"] = limit
        if order:
            kw["order"] = order
        if context:
            kw["context"] = context
        result: list[dict[str, Any]] = self.execute(model, "search_read", domain, **kw)
        return result
