"""The scan's shortcuts never change what it finds: a pattern skipped because the text lacks
what any match needs (a digit, an "@", a key word), a record's identifier not searched because
it is not in the text, a phone candidate's outcome remembered from another text, all give the
spans the full path gives."""

from __future__ import annotations

import itertools
import re
import sys

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ferry.phi import detect as D
from ferry.phi.detect import DEFAULT_REGIONS, Known, Span
from ferry.sandbox.synth import Practice

#: pieces that make the patterns fire, and characters ``re`` folds onto ASCII letters
PIECES = ["MRN", "mrn 12345", "MR# AB12", "Medical record no. X99", "patient id 7781",
          "hospital number H123", "NHS 943 476 5919", "ssn 123-45-6789", "DNI 12345678Z",
          "Medicare 2123 45670 1", "national id AB 123456 C", "a.b@example.org", "@", "Mr",
          "Mrs Ann Lee", "Dr. Sam Park", "Prof Li", "12 High Street", "Kerkstraat 12",
          "Calle de la Paz, 14", "J45.909", "dx E11", "CPT 99213", "07700 900123",
          "+34 693 82 55 74", "12/03/1980", "3rd March 1990", "Mar 3, 1990", "DOB 1961-08-09",
          "Omeprazole 20 mg", "diclofenac gel", "Maria Lopez", "James", "ſsn 123", "\u212aing",
          "İstanbul", "ıd", "MEDİCARE 1234567", "hoſpital no 1234", "NHſ 943 476 5919", "Ｍr",
          " ", ", ", "\n", "0", "7", "x", "é"]

text_st = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)),
                   max_size=12).map("".join)


def _notes() -> list[str]:
    practice = Practice(seed=9, patients=25)
    return [t for obj, fields in (("clinical_note", ("body", "title")), ("message", ("body",)),
                                  ("patient", ("medical_history", "allergies")))
            for r in practice.iter(obj) for f in fields
            if isinstance(t := getattr(r, f, None), str) and t]


def test_gated_patterns_find_what_every_pattern_finds_in_generated_notes() -> None:
    texts = _notes() + PIECES + [" ".join(PIECES)]
    flagged = 0
    for text in texts:
        full = D._merge(D._scan(text, DEFAULT_REGIONS, gated=False))
        assert D._merge(D._scan(text, DEFAULT_REGIONS, gated=True)) == full, text
        assert D._merge(D._pattern_spans(text, DEFAULT_REGIONS)) == full, text  # memo too
        flagged += bool(full)
    assert flagged > 50


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text_st)
def test_gated_patterns_find_what_every_pattern_finds_in_any_text(text: str) -> None:
    # merged, as ``detect`` returns them: a number inside a date is absorbed by it
    assert D._merge(D._scan(text, DEFAULT_REGIONS, gated=True)) == D._merge(
        D._scan(text, DEFAULT_REGIONS, gated=False))


def _reference_known(text: str, known: Known) -> list[Span]:
    """The record's identifiers as case-insensitive patterns (what the scan did before it
    searched substrings), occurrence by occurrence."""
    out: list[Span] = []

    def each(needle: str, kind: str, words: bool = False) -> None:
        if len(needle) >= 3:
            rx = rf"\b{re.escape(needle)}\b" if words else re.escape(needle)
            out.extend(Span(m.start(), m.end(), kind) for m in re.finditer(rx, text, re.I))

    for full in known.names:
        each(full, "name")
        for part in full.split():
            if len(part) > 2 and part.lower() not in D.NOT_SURNAME:
                each(part, "name", True)
    for values, kind in ((known.dates, "dob"), (known.identifiers, "mrn"),
                         (known.emails, "email"), (known.addresses, "address"),
                         (known.phones, "phone")):
        for v in values:
            each(v, kind)
    wanted = {re.sub(r"\D", "", p)[-9:] for p in known.phones if len(re.sub(r"\D", "", p)) >= 7}
    out.extend(Span(m.start(), m.end(), "phone") for m in D.PHONE_RUN_RE.finditer(text)
               if re.sub(r"\D", "", m.group())[-9:] in wanted)
    return out


KNOWN = Known(names=["Zoë Straſser", "Ann O'Neil", "Yıldız Kaya"], dates=["1961-08-09"],
              identifiers=["MRN00012345", "AB-7781"], phones=["+34 693 82 55 74", "07700 900123"],
              emails=["zoe@example.org"], addresses=["12 High Street"])


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(["Zoë", "ZOË", "Straſser", "strasser", "ann", "O'NEIL",
                                           "yildiz", "YILDIZ", "Kaya", "mrn00012345", "ab-7781",
                                           "693 82 55 74", "0034693825574", "07700-900123",
                                           "ZOE@EXAMPLE.ORG", "12 high street", "1961-08-09"]),
                          st.text(max_size=4)), max_size=10).map(" ".join))
def test_own_identifiers_skipped_only_when_absent(text: str) -> None:
    got = sorted(D._known_spans(text, KNOWN))
    assert got == sorted(_reference_known(text, KNOWN))


CANDIDATE_CONTEXTS = [
    # one candidate in many neighbourhoods: its remembered outcome must follow each
    "x020 7946 0958 and 020 7946 0958y, (020 7946 0958%) £020 7946 0958 020 7946 0958",
    "2012-01-02 08:00 and 2012-01-02 08 then 2012-01-02 08:61 and 2012-01-02 08",
    "06-12345678/79 06-12345678 a06-12345678 06-12345678/ 06-12345678",
]


def test_remembered_phone_outcomes_follow_each_context() -> None:
    for text in CANDIDATE_CONTEXTS:
        want = [(m.start, m.end) for region in DEFAULT_REGIONS
                for m in phonenumbers.PhoneNumberMatcher(text, region,
                                                         leniency=phonenumbers.Leniency.VALID)]
        assert [(s.start, s.end) for s in D._phone_spans(text, DEFAULT_REGIONS)] == want, text


@pytest.mark.parametrize("tries", [1, 2, 3, 5, 8, 13])
def test_phone_spans_when_the_matcher_runs_out_of_tries(monkeypatch: pytest.MonkeyPatch,
                                                        tries: int) -> None:
    # the library gives up after max_tries failed candidates; the scan's remembered outcomes
    # hold only while tries remain, and step attempt by attempt when they may run out
    text = ("ref 12345678 12345679 1961-08-09 06-12345678/79 then call 07700 900123, "
            "x 2015 2016 2017 0800 123 4567 and +34 693 82 55 74 or (020) 7946 0958")
    monkeypatch.setattr(D, "_MAX_TRIES", tries)
    want = [(m.start, m.end) for region in DEFAULT_REGIONS
            for m in phonenumbers.PhoneNumberMatcher(text, region,
                                                     leniency=phonenumbers.Leniency.VALID,
                                                     max_tries=tries)]
    assert [(s.start, s.end) for s in D._phone_spans(text, DEFAULT_REGIONS)] == want


#: the patterns as first written (``\b`` first); the module's open with a character class so
#: that ``re`` can skip ahead, and must match exactly the same
REFERENCE_PATTERNS = {
    "MRN_TOKEN": re.compile(r"\bMRN\d{4,}\b"),
    "SSN_RE": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "ICD_RE": re.compile(r"\b[A-TV-Z]\d{2}(?:\.\d{1,4}[A-Z]?)?\b"),
    "CPT_RE": re.compile(r"\b\d{5}\b"),
    "DOSED_WORD_RE": re.compile(rf"\b[A-Z][a-z]{{3,}}(?:\s+[A-Z][a-z]+)?{D.DOSE}"),
}
PATTERN_TEXT = st.lists(st.one_of(st.sampled_from(
    ["MRN", "MRN1234", "xMRN12345", "_MRN12345", "123-45-6789", "1123-45-6789", "J45", "J45.909",
     "U07", "aJ45", "12345", "123456", "_12345", "Omeprazole 20 mg", "Zoë", "Aspirin 75mg",
     "Dose Ab 5 ml", "٣٤٥٦٧", "A٣٤", "-", ".", " "]), st.text(max_size=3)), max_size=10
).map("".join)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(PATTERN_TEXT)
def test_patterns_opening_with_a_class_match_as_first_written(text: str) -> None:
    for name, reference in REFERENCE_PATTERNS.items():
        assert [m.span() for m in getattr(D, name).finditer(text)] == [
            m.span() for m in reference.finditer(text)], name


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(
    ["12", "12a", "4B,", " ", "  ", "High", "Old Mill", "Street", "St", "Rd.", "Lane", "x",
     "7 Elm Close", "Kerkstraat 3", "\n", "_12 High Street", "O'Brien"]), st.text(max_size=2)),
    max_size=10).map("".join))
def test_numbered_address_pattern_is_the_first_alternative(text: str) -> None:
    first = re.compile(rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][\w'\-]+\s+){{1,4}}"
                       rf"(?:{D.STREET_WORDS})\b\.?")
    assert [m.span() for m in D.ADDRESS_NUMBERED_RE.finditer(text)] == [
        m.span() for m in first.finditer(text)]
    if not any(k in text for k in D._STREET_KEYS):
        assert [m.span() for m in D.ADDRESS_NUMBERED_RE.finditer(text)] == [
            m.span() for m in D.ADDRESS_RE.finditer(text)]


COVERED = ("born 1961-08-09 seen 2021-03-04, 2021-03-04 12 and 1990-01-02 08:00 then "
           "MRN 00012345 call 07700 900123; 2019-11-12/13 and 1972-05-06, 0800 123 4567 and "
           "(1988-02-03) 12345678 +34 693 82 55 74")


@pytest.mark.parametrize("tries", [1, 2, 3, 4, 5, 6, 8, 11, 65_535])
def test_numbers_inside_dates_are_not_parsed_and_nothing_changes(
        monkeypatch: pytest.MonkeyPatch, tries: int) -> None:
    # a candidate inside a date (no inner matches) is not parsed: the merged spans stay those
    # of the full path, also when the matcher's tries run out and its cost would decide
    monkeypatch.setattr(D, "_MAX_TRIES", tries)
    for text in (COVERED, COVERED.replace(" ", "  "), COVERED[40:]):
        assert D._merge(D._scan(text, DEFAULT_REGIONS, gated=True)) == D._merge(
            D._scan(text, DEFAULT_REGIONS, gated=False)), (tries, text)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.sampled_from(
    ["+44 (0)20", "7946-0958", "٣٤٥", "０１２", "²", "x", " ", "#", "ext. 12"]),
    st.text(max_size=4)), max_size=8).map("".join))
def test_phone_digit_normalising_is_the_librarys(text: str) -> None:
    # ASCII text goes through one str.translate instead of the library's per-character loop
    from phonenumbers import phonenumberutil

    ours = phonenumberutil.normalize_digits_only
    assert ours is not ours.library
    for keep in (False, True):
        assert ours(text, keep) == ours.library(text, keep)


def _library_finds(candidate: str, region: str) -> bool:
    """The matcher's verdict on ``candidate`` alone (``_verified`` without its shortcut)."""
    matcher = phonenumbers.PhoneNumberMatcher(f" {candidate} ", region,
                                              leniency=phonenumbers.Leniency.VALID)
    return phonenumbers.PhoneNumberMatcher._parse_and_verify(matcher, candidate, 1) is not None


def _written(number: str, style: int) -> str:
    """A national number's digits as a note may write them."""
    if style == 0:
        return number
    if style == 1:
        return " ".join(number[i:i + 3] for i in range(0, len(number), 3))
    if style == 2:
        return f"({number[:3]}) {number[3:6]}-{number[6:]}"
    return f"{number[:4]}.{number[4:]}"


def test_phone_shortcut_keeps_every_regions_example_numbers() -> None:
    # every region's example numbers of every type, nationally formatted, as notes write them
    # and dialled from abroad, in their own region and in the scan's: where the library finds
    # a number, the shortcut parses it
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    checked = 0
    for region in regions:
        for kind in vars(PhoneNumberType).values():
            if not isinstance(kind, int):
                continue
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
            digits = phonenumbers.normalize_digits_only(national)
            # and dialled from abroad: an international prefix, then the country code
            nsn = phonenumbers.national_significant_number(example)
            abroad = [f"{idd}{example.country_code} {nsn}" for idd in ("00", "011 ", "0011 ")]
            for written in (national, *(_written(digits, k) for k in range(4)), *abroad):
                for where in {region, *DEFAULT_REGIONS}:
                    if _library_finds(written, where):
                        checked += 1
                        assert D._may_be_valid(written, where), (written, where)
    assert checked > 2000


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.text("0123456789", min_size=4, max_size=14), st.integers(0, 3),
       st.sampled_from([*DEFAULT_REGIONS, "IT", "BR", "AR", "MX", "JP", "SG", "ZA", "CH"]))
def test_phone_shortcut_never_refuses_what_the_library_finds(digits: str, style: int,
                                                             region: str) -> None:
    written = _written(digits, style)
    if _library_finds(written, region):
        assert D._may_be_valid(written, region)


def test_phone_shortcut_refuses_numbers_of_another_country() -> None:
    # an Australian mobile written nationally is no number in the United Kingdom or Spain,
    # and is not parsed there; in Australia it is
    for region in ("GB", "ES", "IN"):
        assert not D._may_be_valid("0459 652 622", region)
        assert not _library_finds("0459 652 622", region)
    assert D._may_be_valid("0459 652 622", "AU") and _library_finds("0459 652 622", "AU")
    # not plain (a plus sign, an extension): always parsed
    assert D._may_be_valid("+44 459 652 622", "GB")
    assert D._may_be_valid("0459 652 622 ext 12", "GB")


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(text_st)
def test_words_split_where_the_word_pattern_finds_them(text: str) -> None:
    # one split gives the words and, by the running length, where each starts and ends
    parts = D._WORD_SPLIT.split(text)
    ends = list(itertools.accumulate(map(len, parts)))
    assert [(ends[2 * i], ends[2 * i + 1], w) for i, w in enumerate(parts[1::2])] == [
        (*m.span(), m.group()) for m in D.WORD_RE.finditer(text)]


#: the date pattern as first written: ``\b`` first, the whole of it case-insensitive
DATE_AS_WRITTEN = re.compile(
    rf"\b(?:\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{2,4}}|\d{{4}}[/.\-]\d{{1,2}}[/.\-]\d{{1,2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{D.MONTHS},?\s+\d{{4}}|{D.MONTHS}\s+\d{{1,2}}"
    rf"(?:st|nd|rd|th)?,?\s+\d{{4}})\b", re.IGNORECASE)
DATE_TEXT = st.lists(st.one_of(st.sampled_from(
    ["12/03/1980", "1/2/99", "3.12.2020", "12-3-20", "1961-08-09", "2020/1/2", "19610809",
     "3rd March 1990", "21st Sept. 2020", "4 Ju 2020", "1 juL 2020", "Mar 3, 1990",
     "SEPT 4TH, 2020", "Sept 4th 2020", "May 3rd 2020", "Dec 25 2001", "Jun", "Jul", "Ju",
     "ſeptember 3 2000", "3 ſep 2001", "Oct", "nov", "Aug.", "April 1", "2021", "12", "3rd",
     "x12/03/1980", "_3 May 2020", "a1961-08-09", "1961-08-099", "٣/٤/٢٠٢٠", "\u212a",
     "Augu\u212at 3 2000", "ı", "İ", "Ｍar 3 2000", " ", ",", ".", "-", "/", "\n"]),
    st.text(max_size=3)), max_size=10).map("".join)


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(DATE_TEXT)
def test_date_pattern_matches_as_first_written(text: str) -> None:
    assert [m.span() for m in D.DATE_RE.finditer(text)] == [
        m.span() for m in DATE_AS_WRITTEN.finditer(text)]


def test_date_pattern_matches_as_first_written_in_generated_notes() -> None:
    dated = 0
    for text in _notes():
        want = [m.span() for m in DATE_AS_WRITTEN.finditer(text)]
        assert [m.span() for m in D.DATE_RE.finditer(text)] == want, text
        dated += bool(want)
    assert dated > 50


def test_date_patterns_first_class_holds_every_character_a_date_can_start_with() -> None:
    """Every character that starts a match of the case-insensitive first characters (a digit
    or a month's first letter, with everything ``re`` folds onto one) is in the class."""
    first = re.compile(r"[\djfmasond]", re.IGNORECASE)
    cls = re.compile(r"[\dJFMASONDjfmasond\u017f]")
    assert [hex(c) for c in range(sys.maxunicode + 1)
            if first.match(chr(c)) and not cls.match(chr(c))] == []
    assert D.DATE_RE.pattern.startswith(cls.pattern)


MRN_AS_WRITTEN = re.compile(r"\b(?:MRN|MR#|med(?:ical)?\s+rec(?:ord)?(?:\s+(?:no|number))?\.?"
                            r"|patient\s+(?:no|number|id)\.?|hospital\s+(?:no|number))"
                            r"[\s:#\-]*[A-Z0-9][A-Z0-9\-]{3,}", re.IGNORECASE)
MRN_TEXT = st.lists(st.one_of(st.sampled_from(
    ["MRN", "mrn", "MR#", "Mr", "Med rec", "medical record no.", "Medical Record Number",
     "med  rec.", "patient id", "Patient no.", "patient number", "hospital no", "Hospital Number",
     "hoſpital no", "patıent id", "MEDİCAL rec", "xMRN", "_patient id", "amed rec", "12345",
     "AB-12", "ſ12k", "\u212a123", "A1", ":", "#", "-", " ", "\n"]), st.text(max_size=3)),
    max_size=10).map("".join)


@settings(max_examples=600, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(MRN_TEXT)
def test_mrn_pattern_matches_as_first_written(text: str) -> None:
    assert [m.span() for m in D.MRN_RE.finditer(text)] == [
        m.span() for m in MRN_AS_WRITTEN.finditer(text)]


def test_mrn_patterns_first_class_holds_every_character_a_match_can_start_with() -> None:
    first = re.compile(r"[mph]", re.IGNORECASE)
    assert [hex(c) for c in range(sys.maxunicode + 1)
            if first.match(chr(c)) and chr(c) not in "MmPpHh"] == []
    assert D.MRN_RE.pattern.startswith("[MmPpHh]")
    for text in _notes():
        assert [m.span() for m in D.MRN_RE.finditer(text)] == [
            m.span() for m in MRN_AS_WRITTEN.finditer(text)], text
