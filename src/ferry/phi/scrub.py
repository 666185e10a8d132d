"""Keep PHI out of logs and tracebacks.

Log records and exception texts pass through ``scrub``, which replaces anything the detector
sees as PHI (names, dates, phones, emails, identifiers…) by typed placeholders. Ferry's own
messages name records by reference only; this is the net for everything else (a library's
exception that quotes a value, a stray f-string).
"""

from __future__ import annotations

import logging
import re

# record references (source:patient:123) and plain ids are not PHI and must stay readable
REF = re.compile(r"\b[a-z_]+:[a-z_]+:[\w\-.]+\b")


def scrub(text: str) -> str:
    if not text:
        return text
    # the detector (and phonenumbers' metadata) imported at the first text to scrub: every CLI
    # verb installs the log filter at start, and most never log or fail (~0.03 CPU-s each)
    from ferry.phi.detect import detect, redact

    refs: list[str] = []

    def keep(m: re.Match[str]) -> str:
        refs.append(m.group())
        return f"\x00{len(refs) - 1}\x00"

    masked = REF.sub(keep, text)
    clean = redact(masked, detect(masked, regions=("GB", "US", "AU", "NL", "ES")))
    return re.sub(r"\x00(\d+)\x00", lambda m: refs[int(m.group(1))], clean)


class ScrubFilter(logging.Filter):
    """Formats each record's message once, scrubbed; drops args and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not leak its args
            message = str(record.msg)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.msg += f" [{type(exc).__name__}: {scrub(str(exc))}]"
            record.exc_info = None
            record.exc_text = None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Attach the filter to every handler of ``logger`` (root by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, ScrubFilter) for f in handler.filters):
            handler.addFilter(ScrubFilter())


def safe_error(exc: BaseException) -> str:
    """One line to show for an unexpected exception: its type and a scrubbed message."""
    return f"{type(exc).__name__}: {scrub(str(exc))}"
