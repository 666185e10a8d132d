"""Who may use the UI and what it may read.

The UI drives writes into a production CRM and shows PHI on its review page, so it is locked even
though it listens on 127.0.0.1 only: any local process (or a web page in the user's browser, via
DNS rebinding or a cross-site form) could otherwise reach it.

* A login token is made when the server starts and printed once; ``/login?token=…`` (or the
  login form) trades it for a session cookie (HttpOnly, SameSite=Strict). Tokens are compared
  in constant time.
* Every session has its own CSRF token; every POST must carry it (hidden form field
  ``csrf_token`` or header ``X-CSRF-Token``), compared in constant time.
* Requests whose Host is not loopback are refused (DNS rebinding).
* Report files are served only from inside ``<project>/reports``: no ``..``, no absolute paths,
  no symlinks anywhere on the way, and the resolved path must still be inside the folder.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

COOKIE = "ferry_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
SERVED_SUFFIXES = frozenset({".html", ".json"})


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two secrets (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


@dataclass
class Session:
    csrf: str
    created: float = field(default_factory=time.monotonic)
    reviewer: str = ""  # the name PHI decisions are recorded under
    flashes: list[dict[str, str]] = field(default_factory=list)  # shown once, then dropped


@dataclass
class Guard:
    """The login token and the live sessions of one server."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    max_age_s: float = 12 * 3600  # a session lasts a working day

    def issue(self) -> str:
        """A fresh login token (the previous one stops working)."""
        with self._lock:
            self.token = secrets.token_urlsafe(24)
            return self.token

    def login(self, token: str | None) -> str | None:
        """A new session id for the right token, else None. A token works once: a link seen
        in a terminal's scrollback or a browser's history cannot open a second session."""
        with self._lock:
            if not same(token, self.token):
                return None
            self.token = secrets.token_urlsafe(24)  # spent: nobody knows the next one
            sid = secrets.token_urlsafe(32)
            self.sessions[sid] = Session(csrf=secrets.token_urlsafe(32))
        return sid

    def session(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            for known, sess in list(self.sessions.items()):
                if same(sid, known):
                    if time.monotonic() - sess.created > self.max_age_s:
                        del self.sessions[known]  # expired: log in again with a new link
                        return None
                    return sess
        return None

    def logout(self, sid: str | None) -> None:
        with self._lock:
            if sid in self.sessions:
                del self.sessions[sid]


def host_ok(host_header: str | None) -> bool:
    """True when the Host header names the loopback interface (any port)."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host.split("]")[0] + "]"
    else:
        name = host.rsplit(":", 1)[0] if ":" in host else host
    return name in LOOPBACK_HOSTS


class PathRefused(Exception):
    """A requested report path is outside the reports folder (or not a report file)."""


def safe_report_path(reports_root: Path, relative: str) -> Path:
    """The file ``relative`` names inside ``reports_root``, or PathRefused.

    Checks the text (no absolute path, no ``..``, no backslashes or NULs), that no component on
    the way is a symlink, and that the resolved path is still inside the resolved root.
    """
    if not relative or "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise PathRefused("bad path")
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise PathRefused("bad path")
    root = reports_root.resolve()
    if reports_root.is_symlink() or not root.is_dir():
        raise PathRefused("no reports folder")
    here = root
    for part in parts:
        here = here / part
        if here.is_symlink():
            raise PathRefused("symlink")
    final = here.resolve()
    if not final.is_relative_to(root) or not final.is_file():
        raise PathRefused("not a report file")
    if final.suffix.lower() not in SERVED_SUFFIXES:
        raise PathRefused("not a report file")
    return final
