"""A small, real, deterministic PDF holding lines of text (for text-bearing attachments).

Hand-written PDF 1.4: one Helvetica font (WinAnsiEncoding, so Latin accents survive text
extraction), pages of up to ``LINES_PER_PAGE`` lines, a correct cross-reference table and no
timestamps or random ids, so the same text always gives the same bytes. Readers such as pypdf
extract the lines back as written.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

LINES_PER_PAGE = 70
WIDTH = 125  # characters per line at 8 pt on a Letter page with 40 pt margins


def _pdf_string(s: str) -> bytes:
    raw = s.encode("cp1252", errors="ignore") if _cp1252(s) else \
        unicodedata.normalize("NFKD", s).encode("ascii", "ignore")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _cp1252(s: str) -> bool:
    try:
        s.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def lines_of(text: str) -> list[str]:
    """The text as page lines: its own line breaks kept, a sentence per line, long sentences
    wrapped at word breaks (so a name or a date rarely straddles two lines)."""
    out: list[str] = []
    for para in text.split("\n"):
        sentences = re.split(r"(?<=[.!?]) (?=[A-Z])", para) if para else [""]
        for sentence in sentences:
            out += textwrap.wrap(sentence, WIDTH, break_long_words=False,
                                 break_on_hyphens=False) or [""]
    return out


def text_pdf(text: str, title: str = "", pad_to: int = 0) -> bytes:
    """The PDF; ``pad_to`` makes it exactly that many bytes (when that is more than the bare
    PDF) with an unreferenced stream object: a large file that costs nothing to lay out, as
    readers never decode what no page uses."""
    out = _pdf(text, title, -1)
    pad = pad_to - len(out) - 64
    for _ in range(3):  # the pad's length is written in it: settle the digits
        if pad < 0:
            return out
        out = _pdf(text, title, pad)
        if len(out) == pad_to:
            return out
        pad += pad_to - len(out)
    return out


def _pdf(text: str, title: str, pad: int) -> bytes:
    lines = ([title, ""] if title else []) + lines_of(text)
    pages = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]
    n = len(pages)
    # objects: 1 catalog, 2 pages, 3 font, then per page: page, content
    objs: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(f"{4 + 2 * k} 0 R".encode() for k in range(n))
        + f"] /Count {n} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for k, page in enumerate(pages):
        ops = [b"BT", b"/F1 8 Tf", b"10 TL", b"40 752 Td"]
        for line in page:
            ops.append(_pdf_string(line) + b" Tj T*")
        ops.append(b"ET")
        stream = b"\n".join(ops)
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources "
                    f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * k} 0 R >>".encode())
        objs.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream
                    + b"\nendstream")
    if pad >= 0:
        objs.append(b"<< /Length %d >>\nstream\n" % pad + b"0" * pad + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
            .encode())
    return bytes(out)
