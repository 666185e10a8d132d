"""``ferry ui``: the FastAPI app — login, the guard every route passes, page rendering.

The guard is an app-wide dependency, so no route can forget it: it refuses a non-loopback Host,
a request without a valid session cookie (401 and the login form), and any POST whose CSRF token
does not match the session's (403). Pages are server-rendered Jinja templates with autoescape
on; the only JavaScript polls the job endpoint and fills in text nodes.
"""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from ferry.engine.project import Project
from ferry.errors import FerryError
from ferry.ui.jobs import Jobs
from ferry.ui.security import (
    COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    Guard,
    Session,
    host_ok,
    same,
)

log = logging.getLogger("ferry.ui")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
NAV = [("/", "Overview"), ("/mapping", "Mapping"), ("/owners", "Owners"), ("/phi", "PHI review"),
       ("/runs", "Run"), ("/reports", "Reports"), ("/audit", "Audit log"), ("/guide", "Guide"),
       ("/rollback", "Rollback")]


class UI:
    """Per-server state: the project, the login guard, the job runner, the templates."""

    def __init__(self, root: Path, guard: Guard | None = None) -> None:
        self.project = Project.at(root)
        self.guard = guard or Guard()
        self.jobs = Jobs()
        self.env = Environment(loader=PackageLoader("ferry.ui", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True))
        self._schema: Any = None
        self._schema_lock = threading.Lock()

    def schema(self, refresh: bool = False) -> Any:
        """The destination's schema, read once it has been read successfully (it is what
        `ferry map` checks against); None while the destination is unreachable."""
        from ferry.engine.mapflow import destination_schema

        with self._schema_lock:
            if not self._schema or refresh:
                self._schema = destination_schema(self.project)[0] or []
            return self._schema or None

    def render(self, request: Request, name: str, status_code: int = 200,
               **ctx: Any) -> HTMLResponse:
        sess: Session | None = getattr(request.state, "session", None)
        flashes = list(sess.flashes) if sess else []
        if sess is not None:
            sess.flashes.clear()
        try:
            title = self.project.settings.project
        except Exception:  # noqa: BLE001 - a broken ferry.yaml still renders the page
            title = self.project.root.name
        html = self.env.get_template(name).render(
            csrf=sess.csrf if sess else "", csrf_field=CSRF_FIELD, nav=NAV,
            here=request.url.path, project_name=title, flashes=flashes, **ctx)
        return HTMLResponse(html, status_code=status_code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A one-time message shown on the next page this session renders."""
    sess: Session | None = getattr(request.state, "session", None)
    if sess is not None:
        sess.flashes.append({"kind": kind, "text": text})


def ui_of(request: Request) -> UI:
    return request.app.state.ui  # type: ignore[no-any-return]


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def guard(request: Request) -> None:
    """Runs before every route (see the module docstring)."""
    if not host_ok(request.headers.get("host")):
        raise HTTPException(400, "this server answers on 127.0.0.1 only")
    if request.url.path == "/login":
        return
    sess = ui_of(request).guard.session(request.cookies.get(COOKIE))
    if sess is None:
        raise HTTPException(401, "log in with the token `ferry ui` printed")
    request.state.session = sess
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            sent = (await request.form()).get(CSRF_FIELD)  # type: ignore[assignment]
    if not same(sent if isinstance(sent, str) else None, sess.csrf):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def create_app(root: Path, guard_: Guard | None = None) -> FastAPI:
    """The app for the project at ``root``; ``app.state.ui.guard.token`` is the login token."""
    from ferry.ui.routes import mapping, pages, phi, reports, runs

    app = FastAPI(title="Ferry", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(guard)])
    app.state.ui = UI(root, guard_)
    app.mount("/static", StaticFiles(packages=[("ferry.ui", "static")]), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        try:
            response: Response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - no traceback in the log: it may quote values
            log.warning("ui %s %s failed: %s", request.method, request.url.path,
                        type(exc).__name__)
            response = Response(f"{type(exc).__name__}: the request failed (details withheld:"
                                " an unexpected error's message may quote record values)",
                                status_code=500, media_type="text/plain")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # the login URL carries the token
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.method not in SAFE_METHODS:
            return Response(str(exc.detail), status_code=exc.status_code,
                            media_type="text/plain")
        name = "login.html" if exc.status_code == 401 else "error.html"
        return ui_of(request).render(request, name, exc.status_code, message=exc.detail)

    @app.exception_handler(FerryError)
    async def ferry_error(request: Request, exc: FerryError) -> Response:
        """Ferry's own errors name what to fix and carry no values: shown as they are."""
        if request.url.path.startswith("/api/") or request.method not in SAFE_METHODS:
            return Response(str(exc), status_code=409, media_type="text/plain")
        return ui_of(request).render(request, "error.html", 409, message=str(exc))

    @app.get("/login")
    async def login_get(request: Request, token: str = "") -> Response:
        if not token:
            return ui_of(request).render(request, "login.html", message="")
        return _login(request, token)

    @app.post("/login")
    async def login_post(request: Request) -> Response:
        form = await request.form()
        token = form.get("token")
        return _login(request, token if isinstance(token, str) else "")

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        ui_of(request).guard.logout(request.cookies.get(COOKIE))
        resp = back("/login")
        resp.delete_cookie(COOKIE, path="/")
        return resp

    for module in (pages, mapping, phi, runs, reports):
        app.include_router(module.router)
    return app


def _login(request: Request, token: str) -> Response:
    sid = ui_of(request).guard.login(token)
    if sid is None:
        return ui_of(request).render(request, "login.html", 401,
                                     message="That token is not right.")
    resp = back("/")
    resp.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/")
    return resp


def bind(port: int = 0) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: any free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    return sock


class Served:
    """A running server in a thread (``ferry ui`` runs it in the foreground instead)."""

    def __init__(self, app: FastAPI, port: int = 0) -> None:
        import uvicorn

        self.sock = bind(port)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="ferry-ui", daemon=True)

    def start(self) -> Served:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            self.thread.join(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
