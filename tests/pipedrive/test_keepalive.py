"""The keep-alive client the Pipedrive connector sends its JSON calls through (http.client):
bodies and queries as httpx writes them, connections reused, a connection the server closed
while idle never reused, no answer raised as a network error, httpx kept behind a proxy."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from ferry.connectors.http import NETWORK_ERRORS, KeepAliveClient, NetworkError, proxied
from ferry.destinations.pipedrive.client import PipedriveClient


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Any

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def _answer(self) -> None:
        if self.path.endswith("/chunked"):  # a chunked body, two Set-Cookie lines, then close
            self.send_response(200)
            for name, value in (("Transfer-Encoding", "chunked"), ("Set-Cookie", "a=1"),
                                ("Set-Cookie", "b=2"), ("Connection", "close")):
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(b"4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n")
            self.close_connection = True
            return
        size = int(self.headers.get("content-length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "type": self.headers.get("content-type"),
                           "body": self.rfile.read(size).decode()}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("X-RateLimit-Remaining", "7")
        self.end_headers()
        self.wfile.write(body)
        if self.server.drop_after:  # close without saying so, as an idle timeout does
            self.close_connection = True

    do_GET = do_POST = do_PUT = _answer

    def finish(self) -> None:
        super().finish()
        if self.close_connection:
            self.request.shutdown(socket.SHUT_RDWR)
            self.server.closed.set()

    def log_message(self, *_: Any) -> None:
        return None


@pytest.fixture
def server() -> Iterator[Any]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    srv.connections, srv.drop_after, srv.closed = 0, False, threading.Event()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _url(srv: Any) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/base"


def test_bodies_queries_and_reuse(server: Any) -> None:
    client = KeepAliveClient(_url(server), headers={"x-api-token": "t"})
    payload = {"name": "Zoë", "n": 1, "tags": [True, None]}
    r = client.request("POST", "/api/v2/persons", json=payload)
    seen = r.json()
    assert r.is_success and r.headers["x-ratelimit-remaining"] == "7"
    assert seen["path"] == "/base/api/v2/persons" and seen["type"] == "application/json"
    assert seen["body"].encode() == httpx.Request("POST", "http://x", json=payload).content
    seen = client.request("GET", "/api/v2/persons", params={"ids": "1,2", "x": True}).json()
    assert seen["path"] == "/base/api/v2/persons?" + str(
        httpx.QueryParams({"ids": "1,2", "x": True}))
    seen = client.request("PUT", "/api/v1/files/3", data={"description": "[ferry-id:a b]"}).json()
    assert seen["type"] == "application/x-www-form-urlencoded"
    assert seen["body"] == "description=%5Bferry-id%3Aa+b%5D"
    assert server.connections == 1  # one connection for the three calls
    r = client.request("GET", "/chunked")
    assert r.json() == {"a": 1} and r.headers["set-cookie"] == "a=1, b=2"
    assert client.request("GET", "/x").is_success
    assert server.connections == 2  # the server said close: that connection was not kept
    client.close()


def test_file_upload_is_multipart_as_httpx_writes_it(server: Any, tmp_path: Any) -> None:
    doc = tmp_path / "scan.txt"
    doc.write_bytes(b"plain text of a scan\n" * 5000)
    client = KeepAliveClient(_url(server))
    with doc.open("rb") as fh:
        fh.read(10)  # a retried call finds its file read: it is sent from the start again
        files = {"file": ('r\u00e9sum\u00e9 "1".txt', fh, "text/plain")}
        seen = client.request("POST", "/api/v1/files", data={"person_id": "12"},
                              files=files).json()
        want = httpx.Request("POST", "http://x/", data={"person_id": "12"}, files=files,
                             headers={"content-type": seen["type"]})
        assert seen["body"].encode() == want.read()
    assert seen["type"].startswith("multipart/form-data; boundary=")
    client.close()


def test_connection_closed_by_the_server_is_not_reused(server: Any) -> None:
    client = KeepAliveClient(_url(server))
    server.drop_after = True
    assert client.request("POST", "/a", json={}).is_success
    assert server.closed.wait(10)
    server.drop_after = False
    # sent on the closed connection, this POST would get no answer (RemoteDisconnected): a
    # create would turn ambiguous and cost a lookup, for a close the client could see
    assert client.request("POST", "/b", json={}).json()["path"] == "/base/b"
    assert server.connections == 2
    client.close()


def test_no_answer_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the connection is refused
        client = KeepAliveClient(f"http://127.0.0.1:{port}", timeout=5)
        with pytest.raises(NetworkError) as err:
            client.request("GET", "/x")
    assert isinstance(err.value, NETWORK_ERRORS)


def test_a_proxy_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert proxied("https://acme.pipedrive.com")
    client = PipedriveClient("https://acme.pipedrive.com", "t", burst=20, daily_budget=100)
    assert client.lean is None  # httpx honours the proxy; the keep-alive client would not
    client.close()
    monkeypatch.delenv("HTTPS_PROXY")
    monkeypatch.delenv("https_proxy", raising=False)
    client = PipedriveClient("https://acme.pipedrive.com", "t", burst=20, daily_budget=100)
    assert client.lean is not None
    client.close()


def _scripted(answers: list[bytes]) -> tuple[str, list[bytes]]:
    """A server that reads one request per answer on one connection and writes the answer
    in small pieces (an answer split across reads); an answer ending in ``CLOSE`` closes."""
    srv = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            for answer in answers:
                seen.append(conn.recv(65536))
                close = answer.endswith(b"CLOSE")
                answer = answer.removesuffix(b"CLOSE")
                for i in range(0, len(answer), 7):
                    conn.sendall(answer[i:i + 7])
                if close:
                    conn.shutdown(socket.SHUT_WR)
                    break
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}", seen


def test_answers_read_as_http_client_reads_them() -> None:
    big = b"x" * 200_000
    url, seen = _scripted([
        # an interim 100 before the answer; a folded header line; a header repeated
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\n"
        b"X-Long: one\r\n two\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 204 No Content\r\n\r\n",  # no body, no length
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(big), big),
        # chunk extensions and a trailer field
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n[1\r\n1\r\n]\r\n"
        b"0\r\nX-Trailer: t\r\n\r\n",
        # HTTP/1.0 with no length: the body ends where the server closes
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"end\": true}CLOSE"])
    client = KeepAliveClient(url)
    r = client.request("POST", "/a", json={})
    assert (r.status_code, r.json()) == (201, {})
    assert r.headers["x-a"] == "1, 2" and r.headers["x-long"] == "one two"
    assert client.request("DELETE", "/b").status_code == 204
    assert client.request("GET", "/c").content == big
    assert client.request("GET", "/d").json() == [1]
    assert client.request("GET", "/e").json() == {"end": True}
    assert len(seen) == 5 and not client._idle  # one connection throughout, closed at the end
    client.close()


def test_a_truncated_answer_is_a_network_error() -> None:
    url, _ = _scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\"CLOSE"])
    with pytest.raises(NetworkError):
        KeepAliveClient(url).request("GET", "/x")


def test_logs_and_errors_name_no_query_in_the_url(server: Any,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A caller may put its query in the URL (Salesforce's SOQL, values in a WHERE clause):
    the path a log line or a network error names stops before it."""
    secret = "q=SELECT+Id+FROM+Contact+WHERE+Email+%3D+%27jane%40example.org%27"
    client = KeepAliveClient(_url(server))
    with caplog.at_level("DEBUG", logger="ferry.http"):
        answer = client.request("GET", f"/query?{secret}")
    assert answer.json()["path"] == f"/base/query?{secret}"  # sent whole
    assert "/base/query" in caplog.text and "jane" not in caplog.text
    assert "jane" not in answer.path
    with socket.socket() as s, pytest.raises(NetworkError) as err:
        s.bind(("127.0.0.1", 0))  # bound, not listening: the connection is refused
        port = s.getsockname()[1]
        KeepAliveClient(f"http://127.0.0.1:{port}", timeout=2).request("GET", f"/q?{secret}")
    assert "/q" in str(err.value) and "jane" not in str(err.value)
