"""PHI detection in free text: the record's own identifiers plus patterns and word lists.

Two nets, both offline and deterministic:
1. what the record says about its own patient (name, date of birth, MRN, phones, emails,
   address): every occurrence is found exactly, whatever the text around it;
2. patterns for what it cannot know: other people's names (given-name lists of many locales,
   titles), dates, MRN / SSN / national ids, phone numbers (libphonenumber for the practice's
   regions), emails, street addresses, ICD-10 and CPT codes, medications (a generic-name list,
   and any word followed by a dose).

A miss leaks PHI, so the patterns lean to recall; ``bench/phi.py`` measures both sides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from ferry.phi.lexicon import MEDICATIONS, family_names, given_names

TYPES = ("name", "person", "dob", "date", "mrn", "national_id", "phone", "email", "address",
         "icd10", "cpt", "medication")
PLACEHOLDER = {t: f"[{t.upper()}]" for t in TYPES}
DEFAULT_REGIONS = ("GB", "US", "AU", "NL", "ES", "IE", "IN", "NZ", "CA", "DE", "FR")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int
    type: str


@dataclass
class Known:
    """What the record itself tells us about its patient (and anyone else it names)."""

    names: list[str] = field(default_factory=list)  # full names; first/last parts are used too
    dates: list[str] = field(default_factory=list)  # DOB in any rendering
    identifiers: list[str] = field(default_factory=list)  # MRN, patient number, national id
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)


MONTHS = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
DATE_RE = re.compile(
    rf"\b(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|\d{{4}}[/.\-]\d{{1,2}}[/.\-]\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTHS},?\s+\d{{4}}|{MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?"
    rf"\s+\d{{4}})\b", re.IGNORECASE)
DOB_CONTEXT = re.compile(r"(?:\bDOB\b|\bD\.O\.B\b|date of birth|\bborn\b|\bb\.)[\s:,(]*$",
                         re.IGNORECASE)
MRN_RE = re.compile(r"\b(?:MRN|MR#|med(?:ical)?\s+rec(?:ord)?(?:\s+(?:no|number))?\.?|patient"
                    r"\s+(?:no|number|id)\.?|hospital\s+(?:no|number))[\s:#\-]*[A-Z0-9][A-Z0-9\-]{3,}",
                    re.IGNORECASE)
MRN_TOKEN = re.compile(r"\bMRN\d{4,}\b")
SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
NATIONAL_RE = re.compile(r"\b(?:NHS|BSN|SSN|DNI|NIE|PPSN|TFN|Medicare|national\s+id)"
                         r"(?:\s+(?:no|number))?[\s:#.]*[A-Z0-9][A-Z0-9 \-]{5,14}[A-Z0-9]",
                         re.IGNORECASE)
EMAIL_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
STREET_WORDS = (r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Boulevard"
                r"|Blvd|Close|Crescent|Terrace|Parade|Highway|Hwy|Square|Sq|Gardens|Grove|Hill|Row"
                r"|Mews|Walk")
ADDRESS_RE = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'\-]+\s+){{1,4}}(?:{STREET_WORDS})\b\.?"
    rf"|\b(?:[A-Z][\w'\-]*(?:straat|laan|weg|plein|gracht|kade|singel))\s+\d{{1,5}}[a-z]?\b"
    rf"|\b(?:Calle|Avenida|Plaza|Paseo|Camino)\s+(?:de\s+(?:la\s+)?)?[A-Z][\w'\-]+"
    rf"(?:\s+[A-Z][\w'\-]+)*,?\s*\d{{1,4}}\b")
ICD_RE = re.compile(r"\b[A-TV-Z]\d{2}(?:\.\d{1,4}[A-Z]?)?\b")
ICD_CONTEXT = re.compile(r"(?:ICD|dx|diagnos\w*|code)[\s:#\-]*$|\($", re.IGNORECASE)
CPT_RE = re.compile(r"\b\d{5}\b")
CPT_CONTEXT = re.compile(r"(?:CPT|procedure|proc\.?)\s*(?:code)?[\s:#\-]*$", re.IGNORECASE)
DOSE = r"\s+\d+(?:[.,]\d+)?\s?(?:mg|g|mcg|µg|ug|ml|mL|units?|IU)\b|\s+\d+(?:[.,]\d+)?\s?%"
FORM = (r"\s+(?:gel|cream|ointment|inhaler|tablets?|capsules?|drops|spray|patch(?:es)?|"
        r"injection|solution|syrup|suspension|lotion|pessar(?:y|ies)|suppositor(?:y|ies)|"
        r"modified[- ]release|MR|XL|SR)\b")
DOSED_WORD_RE = re.compile(rf"\b[A-Z][a-z]{{3,}}(?:\s+[A-Z][a-z]+)?{DOSE}")
WORD_RE = re.compile(r"\b[^\W\d_][\w'\-]*\b")
TITLE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+[A-Z][\w'\-]+(?:\s+[A-Z][\w'\-]+)?")
NOT_SURNAME = frozenset("""and or but the with for from to in on at of by as is was has had his her
their our your my this that these those patient note plan review assessment presenting consistent
follow up called said reports reported advised will may can could should today yesterday
tomorrow please thanks thank hi hello dear regards""".split())


def _occurrences(text: str, needle: str, kind: str, out: list[Span]) -> None:
    if not needle or len(needle) < 3:
        return
    for m in re.finditer(re.escape(needle), text, re.IGNORECASE):
        out.append(Span(m.start(), m.end(), kind))


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _known_spans(text: str, known: Known) -> list[Span]:
    out: list[Span] = []
    for full in known.names:
        _occurrences(text, full, "name", out)
        for part in full.split():
            if len(part) > 2 and part.lower() not in NOT_SURNAME:
                for m in re.finditer(rf"\b{re.escape(part)}\b", text, re.IGNORECASE):
                    out.append(Span(m.start(), m.end(), "name"))
    for d in known.dates:
        _occurrences(text, d, "dob", out)
    for ident in known.identifiers:
        _occurrences(text, ident, "mrn", out)
    for e in known.emails:
        _occurrences(text, e, "email", out)
    for a in known.addresses:
        _occurrences(text, a, "address", out)
    for p in known.phones:  # the stored value verbatim, even when it is no valid number
        _occurrences(text, p, "phone", out)
    wanted = {_digits(p)[-9:] for p in known.phones if len(_digits(p)) >= 7}
    if wanted:
        for m in re.finditer(r"\+?\d[\d ()\-.]{6,}\d", text):
            if _digits(m.group())[-9:] in wanted:
                out.append(Span(m.start(), m.end(), "phone"))
    return out


def _pattern_spans(text: str, regions: Iterable[str]) -> list[Span]:
    out: list[Span] = []
    for m in DATE_RE.finditer(text):
        before = text[max(0, m.start() - 20):m.start()]
        out.append(Span(m.start(), m.end(), "dob" if DOB_CONTEXT.search(before) else "date"))
    for rx, kind in ((MRN_RE, "mrn"), (MRN_TOKEN, "mrn"), (SSN_RE, "national_id"),
                     (NATIONAL_RE, "national_id"), (EMAIL_RE, "email"),
                     (ADDRESS_RE, "address"), (TITLE_RE, "person")):
        out.extend(Span(m.start(), m.end(), kind) for m in rx.finditer(text))
    for m in ICD_RE.finditer(text):
        before = text[max(0, m.start() - 20):m.start()]
        if "." in m.group() or ICD_CONTEXT.search(before):
            out.append(Span(m.start(), m.end(), "icd10"))
    for m in CPT_RE.finditer(text):
        if CPT_CONTEXT.search(text[max(0, m.start() - 25):m.start()]):
            out.append(Span(m.start(), m.end(), "cpt"))
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(text, region,
                                                     leniency=phonenumbers.Leniency.VALID):
            out.append(Span(match.start, match.end, "phone"))
    out.extend(_medications(text))
    out.extend(_names(text))
    return out


def _medications(text: str) -> list[Span]:
    out = [Span(m.start(), m.end(), "medication") for m in DOSED_WORD_RE.finditer(text)]
    for m in WORD_RE.finditer(text):
        if m.group().lower() in MEDICATIONS:
            end = m.end()
            for rx in (FORM, DOSE, FORM):  # "Hydrocortisone cream 1%", "Diclofenac gel"
                more = re.match(rx, text[end:], re.IGNORECASE)
                if more:
                    end += more.end()
            out.append(Span(m.start(), end, "medication"))
    return out


def _names(text: str) -> list[Span]:
    """Two or three capitalised words whose first is a known given name, or a given name next
    to a known family name."""
    given, family = given_names(), family_names()
    words = list(WORD_RE.finditer(text))
    out: list[Span] = []
    for i, w in enumerate(words):
        token = w.group()
        if not token[0].isupper() or token.lower() not in given:
            continue
        j, end = i + 1, w.end()
        while j < len(words) and j <= i + 2:
            nxt = words[j]
            between = text[end:nxt.start()]
            word = nxt.group()
            if between.strip(" -'") or not word[0].isupper() or word.lower() in NOT_SURNAME:
                break
            end = nxt.end()
            j += 1
        if end > w.end() or token.lower() in family:
            out.append(Span(w.start(), end, "person"))
    return out


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans become one; the type of the earliest-starting, longest one wins, but
    the record's own patient ('name') outranks a generic 'person'."""
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    out: list[Span] = []
    for s in spans:
        if out and s.start < out[-1].end:
            last = out[-1]
            kind = last.type
            if s.type == "name" and kind == "person" or s.type == "dob" and kind == "date":
                kind = s.type
            out[-1] = Span(last.start, max(last.end, s.end), kind)
        else:
            out.append(s)
    return out


def detect(text: str, known: Known | None = None,
           regions: Iterable[str] = DEFAULT_REGIONS) -> list[Span]:
    """Every PHI span of ``text`` (sorted, non-overlapping)."""
    if not text:
        return []
    spans = _pattern_spans(text, regions)
    if known is not None:
        spans += _known_spans(text, known)
    return _merge(spans)


def redact(text: str, spans: list[Span]) -> str:
    """Replace each span by a typed placeholder such as ``[NAME]``."""
    out, pos = [], 0
    for s in sorted(spans):
        out.append(text[pos:s.start])
        out.append(PLACEHOLDER.get(s.type, "[PHI]"))
        pos = max(pos, s.end)
    out.append(text[pos:])
    return "".join(out)
