"""File links fetched on kept-alive connections (``links.Links``): a connection the server closed
between two files is replaced, and a compressed body is stored as its content."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ferry.sources.practicehub.client import PracticeHubClient

FILES = {f"/f{i}": bytes(range(256)) * (40 * i + 3) for i in range(1, 5)}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = FILES[self.path.split("?")[0]]
        gz = self.server.mode == "gzip"  # type: ignore[attr-defined]
        if gz:
            body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        self.wfile.write(body)
        # "idle": the server drops the connection after each answer without saying so, as one
        # whose keep-alive timeout passed between two files would
        self.close_connection = self.server.mode == "idle"  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        self.server.accepted += 1  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[object]:
    servers = []

    def start(mode: str) -> http.server.ThreadingHTTPServer:
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        srv.mode, srv.accepted = mode, 0  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _fetch_all(srv: http.server.ThreadingHTTPServer, tmp_path: Path, *, one_thread: bool
               ) -> list[tuple[int, str]]:
    """Every file through the client; ``one_thread``: in this thread, in turn (the download
    threads keep a connection each, so only then is the count of connections known)."""
    port = srv.server_address[1]
    client = PracticeHubClient(f"http://127.0.0.1:{port}/api", ["k"], "tests", attempts=1)
    urls = {name: f"http://127.0.0.1:{port}{name}?sig=1" for name in FILES}
    if one_thread:
        out = [client._download_blocking(url, tmp_path / f"{name[1:]}.bin", "ref", None)[:2]
               for name, url in urls.items()]
        asyncio.run(client.aclose())
        return out

    async def run() -> list[tuple[int, str]]:
        got = [(await client.download(url, tmp_path / f"{name[1:]}.bin", "ref"))[:2]
               for name, url in urls.items()]
        await client.aclose()
        return got

    return asyncio.run(run())


def _want() -> list[tuple[int, str]]:
    return [(len(b), hashlib.sha256(b).hexdigest()) for b in FILES.values()]


def test_files_share_a_kept_connection(serve, tmp_path: Path) -> None:
    srv = serve("keep")
    assert _fetch_all(srv, tmp_path, one_thread=True) == _want()
    assert srv.accepted == 1


def test_a_connection_the_server_closed_is_replaced(serve, tmp_path: Path) -> None:
    srv = serve("idle")
    # attempts=1: no retry hid a failure
    assert _fetch_all(srv, tmp_path, one_thread=True) == _want()
    assert srv.accepted == len(FILES)
    assert [p.read_bytes() for p in sorted(tmp_path.glob("f*.bin"))] == list(FILES.values())


def test_a_compressed_body_is_stored_as_its_content(serve, tmp_path: Path) -> None:
    srv = serve("gzip")
    assert _fetch_all(srv, tmp_path, one_thread=False) == _want()
    assert [p.read_bytes() for p in sorted(tmp_path.glob("f*.bin"))] == list(FILES.values())


def _scripted(answers: list[bytes]) -> str:
    """A server that answers each request of one connection with the next of ``answers``,
    written in small pieces; an answer ending in ``CLOSE`` closes the connection after it."""
    import socket

    srv = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            for answer in answers:
                conn.recv(65536)
                close = answer.endswith(b"CLOSE")
                answer = answer.removesuffix(b"CLOSE")
                for i in range(0, len(answer), 5000):
                    conn.sendall(answer[i:i + 5000])
                if close:
                    conn.shutdown(socket.SHUT_WR)
                    break
        srv.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}"


def test_bodies_stream_by_length_chunks_or_close(tmp_path: Path) -> None:
    """Read into the writer's buffer as they arrive: a chunked body (extensions, a trailer),
    a length on a kept connection, a body ended by the close."""
    data = FILES["/f4"]
    chunked = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(data[i:i + 3000]), data[i:i + 3000])
                       for i in range(0, len(data), 3000))
    base = _scripted([
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked
        + b"0\r\nX-Trailer: t\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data),
        b"HTTP/1.0 200 OK\r\n\r\n" + data + b"CLOSE"])
    client = PracticeHubClient(f"{base}/api", ["k"], "tests", attempts=1)
    got = [client._download_blocking(f"{base}/f{i}", tmp_path / f"{i}.bin", "ref", None)[:2]
           for i in range(3)]
    asyncio.run(client.aclose())
    assert got == [(len(data), hashlib.sha256(data).hexdigest())] * 3


def test_a_body_cut_short_is_retried_not_stored(tmp_path: Path) -> None:
    from ferry.errors import RetriableError

    data = FILES["/f2"]
    base = _scripted([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data) + 10, data)
                      + b"CLOSE"])
    client = PracticeHubClient(f"{base}/api", ["k"], "tests", attempts=1)
    with pytest.raises(RetriableError, match="file download failed"):
        client._download_blocking(f"{base}/f", tmp_path / "f.bin", "ref", None)
    asyncio.run(client.aclose())
    assert not list(tmp_path.iterdir()) and client.stats.network_errors == 1


def test_a_pages_files_download_two_at_a_time(tmp_path: Path) -> None:
    """``fetch_files`` keeps two downloads in flight: the store sends one file while Ferry
    hashes and seals the other (one at a time, the extract's wall was both CPUs' sum). This
    server answers a file only once a second request is waiting beside it (within 30 s: a
    loaded machine may start the second lane's thread seconds late; one at a time, the wait
    breaks and the test fails)."""
    from ferry.model.entities import Document
    from ferry.sources.practicehub.reader import PracticeHubSource

    together = threading.Barrier(2, timeout=30)

    class Paired(_Handler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            together.wait()
            super().do_GET()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Paired)
    srv.mode, srv.accepted = "keep", 0  # type: ignore[attr-defined]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    client = PracticeHubClient(f"http://127.0.0.1:{port}/api", ["k"], "tests", attempts=1)
    source = PracticeHubSource(client)
    docs = [Document(source_id=name[1:], file_name=f"{name[1:]}.bin",
                     url=f"http://127.0.0.1:{port}{name}?sig=1") for name in FILES]

    async def run() -> list[object]:
        got = await source.fetch_files(docs, [tmp_path / f"{d.source_id}.bin" for d in docs])
        await source.aclose()
        return got

    try:
        infos = asyncio.run(run())
    finally:
        srv.shutdown()
        srv.server_close()
    assert not together.broken
    assert [(i.size, i.sha256) for i in infos] == _want()  # type: ignore[attr-defined]
    assert [i.path for i in infos] == [tmp_path / f"{d.source_id}.bin"  # type: ignore[attr-defined]
                                       for d in docs]
