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

import bisect
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, compress, islice
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers.phonenumbermatcher import (  # noqa: PLC2701 - the matcher's own checks
    _INNER_MATCHES,
    _LEAD_PATTERN,
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


def _speed_up_phonenumbers() -> None:
    """Two costs of libphonenumber's parse (about a third of the detector) cut without
    changing a result: its metadata patterns kept compiled (``enable_pattern_cache``, the
    library's own switch: each parse otherwise went through ``re.compile``'s cache some 11
    times), and ``normalize_digits_only`` of ASCII text by one ``str.translate`` instead of a
    Unicode digit look-up per character (other text goes through the library's own code;
    tests/phi/test_prefilter.py compares both on generated text)."""
    from phonenumbers import phonenumberutil, re_util

    enable = getattr(re_util, "enable_pattern_cache", None)
    if enable is not None:
        enable()
    library = phonenumberutil.normalize_digits_only
    if getattr(library, "_ferry", False):
        return

    def normalize_digits_only(number: Any, keep_non_digits: bool = False) -> str:
        if type(number) is str and number.isascii():
            return number if keep_non_digits else number.translate(_NOT_DIGITS)
        return library(number, keep_non_digits)  # type: ignore[no-any-return]

    normalize_digits_only._ferry = True  # type: ignore[attr-defined]
    normalize_digits_only.library = library  # type: ignore[attr-defined]
    phonenumberutil.normalize_digits_only = normalize_digits_only


#: every ASCII character but the ten digits, deleted by ``str.translate``
_NOT_DIGITS = str.maketrans("", "", "".join(chr(c) for c in range(128)
                                            if not "0" <= chr(c) <= "9"))
_speed_up_phonenumbers()

TYPES = ("name", "person", "dob", "date", "mrn", "national_id", "phone", "email", "address",
         "icd10", "cpt", "medication")
PLACEHOLDER = {t: f"[{t.upper()}]" for t in TYPES}
DEFAULT_REGIONS = ("GB", "US", "AU", "NL", "ES", "IE", "IN", "NZ", "CA", "DE", "FR")


def regions_for(*countries: str | None) -> tuple[str, ...]:
    """The regions a practice's free text is scanned in: ``DEFAULT_REGIONS``, then its own
    countries (its configured or detected ``phone_region``, its clinics') where they are not
    among them, each once (a code phonenumbers has no plan for is left out). A practice in
    South Africa or Singapore writes its patients' numbers in its national format, which
    none of the eleven reads (``082 555 0143``: no number in any of them)."""
    from ferry.mapping.phones import REGIONS

    extra = [c.upper() for c in countries if c and c.upper() in REGIONS]
    return tuple(dict.fromkeys([*DEFAULT_REGIONS, *extra]))


class Span(NamedTuple):
    """A detected piece of PHI (a tuple: made by the ten thousand, compared and sorted as one)."""

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
#: a date, as first written (tests/phi/test_prefilter.py keeps that form):
#:   \b(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4} | \d{4}[/.-]\d{1,2}[/.-]\d{1,2}
#:      | \d{1,2}(?:st|nd|rd|th)?\s+MONTHS,?\s+\d{4} | MONTHS\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4})\b
#: under IGNORECASE, which keeps ``re`` from skipping ahead to a possible first character (half
#: of the pattern's time over the 1k practice's texts). Here the first character is taken by a
#: class (the digits and every letter that folds onto a month's first letter, ſ among them;
#: ``\b`` checked by a look-behind), the case-insensitive parts in ``(?i:…)``, and each
#: alternative goes on from its second character, the months by their first letter in the
#: order first written.
_ORD = r"(?i:st|nd|rd|th)"
DATE_RE = re.compile(
    r"[\dJFMASONDjfmasond\u017f](?<=\b[\dJFMASONDjfmasond\u017f])"
    r"(?:(?<=\d)(?:\d?[/.\-]\d{1,2}[/.\-]\d{2,4}|\d{3}[/.\-]\d{1,2}[/.\-]\d{1,2}"
    rf"|\d?{_ORD}?\s+(?i:{MONTHS}),?\s+\d{{4}})"
    r"|(?i:(?<=j)(?:an|un|ul)|(?<=f)eb|(?<=m)(?:ar|ay)|(?<=a)(?:pr|ug)|(?<=s)(?:ep|ept)"
    r"|(?<=o)ct|(?<=n)ov|(?<=d)ec)(?i:[a-z]*\.?)"
    rf"\s+\d{{1,2}}{_ORD}?,?\s+\d{{4}})\b")
DOB_CONTEXT = re.compile(r"(?:\bDOB\b|\bD\.O\.B\b|date of birth|\bborn\b|\bb\.)[\s:,(]*$",
                         re.IGNORECASE)
#: an MRN after its key word; first written ``\b(?:MRN|MR#|med(?:ical)?\s+rec(?:ord)?(?:\s+(?:no|
#: number))?\.?|patient\s+(?:no|number|id)\.?|hospital\s+(?:no|number))[\s:#\-]*[A-Z0-9]
#: [A-Z0-9\-]{3,}`` under IGNORECASE; opened with a class as ``DATE_RE`` is (no other character
#: folds onto m, p or h), the alternatives going on from their second character in that order
MRN_RE = re.compile(
    r"[MmPpHh](?<=\b[MmPpHh])(?i:(?:(?<=m)(?:RN|R#|ed(?:ical)?\s+rec(?:ord)?"
    r"(?:\s+(?:no|number))?\.?)|(?<=p)atient\s+(?:no|number|id)\.?|(?<=h)ospital\s+(?:no|number))"
    r"[\s:#\-]*[A-Z0-9][A-Z0-9\-]{3,})")
# Patterns below open with a character (class) and check the word boundary before it by a
# look-behind: ``\bMRN…`` written as ``M(?<=\bM)RN…`` finds the same matches, but ``re`` can
# then skip to the next possible first character instead of trying every position.
MRN_TOKEN = re.compile(r"M(?<=\bM)RN\d{4,}\b")  # \bMRN\d{4,}\b
SSN_RE = re.compile(r"\d(?<=\b\d)\d{2}-\d{2}-\d{4}\b")  # \b\d{3}-\d{2}-\d{4}\b
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
#: the first alternative alone (a number, then a street): what ``ADDRESS_RE`` finds in a text
#: without any of ``_STREET_KEYS``, where the other two cannot match
ADDRESS_NUMBERED_RE = re.compile(
    rf"\d(?<=\b\d)\d{{0,4}}[A-Za-z]?,?\s+(?:[A-Z][\w'\-]+\s+){{1,4}}(?:{STREET_WORDS})\b\.?")
_STREET_KEYS = ("straat", "laan", "weg", "plein", "gracht", "kade", "singel", "Calle", "Avenida",
                "Plaza", "Paseo", "Camino")
ICD_RE = re.compile(r"[A-TV-Z](?<=\b[A-TV-Z])\d{2}(?:\.\d{1,4}[A-Z]?)?\b")  # \b[A-TV-Z]…
ICD_CONTEXT = re.compile(r"(?:ICD|dx|diagnos\w*|code)[\s:#\-]*$|\($", re.IGNORECASE)
CPT_RE = re.compile(r"\d(?<=\b\d)\d{4}\b")  # \b\d{5}\b
CPT_CONTEXT = re.compile(r"(?:CPT|procedure|proc\.?)\s*(?:code)?[\s:#\-]*$", re.IGNORECASE)
DOSE = r"\s+\d+(?:[.,]\d+)?\s?(?:mg|g|mcg|µg|ug|ml|mL|units?|IU)\b|\s+\d+(?:[.,]\d+)?\s?%"
FORM = (r"\s+(?:gel|cream|ointment|inhaler|tablets?|capsules?|drops|spray|patch(?:es)?|"
        r"injection|solution|syrup|suspension|lotion|pessar(?:y|ies)|suppositor(?:y|ies)|"
        r"modified[- ]release|MR|XL|SR)\b")
DOSED_WORD_RE = re.compile(rf"[A-Z](?<=\b[A-Z])[a-z]{{3,}}(?:\s+[A-Z][a-z]+)?{DOSE}")
WORD_RE = re.compile(r"\b[^\W\d_][\w'\-]*\b")
TITLE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof)\.?\s+[A-Z][\w'\-]+(?:\s+[A-Z][\w'\-]+)?")
#: lower-case words inside a family name: Dutch, German, French, Spanish, Portuguese, Italian,
#: Arabic ("Ella van der Laar", "Rosa de la Cruz", "Omar bin Said")
PARTICLES = frozenset("van der den de het ter ten te von zu da di du del della des la le dos das do"
                      " bin ibn al el y".split())
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
    return s.translate(_NOT_DIGITS) if s.isascii() else re.sub(r"\D", "", s)


PHONE_RUN_RE = re.compile(r"\+?\d[\d ()\-.]{6,}\d")


def _known_plan(known: Known) -> tuple[list[tuple[str, str, str, bool, bool]], set[str]]:
    """What ``_known_spans`` looks for, worked out once per ``Known`` (a patient's identifiers
    serve all of their notes): (needle, lower-cased, type, whole words only, searchable as a
    lower-cased substring) for each, and the last nine digits of each phone."""
    plan = known.__dict__.get("_plan")
    if plan is None:
        needles: list[tuple[str, str]] = []
        for full in known.names:
            needles.append((full, "name"))
            needles.extend((part, "name*") for part in full.split()
                           if len(part) > 2 and part.lower() not in NOT_SURNAME)
        for values, kind in ((known.dates, "dob"), (known.identifiers, "mrn"),
                             (known.emails, "email"), (known.addresses, "address"),
                             (known.phones, "phone")):  # phones: the stored value verbatim
            needles.extend((v, kind) for v in values)
        rows = [(n, n.lower(), kind.rstrip("*"), kind.endswith("*"), _plain(n, n.lower()))
                for n, kind in needles if n and len(n) >= 3]
        wanted = {_digits(p)[-9:] for p in known.phones if len(_digits(p)) >= 7}
        plan = known.__dict__["_plan"] = (rows, wanted)
    return plan


def _known_spans(text: str, known: Known) -> list[Span]:
    out: list[Span] = []
    low = text.lower()
    plain = _plain(text, low)
    rows, wanted = _known_plan(known)
    for needle, n, kind, words, needle_plain in rows:
        if plain and needle_plain and n not in low:
            continue  # what _occurrences' substring search would conclude, without the call
        _occurrences(text, low, plain, needle, kind, out, words=words)
    if wanted and _DIGIT.search(text):
        for m in PHONE_RUN_RE.finditer(text):
            if _digits(m.group())[-9:] in wanted:
                out.append(Span(m.start(), m.end(), "phone"))
    return out


#: texts up to this long have their pattern spans remembered (``_memo_pattern_spans``): short
#: fields repeat across records ("Progress note", "NKDA", a clinic's stock phrases)
MEMO_CHARS = 256
_DIGIT = re.compile(r"\d")  # what every pattern that needs a digit needs (Unicode Nd, as \d)
#: lower-cased words one of which ``MRN_RE`` / ``NATIONAL_RE`` cannot match without
_MRN_KEYS = ("mr", "med", "patient", "hospital")
_NATIONAL_KEYS = ("nhs", "bsn", "ssn", "dni", "nie", "ppsn", "tfn", "medicare", "national")
_TITLE_KEYS = ("Mr", "Ms", "Miss", "Mx", "Dr", "Prof")


def _pattern_spans(text: str, regions: tuple[str, ...]) -> list[Span]:
    if len(text) <= MEMO_CHARS:
        return list(_memo_pattern_spans(text, regions))
    return _scan_patterns(text, regions)


@functools.lru_cache(maxsize=8192)
def _memo_pattern_spans(text: str, regions: tuple[str, ...]) -> tuple[Span, ...]:
    """The spans depend on the text and regions alone (not on the record)."""
    return tuple(_scan_patterns(text, regions))


def _scan_patterns(text: str, regions: tuple[str, ...]) -> list[Span]:
    """Every pattern's spans. A pattern runs only when the text holds what any match of it
    must (a digit, an "@", one of its key words): most fields have no digit at all, and a
    cheap look rules them out (``gated=False`` in the tests runs every pattern, to prove the
    spans the same)."""
    return _scan(text, regions, gated=True)


def _scan(text: str, regions: tuple[str, ...], *, gated: bool) -> list[Span]:
    out: list[Span] = []
    digit = not gated or _DIGIT.search(text) is not None
    low = text.lower()
    # substring tests of ``low`` stand for case-insensitive matches only in plain text (no ſ,
    # K sign or dotted İ, which ``re`` folds onto ASCII letters): else the pattern runs
    keyed = not gated or not _plain(text, low)
    if digit:
        for m in DATE_RE.finditer(text):
            before = text[max(0, m.start() - 20):m.start()]
            out.append(Span(m.start(), m.end(), "dob" if DOB_CONTEXT.search(before) else "date"))
    for rx, kind, run in (
            (MRN_RE, "mrn", keyed or any(k in low for k in _MRN_KEYS)),
            (MRN_TOKEN, "mrn", digit), (SSN_RE, "national_id", digit),
            (NATIONAL_RE, "national_id", keyed or any(k in low for k in _NATIONAL_KEYS)),
            (EMAIL_RE, "email", not gated or "@" in text),
            (ADDRESS_RE if not gated or any(k in text for k in _STREET_KEYS)
             else ADDRESS_NUMBERED_RE, "address", digit),
            (TITLE_RE, "person", not gated or any(k in text for k in _TITLE_KEYS))):
        if run:
            out.extend(Span(m.start(), m.end(), kind) for m in rx.finditer(text))
    if digit:
        for m in ICD_RE.finditer(text):
            before = text[max(0, m.start() - 20):m.start()]
            if "." in m.group() or ICD_CONTEXT.search(before):
                out.append(Span(m.start(), m.end(), "icd10"))
        for m in CPT_RE.finditer(text):
            if CPT_CONTEXT.search(text[max(0, m.start() - 25):m.start()]):
                out.append(Span(m.start(), m.end(), "cpt"))
        out.extend(_phone_spans(text, regions, out if gated else None))
    out.extend(_word_spans(text, digit, gated))
    return out


#: The fewest digits any valid number of any region (or non-geographic code) has, as
#: phonenumbers' metadata says (the least ``possible_length`` of every region's general
#: description): written out, because computing it loads the metadata of all ~250 regions
#: (~0.03 CPU-s per process that screens a text); a test fails when the metadata disagrees.
MIN_NUMBER_DIGITS = 4


#: libphonenumber's matcher gives up on a text after this many failed candidates
_MAX_TRIES = 65_535
#: an attempt to parse: (text, offset in the searched text, side before, side after), or None
#: for one too short to be any number (it fails, and counts as a try, like any failure)
_Attempt = tuple[str, int, str, str] | None


def _attempt(text: str, group: str, offset: int) -> _Attempt:
    if sum(map(str.isdecimal, group)) < MIN_NUMBER_DIGITS:
        return None
    end = offset + len(group)
    return group, offset, _side(text[offset - 1:offset]), _side(text[end:end + 1])


def _plan(text: str, candidate: str, offset: int, timed: bool
          ) -> tuple[_Attempt, list[list[list[_Attempt]]]] | None:
    """What the matcher would try for one candidate, whatever the region: the whole candidate,
    then its inner matches (per inner pattern, per search step: one or two attempts, the step
    tried only while tries remain). None when it tries nothing (a date, a time, too few digits).

    This is ``PhoneNumberMatcher._extract_match`` and ``_extract_inner_match`` unrolled: only
    the parse of an attempt depends on the region, so the regions share one plan.
    """
    if sum(map(str.isdecimal, candidate)) < MIN_NUMBER_DIGITS:
        return None  # neither it nor any inner match (a substring) can be a number
    if _SLASH_SEPARATED_DATES.search(candidate):
        return None
    if timed:  # a time stamp ("2012-01-02 08") followed by ":00"
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
    if attempt[3] or attempt[2] and not _LEAD_PATTERN.match(attempt[0]):
        return False  # next to a letter or currency sign: refused before any parse, anywhere
    if attempt[0][:1] in _PLUS:  # international format: the region plays no part in its parse
        region = _ANY_REGION
    return _verified(attempt[0], region, attempt[2], attempt[3]) is not None


_PLUS = ("+", "\uff0b")  # the plus signs libphonenumber reads as a country code's mark
_ANY_REGION = "US"


#: one candidate's outcome for one region, tries unlimited: None when nothing is tried (one try
#: spent), else (start, end) of the number found relative to the candidate's context (None,
#: None when none) and the tries its failed attempts spent
_Verdict = tuple[int | None, int | None, int] | None
_UNSEEN = object()


class _Unsure(Exception):
    """A skipped candidate's unknown cost in tries could change the walk (tries running out)."""


def _phone_spans(text: str, regions: Iterable[str], covered: list[Span] | None = None
                 ) -> list[Span]:
    """Every number libphonenumber's matcher (leniency VALID) finds in ``text`` for any of
    ``regions``: the same spans, in the same order. The work that does not depend on the
    region (finding candidates, the date and time checks, inner matches) is done once per
    text, and a candidate's outcome in every region is remembered by what it depends on
    (``_outcomes``): notes repeat their candidates (years, dates, codes, the patient's own
    number). Regions walk the candidates together while they fare alike (no number found,
    the same tries spent) and part where one finds a number.

    ``covered``: spans already found in the text (a date, an MRN). A candidate inside one of
    them that has no inner matches can only be a number as a whole, which the covering span
    absorbs when spans merge, so it is not parsed; these spans may then lack that number
    (``detect``'s merged spans do not change). Its cost in tries (0 or 1) is then unknown:
    where that could decide anything, the text is walked again with every candidate parsed.
    """
    need = MIN_NUMBER_DIGITS
    if sum(1 for _ in islice(_DIGIT.finditer(text), need)) < need:  # stops at ``need``
        return []
    regions = tuple(regions)
    inside = _coverage(covered) if covered else None
    found: list[list[Span]] = [[] for _ in regions]
    found_at: dict[int, Any] = {}
    walks = [(0, _MAX_TRIES, 0, tuple(range(len(regions))))]  # index, tries, slack, regions
    try:
        while walks:
            index, tries, slack, members = walks.pop()
            while _sure(tries > 0, tries + slack > 0):
                hit = found_at.get(index, _UNSEEN)
                if hit is _UNSEEN:
                    hit = found_at[index] = _candidate_at(text, index)
                if hit is None:
                    break
                start, candidate, key = hit
                end = start + len(candidate)
                if not candidate:  # the matcher's minimum candidate length is 1
                    index = start
                    continue
                if key is None:  # too short to hold a number: what ``_outcomes`` gives it
                    tries -= 1  # (no plan, no region finds one, one try each); the loop's
                    index = end  # test left at least one try, also with the slack
                    continue
                if inside is not None and inside(start, end):
                    plan, inner = _plan_of(*key)
                    if plan is not None and not inner:  # 1 try, or 0: see above
                        tries, slack, index = tries - 1, slack + 1, end
                        continue
                plan, verdicts, alike = _outcomes(*key, regions)
                if alike is not None and _sure(alike <= tries, alike <= tries + slack):
                    tries -= alike  # no region finds one here
                    index = end
                    continue
                parted: dict[tuple[int, int], list[int]] = {}
                for r in members:
                    at, left = _step(text, start, candidate, plan, verdicts[r], regions[r],
                                     tries, slack, found[r])
                    parted.setdefault((at, left), []).append(r)
                walks.extend((at, left, slack, tuple(rs)) for (at, left), rs in parted.items())
                break
    except _Unsure:
        return _phone_spans(text, regions)
    return [s for spans in found for s in spans]


def _sure(low: bool, high: bool) -> bool:
    """A decision on the fewest tries left that the most tries left would take too."""
    if low != high:
        raise _Unsure
    return low


def _coverage(spans: list[Span]) -> Any:
    """A test of whether one of ``spans`` holds [start, end)."""
    ordered = sorted(spans)
    starts = [s.start for s in ordered]
    reach, most = [], -1
    for s in ordered:  # the furthest end of the spans starting at or before each
        most = max(most, s.end)
        reach.append(most)

    def inside(start: int, end: int) -> bool:
        i = bisect.bisect_right(starts, start)
        return i > 0 and reach[i - 1] >= end

    return inside


def _step(text: str, start: int, candidate: str, plan: Any, verdict: _Verdict, region: str,
          tries: int, slack: int, out: list[Span]) -> tuple[int, int]:
    """One region's matcher at one candidate: the number it finds (added to ``out``), and
    where it goes on and the tries it has left."""
    span: tuple[int, int] | None = None
    if verdict is not None and _sure(verdict[2] < tries, verdict[2] < tries + slack):
        if verdict[0] is not None:  # as if tries were unlimited
            span = (verdict[0], verdict[1])
        tries -= verdict[2]
    elif verdict is not None:  # the tries may run out inside it: attempt by attempt
        _sure(slack == 0, True)
        whole, inner = plan
        if _parsed(whole, region):
            span = (1, 1 + len(candidate))
        else:
            span, tries = _inner_span(inner, region, tries)
    if span is not None:  # relative to the context: one character before
        out.append(Span(start + span[0] - 1, start + span[1] - 1, "phone"))
        return start + span[1] - 1, tries
    return start + len(candidate), tries - 1


def _candidate_at(text: str, index: int
                  ) -> tuple[int, str, tuple[str, str, str, bool] | None] | None:
    """The matcher's next candidate from ``index``: its start, text, and what its outcome
    depends on (``_outcomes``; None for a candidate shorter than any number's digits, half
    of a practice's), or None when there is none."""
    m = _CANDIDATE.search(text, index)
    if m is None:
        return None
    start = m.start()
    candidate = _trim(_SECOND_NUMBER_START, text[start:m.end()])
    end = start + len(candidate)
    if end - start < MIN_NUMBER_DIGITS:
        return start, candidate, None
    timed = bool(_TIME_STAMPS.search(candidate) and _TIME_STAMPS_SUFFIX.match(text, end))
    return start, candidate, (candidate, _side(text[start - 1:start] if start else ""),
                              _side(text[end:end + 1]), timed)


@functools.lru_cache(maxsize=1 << 14)
def _plan_of(candidate: str, before: str, after: str, timed: bool
             ) -> tuple[Any, bool]:
    """A candidate's plan (see ``_plan``), and whether it has inner matches to try. It
    depends on nothing but the candidate, how its neighbours look to the matcher (``_side``)
    and whether a time stamp's suffix follows, so it is made in a context of one stand-in
    character either side."""
    context = ("a" if before else " ") + candidate + ("a" if after else " ")
    plan = _plan(context, candidate, 1, timed)
    return plan, plan is not None and any(any(steps) for steps in plan[1])


@functools.lru_cache(maxsize=1 << 14)
def _outcomes(candidate: str, before: str, after: str, timed: bool, regions: tuple[str, ...]
              ) -> tuple[Any, tuple[_Verdict, ...], int | None]:
    """A candidate's plan, its verdict in each region, and what it costs the regions in tries
    when none finds a number and all spend the same (None when not)."""
    plan = _plan_of(candidate, before, after, timed)[0]
    verdicts = tuple(_verdict(plan, region) for region in regions)
    alike = None
    if all(v is None for v in verdicts):
        alike = 1
    elif all(v is not None and v[0] is None and v[2] == verdicts[0][2] for v in verdicts):
        alike = verdicts[0][2] + 1
    return plan, verdicts, alike


def _verdict(plan: Any, region: str) -> _Verdict:
    if plan is None:
        return None
    whole, inner = plan
    if _parsed(whole, region):
        assert whole is not None
        return whole[1], whole[1] + len(whole[0]), 0
    spent = 0
    for steps in inner:
        for step in steps:
            for attempt in step:
                if _parsed(attempt, region):
                    assert attempt is not None
                    return attempt[1], attempt[1] + len(attempt[0]), spent
                spent += 1
    return None, None, spent


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
    if not _may_be_valid(candidate, region):
        return None
    text = before + candidate + after
    matcher = phonenumbers.PhoneNumberMatcher(text, region,
                                              leniency=phonenumbers.Leniency.VALID)
    found = phonenumbers.PhoneNumberMatcher._parse_and_verify(matcher, candidate, len(before))
    return None if found is None else found.number


#: a candidate of nothing but these: no letter (a vanity number, an extension's "ext" or "x"),
#: no plus sign, no "#", "," or ";" (extensions): its parse in a region can only drop digits
#: from the front of its digits (an international dialling prefix, the country code, the
#: national prefix or a carrier code)
_PLAIN_NUMBER = frozenset("0123456789 -.()/")


def _may_be_valid(candidate: str, region: str) -> bool:
    """False only where libphonenumber's parse of ``candidate`` in ``region`` cannot give a
    valid number, told without parsing (about half the parses of a practice's notes).

    A plain candidate (``_PLAIN_NUMBER``) whose digits do not open with the region's
    international dialling prefix keeps the region's country code, and its national
    significant number is then a tail of its digits: valid only if one of those tails has a
    length and the general pattern of one of the regions of that country code
    (``is_valid_number``: ``_number_type_helper`` checks the general description first). A
    region whose national prefix rewrites digits (``national_prefix_transform_rule``), or of
    a country code with a region of no listed lengths, is always parsed."""
    if not _PLAIN_NUMBER.issuperset(candidate):
        return True
    shapes = _national_shapes(region)
    if shapes is None:
        return True
    idd, tails = shapes
    digits = candidate.translate(_NOT_DIGITS)  # ASCII: _PLAIN_NUMBER's characters
    if idd.match(digits):
        return True
    size = len(digits)
    return any(0 < n <= size and pattern.fullmatch(digits[size - n:]) for n, pattern in tails)


@functools.cache
def _national_shapes(region: str) -> tuple[re.Pattern[str], list[tuple[int, re.Pattern[str]]]] | None:
    """``region``'s international dialling prefix, and for each length a national number of
    its country code can have, the general patterns of that length in one alternation (see
    ``_may_be_valid``); None where no such shortcut is sound."""
    from phonenumbers import PhoneMetadata
    from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

    meta = PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix_transform_rule or not meta.international_prefix:
        return None
    by_length: dict[int, list[str]] = {}
    for other in COUNTRY_CODE_TO_REGION_CODE.get(meta.country_code, ()):
        desc = getattr(PhoneMetadata.metadata_for_region(other), "general_desc", None)
        if desc is None or not desc.national_number_pattern:
            continue  # no number is valid there (``_match_national_number``)
        if not desc.possible_length:
            return None  # any length: every tail would have to be tried
        for n in desc.possible_length:
            by_length.setdefault(n, []).append(desc.national_number_pattern)
    return re.compile(meta.international_prefix), [
        (n, re.compile("|".join(f"(?:{p})" for p in patterns)))
        for n, patterns in sorted(by_length.items())]


FORM_RE = re.compile(FORM, re.IGNORECASE)
DOSE_RE = re.compile(DOSE, re.IGNORECASE)


#: ``WORD_RE`` as a splitter: the words at odd places, the text between them at even ones, so
#: one pass gives both the words and (by the running length) where each starts and ends
_WORD_SPLIT = re.compile(rf"({WORD_RE.pattern})")


def _word_spans(text: str, digit: bool, gated: bool = True) -> list[Span]:
    """Medications and other people's names, from one pass over the words: a capitalised
    word before a dose (only when the text has a digit), a listed medicine with its form and
    dose, and two or three capitalised words whose first is a known given name (or a given
    name that is also a family name). The word-by-word passes run only when a word is a
    listed medicine or a given name."""
    out = ([Span(m.start(), m.end(), "medication") for m in DOSED_WORD_RE.finditer(text)]
           if digit else [])
    parts = _WORD_SPLIT.split(text)
    tokens = parts[1::2]
    lows = [t.lower() for t in tokens]
    given, family = given_names(), family_names()
    listed = not gated or not MEDICATIONS.isdisjoint(lows)
    named = not gated or not given.isdisjoint(lows)
    if not (listed or named):
        return out
    ends = list(accumulate(map(len, parts)))  # word i spans ends[2i] to ends[2i + 1]
    if listed:
        # the listed words' places found in C (``compress``), not word by word
        for i in compress(range(len(lows)), map(MEDICATIONS.__contains__, lows)):
            end = ends[2 * i + 1]
            for rx in (FORM_RE, DOSE_RE, FORM_RE):  # "Hydrocortisone cream 1%"
                more = rx.match(text, end)
                if more:
                    end = more.end()
            out.append(Span(ends[2 * i], end, "medication"))
    if named:
        count = len(tokens)
        for i in compress(range(count), map(given.__contains__, lows)):
            low = lows[i]
            if not tokens[i][0].isupper():
                continue
            j, end, at, added = i + 1, ends[2 * i + 1], ends[2 * i + 1], 0
            while j < count and added < 2:  # up to two more capitalised words, and the
                if text[at:ends[2 * j]].strip(" -'"):  # particles before them ("Evi van
                    break                              # Beieren")
                if lows[j] in PARTICLES and j - i <= 4:
                    at = ends[2 * j + 1]  # part of the name only if a capitalised word follows
                    j += 1
                    continue
                if not tokens[j][0].isupper() or lows[j] in NOT_SURNAME:
                    break
                end = at = ends[2 * j + 1]
                added += 1
                j += 1
            if end > ends[2 * i + 1] or low in family:
                out.append(Span(ends[2 * i], end, "person"))
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
    spans = _pattern_spans(text, regions if isinstance(regions, tuple) else tuple(regions))
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
