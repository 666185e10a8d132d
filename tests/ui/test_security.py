"""No token, no access; no CSRF token, no effect; no file outside the project's reports.

Run against the real app over HTTP (httpx and a raw socket), every route enumerated from the
app itself so a route added later is covered without editing this test.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from fastapi.routing import APIRoute

from ferry.ui.security import PathRefused, safe_report_path

SAMPLE_PARAMS = {"/mapping/value-map": {"map": "x", "i": "0"},
                 "/reports/view": {"path": "sample/x.json"}}


def _flat(routes) -> list[APIRoute]:
    """API routes, including those of included routers (however FastAPI wraps them)."""
    out: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            out.append(r)
        elif hasattr(r, "original_router"):
            out += _flat(r.original_router.routes)
    return out


def _routes(app) -> list[tuple[str, str]]:
    out = []
    for r in _flat(app.routes):
        path = r.path.replace("{path:path}", "sample/x.html")
        out += [(m, path) for m in sorted(r.methods)]
    return out


def test_every_page_and_form_refuses_without_the_token(ui_app) -> None:
    routes = _routes(ui_app.app)
    assert len([m for m, _ in routes if m == "GET"]) >= 12
    assert len([m for m, _ in routes if m == "POST"]) >= 11
    anon = ui_app.client(login=False)
    forged = httpx.Client(base_url=ui_app.url, cookies={"ferry_session": "forged"}, timeout=60)
    for method, path in routes:
        if path == "/login":
            continue
        for c in (anon, forged):
            r = c.request(method, path, params=SAMPLE_PARAMS.get(path),
                          data={"csrf_token": "x", "verb": "extract"} if method == "POST"
                          else None)
            assert r.status_code == 401, (method, path, r.status_code)
            assert "csrf_token" not in r.text  # nothing from inside leaks onto the login page
    assert ui_app.app.state.ui.jobs.current is None
    # a wrong token is refused too; the right one sets a strict, script-proof cookie
    assert anon.get("/login", params={"token": ui_app.token + "x"}).status_code == 401
    r = anon.get("/login", params={"token": ui_app.token})
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    # a DNS-rebinding Host is refused even with a session
    c = ui_app.client()
    assert c.get("/", headers={"host": "evil.example"}).status_code == 400
    assert c.get("/").status_code == 200


def test_every_form_refuses_without_the_csrf_token(ui_app) -> None:
    c = ui_app.client()
    token = ui_app.csrf(c)
    settings_before = ui_app.project.settings_path.read_text()
    posts = [p for m, p in _routes(ui_app.app) if m == "POST" and p != "/login"]
    for path in posts:
        for data, headers in (({"verb": "extract"}, {}),
                              ({"verb": "extract", "csrf_token": token + "x"}, {}),
                              ({"verb": "extract"}, {"x-csrf-token": "nope"})):
            r = c.post(path, data=data, headers=headers)
            assert r.status_code == 403, (path, data, r.status_code)
    assert ui_app.app.state.ui.jobs.current is None  # nothing started
    assert ui_app.project.settings_path.read_text() == settings_before
    assert not ui_app.project.mapping_path.exists()
    # the same form with the session's token works (the check is not simply "refuse all")
    r = c.post("/phi/reviewer", data={"reviewer": "Dr Test", "csrf_token": token})
    assert r.status_code == 303
    # another session's token is not this session's
    other = ui_app.client()
    assert other.post("/phi/reviewer", data={"reviewer": "x", "csrf_token": token}
                      ).status_code == 403


def _raw_get(url: str, target: str, cookie: str) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: ferry_session="
                  f"{cookie}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


def test_crafted_paths_cannot_read_outside_the_reports_folder(ui_app, tmp_path) -> None:
    root = ui_app.project.root
    reports = root / "reports" / "sample"
    reports.mkdir(parents=True)
    (reports / "ok.json").write_text('{"verdict": "pass", "differences": []}')
    (reports / "ok.html").write_text("<p>fine</p>")
    secret = "TOP-SECRET-NOT-A-REPORT"
    (root / "secret.json").write_text(f'{{"s": "{secret}"}}')
    (root / "secret.html").write_text(secret)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.json").write_text(f'{{"s": "{secret}"}}')
    (reports / "link.json").symlink_to(root / "secret.json")
    (root / "reports" / "evil").symlink_to(outside, target_is_directory=True)
    c = ui_app.client()
    assert c.get("/files/sample/ok.json").status_code == 200
    assert "sandbox" in c.get("/files/sample/ok.html").headers["content-security-policy"]
    assert c.get("/reports/view", params={"path": "sample/ok.json"}).status_code == 200
    crafted = ["../secret.json", "../../secret.json", "sample/../../secret.json",
               "/etc/passwd", str(root / "secret.json"), "sample/link.json", "evil/x.json",
               "sample/..%2F..%2Fsecret.json", "%2e%2e/secret.json", "..\\secret.json",
               "sample/ok.json\x00.html", "../ferry.yaml", "", "."]
    for path in crafted:
        r = c.get("/reports/view", params={"path": path})
        assert r.status_code == 404 and secret not in r.text, (path, r.status_code)
    for target in ["/files/../secret.json", "/files/..%2Fsecret.json", "/files/%2e%2e/secret.json",
                   "/files/sample/..%2F..%2Fsecret.html", "/files/sample/link.json",
                   "/files/evil/x.json", "/files//etc/passwd", "/files/%2Fetc%2Fpasswd",
                   "/files/sample/%2e%2e/%2e%2e/secret.json", "/files/../../ferry.yaml"]:
        status, body = _raw_get(ui_app.url, target, c.cookies["ferry_session"])
        assert status in (400, 404) and secret.encode() not in body, (target, status)
        assert b"root:" not in body


def test_safe_report_path_unit(tmp_path: Path) -> None:
    rep = tmp_path / "reports"
    (rep / "run").mkdir(parents=True)
    (rep / "run" / "a.json").write_text("{}")
    (rep / "run" / "a.txt").write_text("x")
    assert safe_report_path(rep, "run/a.json") == (rep / "run" / "a.json").resolve()
    for bad in ["run/a.txt", "run", "../reports/run/a.json", "run/../run/a.json", "/run/a.json",
                "run/missing.json"]:
        try:
            safe_report_path(rep, bad)
        except PathRefused:
            continue
        raise AssertionError(bad)


def test_everything_is_escaped(ui_app) -> None:
    """Text from mapping.yaml (and so from the data) is escaped, never markup."""
    from ferry.mapping.draft import draft_mapping
    from ferry.mapping.mapping_file import load, save

    path = ui_app.project.mapping_path
    save(draft_mapping("practicehub", "pipedrive"), path, "comment")
    om = load(path).object_map("patient_person")
    i, fm = next((i, f) for i, f in enumerate(om.fields) if f.source == "sex")
    c = ui_app.client()
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = c.post("/mapping/field", data={"csrf_token": ui_app.csrf(c), "map": "patient_person",
                                       "i": str(i), "source": "sex", "target": fm.target,
                                       "status": "review", "reason": evil})
    assert r.status_code == 303
    page = c.get("/mapping").text
    assert evil not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(" in page
    assert "script-src 'self'" in c.get("/mapping").headers["content-security-policy"]


def test_errors_are_pages_without_values(ui_app) -> None:
    """A Ferry error is shown as its message; anything else by class only."""
    c = ui_app.client()
    ui_app.project.settings_path.write_text("project: [unclosed\n")
    r = c.get("/")
    assert r.status_code in (409, 500) and "Traceback" not in r.text


def test_a_login_token_works_once_and_sessions_expire(ui_app) -> None:
    token = ui_app.first_token
    first = ui_app.client(login=False)
    assert first.get("/login", params={"token": token}).status_code == 303
    second = ui_app.client(login=False)
    assert second.get("/login", params={"token": token}).status_code == 401
    assert second.get("/").status_code in (401, 303)
    guard = ui_app.app.state.ui.guard
    guard.max_age_s = 0.0  # a day has passed
    assert first.get("/").status_code in (401, 303)
