"""The Odoo external API over JSON-RPC (``/jsonrpc``) or XML-RPC — calls only, no mapping logic.

Both are the ``common``/``object`` services every Odoo from 8 to 19 serves (NOTES 1.1, 1.5), with
the same arguments and the same results; they point at a local emulator as easily as at a real
server (NOTES 6). JSON-RPC is the default (setting ``protocol``): orjson makes and reads its
bodies in C, where XML-RPC's are built and parsed a value at a time in Python (a fifth of an
Odoo load's CPU, with the escaping of large base64 texts). Odoo's JSON-RPC errors (an ``error``
object with the exception's dotted name, NOTES 1.5) are read back as the fault XML-RPC would
have raised, so both protocols give the same Ferry errors. Every call goes
through the ``Pacer`` (the 1 call/second default is a vendor's self-imposed courtesy, not an Odoo
rule, hence a setting) and is counted. Idempotent calls (reads, write, unlink) are retried on
429/5xx/network failures and lock faults; ``create`` is not retried here because a call that
timed out may have committed — the writer re-checks by source id first (NOTES 5).

Logs carry the model and method only: never arguments, results or the password.
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.client
import itertools
import logging
import re
import urllib.parse
import weakref
import xml.parsers.expat
import xmlrpc.client
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pybase64

from ferry.connectors.http import call_with_retry
from ferry.connectors.ratelimit import Pacer
from ferry.destinations.odoo.errors import SYSTEM, Ambiguous, from_fault, from_protocol
from ferry.errors import FatalError
from ferry.model.crypto import PlainView

if TYPE_CHECKING:  # imported where an XML-RPC answer is read: JSON-RPC (the default) never
    import xml.etree.ElementTree as ET  # noqa: N817 - the stdlib's own name

log = logging.getLogger("ferry.odoo")


class BadAnswer(ValueError):
    """An answer cut short or not JSON-RPC at all (a proxy's page): retried, as a broken XML one."""


NETWORK = (OSError, http.client.HTTPException, xml.parsers.expat.ExpatError, EOFError,
           BadAnswer)


class FileB64:
    """A file's content as an XML-RPC base64 text value (``ir.attachment.datas``), read and
    encoded a chunk at a time while the request is sent: the call never holds the file, nor
    its base64 text, nor that text escaped and encoded again by the marshaller, in memory (a
    90 MB file cost about six times its size, and most of the upload's CPU)."""

    CHUNK = 3 * 2**20  # a multiple of 3: the chunks' base64 texts join into the file's

    def __init__(self, path: Path | PlainView) -> None:
        self.path = path  # a file, or a stored one read as its plain content
        self.size = self.path.stat().st_size
        number = next(_FILE_IDS)
        self.token = f"\x00ferry-file-{number}\x00"
        _FILES[number] = self

    @property
    def b64_length(self) -> int:
        return 4 * ((self.size + 2) // 3)

    def chunks(self) -> Iterator[bytes]:
        """The file's base64 text, a block at a time. A stored file's blocks are its decrypted
        chunks as they come (``PlainView.blocks``), not read again through a file object that
        sliced and copied each chunk twice (a tenth of an Odoo load's samples); a chunk's last
        one or two bytes, cut off to keep each piece a multiple of 3, are encoded with the next
        chunk's first bytes, so the pieces' texts join into the file's."""
        view = self.path
        blocks = view.blocks() if isinstance(view, PlainView) else _blocks(view, self.CHUNK)
        carry = b""
        for block in blocks:
            data = memoryview(block)
            if carry:
                head = carry + bytes(data[:3 - len(carry)])
                data = data[3 - len(carry):]
                if len(head) < 3:
                    carry = head
                    continue
                yield pybase64.b64encode(head)
            cut = len(data) - len(data) % 3
            if cut:
                # pybase64 (SIMD): the stdlib's encoder ran at ~370 MB/s and was a fifth of
                # the Odoo load's CPU; the text is the same
                yield pybase64.b64encode(data[:cut])
            carry = bytes(data[cut:])
        if carry:
            yield pybase64.b64encode(carry)


def _blocks(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while block := fh.read(size):
            yield block


_FILE_IDS = itertools.count()
_FILES: weakref.WeakValueDictionary[int, FileB64] = weakref.WeakValueDictionary()
#: a file's token in a request body: as XML-RPC writes it, and as JSON escapes its NULs
_FILE_MARK = re.compile(rb"\x00ferry-file-(\d+)\x00")
_JSON_FILE_MARK = re.compile(rb"\\u0000ferry-file-(\d+)\\u0000")


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
    import xml.etree.ElementTree as ET  # noqa: N817 - the stdlib's own name

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

    file_mark = _FILE_MARK

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
        for m in self.file_mark.finditer(request_body):
            f = _FILES.get(int(m.group(1)))
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


class _Json:
    """The transport's JSON-RPC side: ``application/json`` bodies, answers read by orjson, an
    ``error`` object raised as the ``Fault`` XML-RPC would carry (``fault_of``)."""

    file_mark = _JSON_FILE_MARK

    def send_headers(self, connection: http.client.HTTPConnection,
                     headers: list[tuple[str, str]]) -> None:
        super().send_headers(connection, [  # type: ignore[misc]
            ("Content-Type", "application/json") if k == "Content-Type" else (k, v)
            for k, v in headers])

    def parse_response(self, response: http.client.HTTPResponse) -> tuple[Any, ...]:
        body = response.read()
        if response.getheader("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BadAnswer("not a JSON-RPC answer") from None
        if not isinstance(answer, dict) or ("result" not in answer and "error" not in answer):
            raise BadAnswer("not a JSON-RPC answer")
        if "error" in answer:
            raise fault_of(answer["error"])
        return (answer["result"],)


#: Odoo's exceptions (``data.name`` of a JSON-RPC error) → the ``/xmlrpc/2`` fault code Odoo
#: gives the same exception (NOTES 1.4); any other name is code 1, with the traceback as text
_FAULT_CODES = {
    "odoo.exceptions.AccessDenied": 3,
    "odoo.exceptions.AccessError": 4,
    "odoo.exceptions.UserError": 2,
    "odoo.exceptions.ValidationError": 2,
    "odoo.exceptions.MissingError": 2,
    "odoo.exceptions.RedirectWarning": 2,
}


def fault_of(error: Any) -> xmlrpc.client.Fault:
    """A JSON-RPC ``error`` object as the ``xmlrpc.client.Fault`` that ``/xmlrpc/2`` gives for
    the same exception: code by the exception's name, text its message (codes 2-4) or its
    traceback (code 1), so ``errors.from_fault`` reads both protocols alike."""
    data = error.get("data") if isinstance(error, dict) else None
    if not isinstance(data, dict):
        return xmlrpc.client.Fault(1, str((error or {}).get("message", "")
                                          if isinstance(error, dict) else error))
    code = _FAULT_CODES.get(str(data.get("name") or ""), 1)
    if code == 1:
        return xmlrpc.client.Fault(1, str(data.get("debug") or data.get("message") or ""))
    return xmlrpc.client.Fault(code, str(data.get("message") or ""))


def server_datetime(value: dt.datetime) -> str:
    """A date-time as Odoo's server text: UTC, naive, to the second. ``isoformat`` is the same
    text at a fraction of ``strftime``'s cost (2 % of a 1k Odoo load's samples); ``strftime``
    kept where they differ (``%Y`` does not pad years before 1000)."""
    if value.tzinfo:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return (value.isoformat(" ", "seconds") if value.year >= 1000
            else value.strftime("%Y-%m-%d %H:%M:%S"))


def _json_value(value: Any) -> Any:
    """Values orjson does not write itself: a streamed file as its token (replaced by the file's
    base64 text as the request is sent); dates as Odoo's server format."""
    if isinstance(value, FileB64):
        return value.token
    if isinstance(value, dt.datetime):
        return server_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} to Odoo")


_REQUEST_IDS = itertools.count(1)


def json_body(service: str, method: str, params: tuple[Any, ...]) -> bytes:
    """A JSON-RPC call of ``service.method(*params)`` (NOTES 1.5)."""
    return orjson.dumps({"jsonrpc": "2.0", "method": "call",
                         "params": {"service": service, "method": method, "args": params},
                         "id": next(_REQUEST_IDS)},
                        default=_json_value, option=orjson.OPT_PASSTHROUGH_DATETIME)


class _Transport(_Timeout, xmlrpc.client.Transport):
    pass


class _SafeTransport(_Timeout, xmlrpc.client.SafeTransport):
    pass


class _JsonTransport(_Json, _Timeout, xmlrpc.client.Transport):
    pass


class _JsonSafeTransport(_Json, _Timeout, xmlrpc.client.SafeTransport):
    pass


class _Endpoint:
    """What ``ServerProxy`` does for one service URL, with the request body made by ``dumps``
    (the same bytes as ``xmlrpc.client.dumps``, with less CPU per value)."""

    def __init__(self, url: str, transport: xmlrpc.client.Transport) -> None:
        parts = urllib.parse.urlsplit(url)
        self.host = parts.netloc
        self.handler = urllib.parse.urlunsplit(["", "", *parts[2:]]) or "/RPC2"
        self.transport = transport

    def body(self, method: str, params: tuple[Any, ...]) -> bytes:
        return dumps(params, method)

    def call(self, method: str, params: tuple[Any, ...]) -> Any:
        response = self.transport.request(self.host, self.handler, self.body(method, params),
                                          verbose=False)
        return response[0] if len(response) == 1 else response

    def close(self) -> None:
        self.transport.close()


class _JsonEndpoint(_Endpoint):
    """One service over ``/jsonrpc``: the service is named in the body, not the URL."""

    def __init__(self, url: str, service: str, transport: xmlrpc.client.Transport) -> None:
        super().__init__(url, transport)
        self.service = service

    def body(self, method: str, params: tuple[Any, ...]) -> bytes:
        return json_body(self.service, method, params)


PROTOCOLS = ("jsonrpc", "xmlrpc")


class OdooRpc:
    """One authenticated user on one database; serial calls (one in flight, NOTES 5)."""

    def __init__(self, url: str, db: str, login: str, secret: str, *, pacer: Pacer,
                 timeout: float = 120.0, time_scale: float = 1.0, attempts: int = 6,
                 protocol: str = "jsonrpc") -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown Odoo protocol {protocol!r}: one of {PROTOCOLS}")
        self.protocol = protocol
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
        tls = self.url.startswith("https")
        transport: xmlrpc.client.Transport
        if self.protocol == "jsonrpc":
            transport = _JsonSafeTransport(self.timeout) if tls else _JsonTransport(self.timeout)
            return _JsonEndpoint(f"{self.url}/jsonrpc", service, transport)
        transport = _SafeTransport(self.timeout) if tls else _Transport(self.timeout)
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
                raise Ambiguous(f"network error talking to Odoo ({type(exc).__name__})",
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
