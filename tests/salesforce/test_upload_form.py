"""A file upload on the keep-alive client: the multipart body Salesforce documents for a
ContentVersion (``entity_content`` as JSON with its Content-Type, then the file), as httpx sent it."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

from ferry.connectors.http import KeepAliveClient
from ferry.destinations.salesforce.client import _lean_form


def _capture_one() -> tuple[int, list[bytes], threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        buf = b""
        while not buf.endswith(b"--\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        got.append(buf)
        conn.sendall(b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                     b"content-length: 11\r\n\r\n{\"id\":\"x\"}\n")
        conn.close()
        srv.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv.getsockname()[1], got, thread


def test_upload_parts_carry_their_content_types(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.4 body")
    port, got, thread = _capture_one()
    with path.open("rb") as fh:
        entity = json.dumps({"Title": "scan", "PathOnClient": "scan.pdf"})
        form = _lean_form({"entity_content": (None, entity, "application/json"),
                           "VersionData": ("scan.pdf", fh, "application/pdf")})
        assert form is not None
        client = KeepAliveClient(f"http://127.0.0.1:{port}")
        res = client.request("POST", "/services/data/v62.0/sobjects/ContentVersion",
                             data=form[0], files=form[1])
        client.close()
    thread.join(5)
    assert res.status_code == 201 and res.json() == {"id": "x"}
    head, _, body = got[0].partition(b"\r\n\r\n")
    boundary = head.split(b"boundary=")[1].split(b"\r\n")[0]
    assert body == (b"--%s\r\nContent-Disposition: form-data; name=\"entity_content\"\r\n"
                    b"Content-Type: application/json\r\n\r\n%s\r\n"
                    b"--%s\r\nContent-Disposition: form-data; name=\"VersionData\";"
                    b" filename=\"scan.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
                    b"%%PDF-1.4 body\r\n--%s--\r\n"
                    % (boundary, entity.encode(), boundary, boundary))
    assert int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]) == len(body)


def test_forms_the_keep_alive_client_cannot_send_stay_on_httpx(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a")
    with path.open("rb") as fh, path.open("rb") as fh2:
        assert _lean_form({"a": ("a.txt", fh, "text/plain"),
                           "b": ("b.txt", fh2, "text/plain")}) is None  # two files
        assert _lean_form({"entity_content": (None, b"{}", "application/json"),
                           "VersionData": ("a.txt", fh, "text/plain")}) is None  # bytes part
        assert _lean_form({"entity_content": (None, "{}", "application/json")}) is None
