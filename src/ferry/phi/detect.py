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

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers.phonenumbermatcher import (  # noqa: PLC2701 - the matcher's own checks
    _INNER_MATCHES,
    _SLASH_SEPARATED_DATES,
    _TIME_STAMPS,
    _TIME_STAMPS_SUFFIX,
)
from phonenumbers.phonenumbermatcher import (  # the matcher's own candidate patterns
    _PATTERN as _CANDIDATE,  # noqa: PLC2701
)
from phonenumbers.phonenumbermatcher import (
    _SECOND_NUMBER_START_PATTERN as _SECOND_NUMBER_START,  # noqa: PLC2701
)
from phonenumbers.phonenumbermatcher import (
    _UNWANTED_END_CHAR_PATTERN as _UNWANTED_END_CHAR,  # noqa: PLC2701
)

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


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _casefix_chars() -> frozenset[str]:
    """Non-ASCII characters ``re`` matches case-insensitively to a character whose lower case
    differs (ı and i, ſ and s, µ and μ …): a lower-cased substring search would miss those."""
    try:
        from re import _casefix  # type: ignore[attr-defined]

        extra: dict[int, tuple[int, ...]] = _casefix._EXTRA_CASES
    except (ImportError, AttributeError):  # another Python: treat all non-ASCII text as special
        return frozenset()
    chars = {chr(c) for k, v in extra.items() for c in (k, *v)}
    return frozenset(c for c in chars if not c.isascii())


CASEFIX = _casefix_chars()


def _plain(text: str, low: str) -> bool:
    """Whether a substring search of ``low`` finds what a case-insensitive pattern would."""
    if text.isascii():
        return True
    return bool(CASEFIX) and len(low) == len(text) and CASEFIX.isdisjoint(low)


def _occurrences(text: str, low: str, plain: bool, needle: str, kind: str, out: list[Span], *,
                 words: bool = False) -> None:
    """Every occurrence of ``needle`` in ``text``, case-insensitively, left to right without
    overlap (what ``re.finditer`` of the escaped needle gives); ``words``: only where it is a
    whole word (``\\b…\\b``).

    ``low`` is ``text.lower()``, ``plain`` what ``_plain`` says of it. Then this is a substring
    search: a record's identifiers are unique to it, so compiling a pattern for each (128k
    compilations for 15k texts) overflowed ``re``'s cache, which phonenumbers relies on for its
    own patterns.
    """
    if not needle or len(needle) < 3:
        return
    if not (plain and _plain(needle, needle.lower())):
        rx = rf"\b{re.escape(needle)}\b" if words else re.escape(needle)
        out.extend(Span(m.start(), m.end(), kind)
                   for m in re.finditer(rx, text, re.IGNORECASE))
        return
    n, size = needle.lower(), len(needle)
    start_w, end_w = _is_word(needle[0]), _is_word(needle[-1])
    i = low.find(n)
    while i >= 0:
        j = i + size
        if words and ((i > 0 and _is_word(text[i - 1])) == start_w or
                      (j < len(text) and _is_word(text[j])) == end_w):
            i = low.find(n, i + 1)  # no word boundary here (``\\b`` fails): try the next
            continue
        out.append(Span(i, j, kind))
        i = low.find(n, j)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


PHONE_RUN_RE = re.compile(r"\+?\d[\d ()\-.]{6,}\d")


def _known_spans(text: str, known: Known) -> list[Span]:
    out: list[Span] = []
    low = text.lower()
    plain = _plain(text, low)
    for full in known.names:
        _occurrences(text, low, plain, full, "name", out)
        for part in full.split():
            if len(part) > 2 and part.lower() not in NOT_SURNAME:
                _occurrences(text, low, plain, part, "name", out, words=True)
    for d in known.dates:
        _occurrences(text, low, plain, d, "dob", out)
    for ident in known.identifiers:
        _occurrences(text, low, plain, ident, "mrn", out)
    for e in known.emails:
        _occurrences(text, low, plain, e, "email", out)
    for a in known.addresses:
        _occurrences(text, low, plain, a, "address", out)
    for p in known.phones:  # the stored value verbatim, even when it is no valid number
        _occurrences(text, low, plain, p, "phone", out)
    wanted = {_digits(p)[-9:] for p in known.phones if len(_digits(p)) >= 7}
    if wanted:
        for m in PHONE_RUN_RE.finditer(text):
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
    out.extend(_phone_spans(text, regions))
    out.extend(_medications(text))
    out.extend(_names(text))
    return out


@functools.cache
def _min_number_digits() -> int:
    """The fewest digits any valid number of any region (or non-geographic code) has."""
    from phonenumbers import PhoneMetadata

    metas = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    metas += [PhoneMetadata.metadata_for_nongeo_region(c)
              for c in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS]
    return min(n for m in metas if m is not None for n in m.general_desc.possible_length or ()
               if n > 0)


#: libphonenumber's matcher gives up on a text after this many failed candidates
_MAX_TRIES = 65_535
#: an attempt to parse: (text, offset in the searched text, side before, side after), or None
#: for one too short to be any number (it fails, and counts as a try, like any failure)
_Attempt = tuple[str, int, str, str] | None


def _attempt(text: str, group: str, offset: int) -> _Attempt:
    if sum(map(str.isdecimal, group)) < _min_number_digits():
        return None
    end = offset + len(group)
    return group, offset, _side(text[offset - 1:offset]), _side(text[end:end + 1])


def _plan(text: str, candidate: str, offset: int
          ) -> tuple[_Attempt, list[list[list[_Attempt]]]] | None:
    """What the matcher would try for one candidate, whatever the region: the whole candidate,
    then its inner matches (per inner pattern, per search step: one or two attempts, the step
    tried only while tries remain). None when it tries nothing (a date, a time, too few digits).

    This is ``PhoneNumberMatcher._extract_match`` and ``_extract_inner_match`` unrolled: only
    the parse of an attempt depends on the region, so the eleven regions share one plan.
    """
    if sum(map(str.isdecimal, candidate)) < _min_number_digits():
        return None  # neither it nor any inner match (a substring) can be a number
    if _SLASH_SEPARATED_DATES.search(candidate):
        return None
    if _TIME_STAMPS.search(candidate) and _TIME_STAMPS_SUFFIX.match(
            text[offset + len(candidate):]):
        return None
    inner: list[list[list[_Attempt]]] = []
    for pattern in _INNER_MATCHES:
        steps: list[list[_Attempt]] = []
        group_match = pattern.search(candidate)
        first = True
        while group_match:
            step = []
            if first:
                group = _trim(_UNWANTED_END_CHAR, candidate[:group_match.start()])
                step.append(_attempt(text, group, offset))
                first = False
            group = _trim(_UNWANTED_END_CHAR, group_match.group(1))
            step.append(_attempt(text, group, offset + group_match.start(1)))
            steps.append(step)
            group_match = pattern.search(candidate, group_match.start() + 1)
        inner.append(steps)
    return _attempt(text, candidate, offset), inner


def _trim(pattern: Any, candidate: str) -> str:
    m = pattern.search(candidate)
    return candidate[:m.start()] if m else candidate


def _parsed(attempt: _Attempt, region: str) -> bool:
    if attempt is None:
        return False
    if attempt[0][:1] in _PLUS:  # international format: the region plays no part in its parse
        region = _ANY_REGION
    return _verified(attempt[0], region, attempt[2], attempt[3]) is not None


_PLUS = ("+", "\uff0b")  # the plus signs libphonenumber reads as a country code's mark
_ANY_REGION = "US"


def _phone_spans(text: str, regions: Iterable[str]) -> list[Span]:
    """Every number libphonenumber's matcher (leniency VALID) finds in ``text`` for any of
    ``regions``: the same spans, with the work that does not depend on the region (finding
    candidates, the date and time checks, inner matches) done once per text, not per region,
    and each parse cached (``_verified``)."""
    out: list[Span] = []
    if sum(map(str.isdecimal, text)) < _min_number_digits():
        return out
    candidates: dict[int, tuple[int, str] | None] = {}
    plans: dict[int, Any] = {}
    for region in regions:
        index, tries = 0, _MAX_TRIES
        while tries > 0:
            if index in candidates:
                found = candidates[index]
            else:
                m = _CANDIDATE.search(text, index)
                found = None if m is None else (m.start(), _trim(
                    _SECOND_NUMBER_START, text[m.start():m.end()]))
                candidates[index] = found
            if found is None:
                break
            start, candidate = found
            if candidate:  # the matcher's minimum candidate length is 1
                if start not in plans:
                    plans[start] = _plan(text, candidate, start)
                plan = plans[start]
                span: tuple[int, int] | None = None
                if plan is not None:
                    whole, inner = plan
                    if _parsed(whole, region):
                        span = (start, start + len(candidate))
                    else:
                        span, tries = _inner_span(inner, region, tries)
                if span is not None:
                    out.append(Span(span[0], span[1], "phone"))
                    index = span[1]
                    continue
                tries -= 1
            index = start + len(candidate)
    return out


def _inner_span(inner: list[list[list[_Attempt]]], region: str, tries: int
                ) -> tuple[tuple[int, int] | None, int]:
    for steps in inner:
        for step in steps:
            if tries <= 0:
                return None, tries
            for attempt in step:
                if _parsed(attempt, region):
                    assert attempt is not None
                    return (attempt[1], attempt[1] + len(attempt[0])), tries
                tries -= 1
    return None, tries


@functools.lru_cache(maxsize=4096)
def _side(char: str) -> str:
    """A neighbouring character as the matcher's verdict sees it: only whether it is a Latin
    letter or a percent or currency sign (which refuse a number next to them) counts, so the
    verdict cache keys on that ("a" stands for any of them) rather than on the character."""
    if char and (phonenumbers.PhoneNumberMatcher._is_latin_letter(char)
                 or phonenumbers.PhoneNumberMatcher._is_invalid_punctuation_symbol(char)):
        return "a"
    return ""


@functools.lru_cache(maxsize=1 << 16)
def _verified(candidate: str, region: str, before: str, after: str) -> Any:
    """The number the matcher accepts in ``candidate`` between those two characters, or None.

    The matcher's verdict depends on nothing else (the candidate, the region, whether the
    characters either side are letters or currency signs: ``_side``), and notes repeat their
    candidates — years, dates, codes, the patient's own number — so each is parsed once per
    region, not once per occurrence.
    """
    text = before + candidate + after
    matcher = phonenumbers.PhoneNumberMatcher(text, region,
                                              leniency=phonenumbers.Leniency.VALID)
    found = phonenumbers.PhoneNumberMatcher._parse_and_verify(matcher, candidate, len(before))
    return None if found is None else found.number


FORM_RE = re.compile(FORM, re.IGNORECASE)
DOSE_RE = re.compile(DOSE, re.IGNORECASE)


def _medications(text: str) -> list[Span]:
    out = [Span(m.start(), m.end(), "medication") for m in DOSED_WORD_RE.finditer(text)]
    for m in WORD_RE.finditer(text):
        if m.group().lower() in MEDICATIONS:
            end = m.end()
            for rx in (FORM_RE, DOSE_RE, FORM_RE):  # "Hydrocortisone cream 1%", "Diclofenac gel"
                more = rx.match(text, end)
                if more:
                    end = more.end()
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
