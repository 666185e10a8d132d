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
# what a library's exception quotes is the value it choked on: ``invalid literal for int() with
# base 10: 'Quillonia'``, ``KeyError: 'Marrowdale'``, pydantic's ``input_value='NW3 7QX'``. The
# detector knows phones, emails, dates and identifiers, not a surname, a town or a clinical word
# (hphi2's canary export: all of them came through an unexpected failure's line as written)
QUOTED = re.compile(r"""(?P<q>['"])(?P<v>(?:(?!(?P=q)).){1,200}?)(?P=q)""")
INPUT_VALUE = re.compile(r"(input_value=)(?P<v>.*?)(?=, input_type=|\]|$)", re.MULTILINE)


def _shape(text: str) -> str:
    return "".join("X" if c.isupper() else "x" if c.isalpha() else "9" if c.isdigit() else c
                   for c in text)


def exception_text(exc: BaseException) -> str:
    """An exception's message as logs and the console may show it: scrubbed, and every value
    it quotes (and pydantic's ``input_value``) shown as its shape only (``'Xxxxxxxxx'``)."""
    text = str(exc)
    if type(exc).__module__.startswith("dateutil") and len(exc.args) > 1:
        # dateutil quotes nothing: ParserError("Unknown string format: %s", text)
        try:
            text = str(exc.args[0]) % tuple(_shape(str(a)) for a in exc.args[1:])
        except (TypeError, ValueError):
            text = str(exc.args[0])
    text = INPUT_VALUE.sub(lambda m: m.group(1) + _shape(m.group("v")), text)
    text = QUOTED.sub(lambda m: m.group("q") + _shape(m.group("v")) + m.group("q"), text)
    return scrub(text)


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
            record.msg += f" [{type(exc).__name__}: {exception_text(exc)}]"
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
    """One line to show for an unexpected exception: its type and its message, scrubbed and
    with the values it quotes shown as their shape (``exception_text``)."""
    return f"{type(exc).__name__}: {exception_text(exc)}"


def safe_traceback(exc: BaseException) -> str:
    """The traceback ``FERRY_DEBUG`` prints: frames (file, line, code: no values) and, for each
    exception of the chain, ``safe_error``'s line instead of its raw message."""
    import traceback

    chain: list[BaseException] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        chain.append(e)
        seen.add(id(e))
        e = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
    parts: list[str] = []
    for i, e in enumerate(reversed(chain)):
        if i:
            parts.append("\nwhich led to:\n\n")
        if e.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(e.__traceback__))
        parts.append(safe_error(e) + "\n")
    return scrub("".join(parts))
