"""Cell text → typed values: date formats per column, numbers, booleans, enums, JSON notes.

Dates are the hard part of a clinic export: one column may be ``25/03/2024`` (day first) and
another ``03/25/2024``; a dirty export mixes formats inside one column. So each column's formats
are *inferred from evidence* (a component over 12 fixes the order) and a value is parsed by the
column's dominant format first, then by the others it matched, in order of how often. A value
that none fits is a row error naming the column, never quoting the value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y",
                "%Y%m%d", "%d/%m/%y", "%m/%d/%y"]
TIME_SUFFIXES = [" %H:%M:%S", " %H:%M", "T%H:%M:%S", "T%H:%M", " %I:%M %p", " %I:%M:%S %p"]
DATETIME_FORMATS = [d + t for d in DATE_FORMATS[:8] + ["%d-%b-%Y"] for t in TIME_SUFFIXES] + [
    "%Y%m%d%H%M%S", "%Y%m%d %H%M%S"]
DAY_FIRST = {f for f in DATE_FORMATS + DATETIME_FORMATS if f.startswith("%d")}
MONTH_FIRST = {f for f in DATE_FORMATS + DATETIME_FORMATS if f.startswith("%m")}
ISO = "iso"
#: yes and no as exports write them, in English and in the languages of the practices Ferry
#: reads (a Spanish "Sí", a German "Ja", a French "Oui", a Dutch "Nee", a Portuguese "Não")
TRUE = {"true", "yes", "y", "1", "t", "on", "sí", "si", "ja", "oui", "sim", "vero"}
FALSE = {"false", "no", "n", "0", "f", "off", "", "nein", "non", "nee", "não", "nao", "falso"}
INT_RE = re.compile(r"^[+-]?(0|[1-9]\d{0,17})$")
DEC_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d+)?$|^[+-]?\d+(\.\d+)?$")
EU_RE = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d{1,2}$|^[+-]?\d+,\d{1,2}$")
#: a currency's code or sign around an amount ("A$" and "AU$" as Australian exports write
#: dollars, "US$", "NZ$", "C$" and "CA$" as Canadian exports write them)
MONEY_JUNK = re.compile(r"(?i)\s|inr|rs\.?|usd|eur|gbp|aud|nzd|cad|(?:au|us|nz|ca|a|c)?\$|[₹€£¥]")
#: the currency an amount's own text (or its column's name: "Total (€)") names by its sign or
#: code; a bare "$" names none (US, Australian, New Zealand, Canadian dollars …), nor does "¥"
CURRENCY_MARKS = [(re.compile(r"(?i)(?<![a-z])a(?:u)?\$"), "AUD"),
                  (re.compile(r"(?i)(?<![a-z])nz\$"), "NZD"),
                  (re.compile(r"(?i)(?<![a-z])ca?\$"), "CAD"),
                  (re.compile(r"(?i)(?<![a-z])us\$"), "USD"),
                  (re.compile("€"), "EUR"), (re.compile("£"), "GBP"), (re.compile("₹"), "INR"),
                  (re.compile(r"(?i)(?<![a-z])rs\.?(?=\s*\d)"), "INR"),
                  (re.compile(r"(?<![A-Za-z])(EUR|GBP|USD|AUD|NZD|CAD|INR)(?![A-Za-z])",
                              re.I), "")]
DATEISH = re.compile(r"^\d{1,4}[-/. ]|^[A-Za-z]{3,9} \d{1,2},? \d{4}")
#: a date (or date-time) written without separators, year first: ``20240315``
COMPACT_DATE = re.compile(r"^(19|20)\d{6}(\d{6})?$")


class BadValue(ValueError):
    """A cell does not fit its column's type; the message never holds the value."""


FAST_DIRECTIVES = {"%d": r"(?P<d>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%Y": r"(?P<Y>\d{4})",
                   "%H": r"(?P<H>\d{1,2})", "%M": r"(?P<M>\d{2})", "%S": r"(?P<S>\d{2})"}


@lru_cache(maxsize=256)
def _fast(fmt: str) -> re.Pattern[str] | None:
    """A regex for numeric formats (``%d/%m/%Y %H:%M``): strptime is ~10× slower per call."""
    if fmt == ISO or "%" not in fmt:
        return None
    out, i = "", 0
    while i < len(fmt):
        if fmt[i] == "%":
            d = fmt[i:i + 2]
            if d not in FAST_DIRECTIVES:
                return None
            out += FAST_DIRECTIVES[d]
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return re.compile(out + r"\Z")


def _try(fmt: str, text: str) -> dt.datetime | None:
    if fmt == ISO:
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    rx = _fast(fmt)
    if rx is not None:
        m = rx.match(text)
        if m is None:
            return None
        g = m.groupdict()
        try:
            return dt.datetime(int(g["Y"]), int(g["m"]), int(g["d"]), int(g.get("H") or 0),  # noqa: DTZ001
                               int(g.get("M") or 0), int(g.get("S") or 0))
        except ValueError:
            return None
    try:
        return dt.datetime.strptime(text, fmt)  # noqa: DTZ007 - zone applied by the caller
    except ValueError:
        return None


SHAPE = str.maketrans("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                      "9" * 10 + "a" * 52)


@lru_cache(maxsize=4096)
def _candidates(shape: str) -> tuple[str, ...]:
    """Formats a value of this shape (digits → 9, letters → a) could possibly be in."""
    return tuple(f for f in [ISO, *DATE_FORMATS, *DATETIME_FORMATS] if _shape_fits(f, shape))


def _shape_fits(fmt: str, shape: str) -> bool:
    if fmt == ISO:
        return shape[:4] == "9999" and len(shape) >= 10 and shape[4] == "-"
    sample = dt.datetime(2000, 12, 28, 13, 45, 56).strftime(fmt).translate(SHAPE)  # noqa: DTZ001
    short = dt.datetime(2000, 1, 2, 3, 4, 5).strftime(fmt).translate(SHAPE)  # noqa: DTZ001
    if "%b" in fmt or "%B" in fmt or "%p" in fmt:
        return sample[:1] == shape[:1] and abs(len(sample) - len(shape)) <= 8
    return len(short) - 4 <= len(shape) <= len(sample) and \
        set(shape) <= set(sample) | {"9"}


def formats_of(text: str) -> list[str]:
    """Every known format ``text`` parses with (ISO first)."""
    text = text.strip()
    out = []
    for fmt in _candidates(text.translate(SHAPE)):
        if fmt == ISO and not DATEISH.match(text):
            continue
        if _try(fmt, text) is not None:
            out.append(fmt)
    return out


@dataclass
class DateColumn:
    """Formats seen in a column, most frequent first, with day/month order settled."""

    formats: list[str] = field(default_factory=list)
    dayfirst: bool | None = None  # None: no evidence in this column
    share: float = 0.0  # share of non-empty samples that parsed
    has_time: bool = False
    day: int = 0  # sampled cells only day-first reads
    month: int = 0  # sampled cells only month-first reads
    _last: tuple[str, dt.datetime | None] | None = None

    @property
    def local(self) -> bool:
        """The column's own style puts day and month in an order (``25/03/2024``), so its
        unambiguous cells say how its ambiguous ones read; in an ISO column a local-format
        cell is a dirty row of its own."""
        return bool(self.formats) and self.formats[0] in DAY_FIRST | MONTH_FIRST

    def primary(self, text: str) -> dt.datetime | None:
        """The value by the column's own formats, or None when it is off the column's style."""
        if self._last is not None and self._last[0] == text:
            return self._last[1]
        got = None
        for fmt in self.formats:
            got = _try(fmt, text)
            if got is not None:
                break
        self._last = (text, got)
        return got

    def parse(self, text: str, hint: bool | None = None) -> dt.datetime:
        """``hint``: day-first evidence from the same row, for a value off the column's style."""
        text = text.strip()
        if hint is not None and ambiguous(text):  # the order decided for this cell
            got = self.primary(text) if self.dayfirst is hint else None  # the column's own
            return got if got is not None else parse_in_order(text, hint)
        got = self.primary(text)
        if got is not None:
            return got
        order = hint if hint is not None else self.dayfirst
        for fmt in formats_of(text):  # a format not seen in the sample (dirty column)
            if order is not None and fmt in (MONTH_FIRST if order else DAY_FIRST):
                continue
            got = _try(fmt, text)
            if got is not None:
                return got
        raise BadValue("not a date in any known format")


def infer_dates(samples: list[str], default_dayfirst: bool = True) -> DateColumn:
    """Dominant formats of a column, ambiguous day/month resolved by evidence or the default."""
    values = [s.strip() for s in samples if s and s.strip()]
    if not values:
        return DateColumn()
    tally: Counter[str] = Counter()
    parsed = unambiguous_day = unambiguous_month = 0
    for v in values:
        fmts = formats_of(v)
        parsed += bool(fmts)
        tally.update(fmts)
        day_ok = any(f in DAY_FIRST for f in fmts)
        month_ok = any(f in MONTH_FIRST for f in fmts)
        unambiguous_day += day_ok and not month_ok
        unambiguous_month += month_ok and not day_ok
    if not parsed:
        return DateColumn()
    day = sum(n for f, n in tally.items() if f in DAY_FIRST)
    month = sum(n for f, n in tally.items() if f in MONTH_FIRST)
    dayfirst: bool | None = None
    if unambiguous_day or unambiguous_month:
        dayfirst = unambiguous_day >= unambiguous_month
    elif day or month:
        dayfirst = None
    order = dayfirst if dayfirst is not None else default_dayfirst
    banned = MONTH_FIRST if order else DAY_FIRST
    # Only formats carrying a real share of the column are "its" formats; a value in a rarer
    # style is a dirty row, parsed with its own row's day/month evidence (see DateColumn.parse).
    top = max(tally.values())
    formats = [f for f, n in tally.most_common() if f not in banned and n >= 0.2 * top]
    has_time = any(_has_time(f, v) for v in values[:50] for f in formats[:1])
    return DateColumn(formats, dayfirst, parsed / len(values), has_time, unambiguous_day,
                      unambiguous_month)


SLASHED = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})([ T]|$)")


def order_of(text: str) -> bool | None:
    """Day-first (True) or month-first (False) when only one order reads ``text`` (a component
    over 12: ``25/03/2024``; dots, which only day-first writes); None when both or neither do.
    By shape, as ``ambiguous``: a row's every date cell is asked."""
    m = SLASHED.match(text)
    if m is None or (len(m[4]) == 2 and m[5]):
        return None
    a, b = int(m[1]), int(m[3])
    if not (1 <= a <= 31 and 1 <= b <= 31) or (a > 12 and b > 12):
        return None
    if m[2] == ".":
        return True if b <= 12 else None
    return True if a > 12 else False if b > 12 else None


def row_order(texts: list[str]) -> bool | None:
    """Day-first (True) or month-first (False) if a row's date cells settle it; None when none
    does, or when they disagree (a row that shows both orders settles nothing)."""
    seen = {o for o in map(order_of, texts) if o is not None}
    return seen.pop() if len(seen) == 1 else None


def ambiguous(text: str) -> bool:
    """Both orders read ``text``, as different dates (``07/12/2026``; not ``05/05/2026``, and
    not ``07.12.2026``: only day-first writes dots). By shape, without trying every format:
    DATE_FORMATS has both orders for ``/`` and ``-``, with a time only after a 4-digit year."""
    m = SLASHED.match(text)
    if m is None or m[2] == "." or (len(m[4]) == 2 and m[5]):
        return False
    a, b = int(m[1]), int(m[3])
    return a != b and 1 <= a <= 12 and 1 <= b <= 12


def parse_in_order(text: str, dayfirst: bool) -> dt.datetime:
    """``text`` read day-first or month-first, as decided for it."""
    want = DAY_FIRST if dayfirst else MONTH_FIRST
    for fmt in formats_of(text.strip()):
        if fmt in want:
            got = _try(fmt, text.strip())
            if got is not None:
                return got
    raise BadValue("not a date in the order decided")


#: where month-first dates are the custom (CLDR short date patterns starting with M);
#: CA and PH write both, so they settle nothing
MONTH_FIRST_REGIONS = {"US", "PR", "GU", "VI", "AS", "MP", "UM", "FM", "MH", "PW"}
BOTH_ORDER_REGIONS = {"CA", "PH"}


def region_order(region: str | None) -> bool | None:
    """The usual day/month order of a country (ISO code), None when it has no one order."""
    if not region or region in BOTH_ORDER_REGIONS:
        return None
    return region not in MONTH_FIRST_REGIONS


@dataclass
class Evidence:
    """What a whole export says about day/month order, beyond one column: the orders its
    unambiguous dates show (every date cell of every file sampled), the practice's country
    (from its phone numbers' country codes) and the source system's documented order."""

    day: int = 0  # cells only day-first reads
    month: int = 0  # cells only month-first reads
    region: str | None = None  # the practice's country: configured, else the numbers' one
    region_from: str = "its phone numbers' country codes; set options.phone_region if wrong"
    system: bool | None = None  # the source system's documented order (Pulse: day-first)
    system_name: str = ""

    def add(self, text: str) -> None:
        o = order_of(text)
        if o is True:
            self.day += 1
        elif o is False:
            self.month += 1

    def decide(self) -> tuple[bool | None, str]:
        """(order, why): the order every piece of evidence agrees on, or None with the reason
        it cannot be told (pieces disagree, or there are none)."""
        said: dict[bool, list[str]] = {True: [], False: []}
        if self.day:
            said[True].append("dates in the export that only day-first reads")
        if self.month:
            said[False].append("dates in the export that only month-first reads")
        region = region_order(self.region)
        if region is not None:
            said[region].append(f"the practice's country ({self.region}, {self.region_from})")
        if self.system is not None:
            said[self.system].append(f"{self.system_name}'s documented date order")
        if said[True] and said[False]:
            return None, (f"day-first by {' and '.join(said[True])}, month-first by "
                          f"{' and '.join(said[False])}")
        if said[True] or said[False]:
            return bool(said[True]), ""
        return None, "nothing in the export says which order its dates are in"


def _has_time(fmt: str, value: str) -> bool:
    if fmt == ISO:
        return "T" in value or ":" in value
    return "%H" in fmt or "%I" in fmt


def as_date(text: str, col: DateColumn, hint: bool | None = None) -> dt.date:
    return col.parse(text, hint).date()


def as_datetime(text: str, col: DateColumn, tz: dt.tzinfo, hint: bool | None = None
                ) -> dt.datetime:
    got = col.parse(text, hint)
    return got if got.tzinfo else got.replace(tzinfo=tz)


def as_decimal(text: str) -> Decimal:
    t = MONEY_JUNK.sub("", text.strip())
    neg = t.startswith("(") and t.endswith(")")
    t = t.strip("()")
    if EU_RE.match(t):  # 1.234,50 or 50,00: decimal comma
        t = t.replace(".", "").replace(",", ".")
    if not DEC_RE.match(t):
        raise BadValue("not a number")
    try:
        value = Decimal(t.replace(",", ""))
    except InvalidOperation:
        raise BadValue("not a number") from None
    return -value if neg else value


def currency_in(text: str) -> str | None:
    """The ISO code of the one currency ``text`` names (``£105.00`` → GBP, ``120,00 €`` → EUR,
    ``NZ$95.50`` → NZD, ``Total (EUR)`` → EUR); None when it names none, or more than one."""
    if not text or text.isdigit():
        return None
    found = set()
    for rx, code in CURRENCY_MARKS:
        for m in rx.finditer(text):
            found.add(code or m.group(1).upper())
    return found.pop() if len(found) == 1 else None


def as_int(text: str) -> int:
    t = text.strip()
    if t.endswith(".0"):
        t = t[:-2]
    if not INT_RE.match(t.replace(",", "")):
        raise BadValue("not a whole number")
    return int(t.replace(",", ""))


#: a length of time as exports write it: ``1h 30m``, ``1 hr 30 mins``, ``2 hours``, ``45 min``,
#: ``1 Std. 30 Min.``; with ``1:30`` (hours and minutes) and ``1.5 h`` beside it
LENGTH = re.compile(r"(?i)^(?:(?P<h>\d{1,3})\s*(?:h|hrs?|hours?|std|stunden?|uur|heures?|horas?|"
                    r"ore)\.?)?\s*(?:(?P<m>\d{1,4})\s*(?:m|mins?|minutes?|minuten|minutos|"
                    r"minuti)?\.?)?$")
CLOCK_LENGTH = re.compile(r"^(?P<h>\d{1,2}):(?P<m>[0-5]\d)(?::00)?$")
HOURS = re.compile(r"(?i)^(\d{1,2}[.,]\d{1,2})\s*(?:h|hrs?|hours?|std|stunden?|uur|heures?|"
                   r"horas?|ore)\.?$")


def as_minutes(text: str) -> int:
    """A length in whole minutes: ``90``, ``90 min``, ``1h 30m``, ``1:30``, ``1.5 h`` → 90. A
    length that is not whole minutes, or a bare ``1.5`` (hours or minutes?), is not read."""
    t = text.strip()
    try:
        return as_int(t)
    except BadValue:
        pass
    m = CLOCK_LENGTH.match(t) or LENGTH.match(t)
    if m and (m["h"] or m["m"]):
        return int(m["h"] or 0) * 60 + int(m["m"] or 0)
    h = HOURS.match(t)
    if h:
        minutes = Decimal(h.group(1).replace(",", ".")) * 60
        if minutes == minutes.to_integral_value():
            return int(minutes)
    raise BadValue("not a length in minutes")


#: a long number a spreadsheet rounded and wrote in scientific notation (an NHS number saved
#: from Excel as ``9.43477E+09``): its digits are gone
ROUNDED = re.compile(r"^[+-]?\d(?:[.,]\d+)?[eE]\+\d{1,3}$")
#: text fields that hold a number a person reads: the digits are the value
CODE_FIELDS = frozenset({"national_id", "mrn", "patient_number", "postcode", "member_id",
                         "group_number", "license_number", "npi", "number"})


def as_code(text: str) -> str:
    """An identifier's text as written, unless a spreadsheet rounded it (``9.43477E+09``): then
    its digits are lost and it is not read (a wrong NHS number is worse than none)."""
    if ROUNDED.match(text.strip()):
        raise BadValue("a number in scientific notation, as a spreadsheet writes a long number"
                       " it rounded: its digits are lost (export the column as text)")
    return text


#: a record's state written as a word (a staff member's ``ACTIVE`` / ``INACTIVE``): read only
#: into a flag field, never used to call a column of such words a yes/no column
STATE_WORDS = {"active": True, "inactive": False, "enabled": True, "disabled": False}


def as_bool(text: str) -> bool:
    t = text.strip().lower()
    if t in TRUE:
        return True
    if t in FALSE:
        return False
    if t in STATE_WORDS:
        return STATE_WORDS[t]
    raise BadValue("not a yes/no value")


#: a sex column's letters in the language its name is in: German männlich / weiblich / divers,
#: Dutch man / vrouw, Italian maschio / femmina, French homme or masculin / femme
SEX_LETTERS: dict[str, dict[str, str]] = {
    "geschlecht": {"m": "male", "w": "female", "d": "other"},
    "geslacht": {"m": "male", "v": "female"},
    "sesso": {"m": "male", "f": "female"},
    "sexe": {"h": "male", "m": "male", "f": "female"},
}
#: a word in a sex column's name → the language its letters are in (a ``SEX_LETTERS`` key, or
#: ``sexo``: Spanish or Portuguese); French forms say sexe or genre, with H/F or M/F
SEX_NAMES = {"geschlecht": "geschlecht", "geslacht": "geslacht", "sesso": "sesso",
             "sexe": "sexe", "genre": "sexe", "sexo": "sexo"}
#: sex written out in another language: one meaning wherever it appears
SEX_WORDS = {"männlich": "male", "maennlich": "male", "weiblich": "female", "divers": "other",
             "hombre": "male", "mujer": "female", "varón": "male", "varon": "male",
             "masculino": "male", "femenino": "female", "feminino": "female",
             "homme": "male", "femme": "female", "masculin": "male", "féminin": "female",
             "vrouw": "female", "maschio": "male", "femmina": "female"}
AMBIGUOUS_SEX = ("a one-letter sex whose meaning depends on the export's language, which its "
                 "column does not settle (a Sexo column's M is mujer in Spanish, masculino in "
                 "Portuguese): the field is left empty; have the export write it in words")


def sex_codes(samples: list[str], column: str = "") -> dict[str, str | None]:
    """{letter: word} for a sex column written in single letters that are not English (None: a
    letter whose meaning the column does not settle, left empty and listed). ``M`` is male in
    English, German, Dutch, Italian or Portuguese, but *mujer* (female) in a Spanish export,
    whose men are ``H`` (*hombre*, as a French export's *homme*) or ``V`` (*varón*). The
    column's name gives the language where a word of it can (``sex_language``: Geschlecht
    M/W/D, Geslacht M/V, Sesso M/F, Sexe or Genre H/M/F, ``Sexe du patient`` too; Sexo: H or V beside M is Spanish, F beside M is Portuguese, M alone is either);
    else the letters: ``H`` is male and, with no F, ``M`` female; ``W`` with no F is female,
    ``M`` male. The whole column is read by this, not only the sampled rows. ``V`` under any
    other name is left as written (*vrouw* or *varón*). {}: read as it is."""
    letters = {s.strip().lower().rstrip(".") for s in samples if s and s.strip()}
    name = sex_language(column)
    if name in SEX_LETTERS:
        return dict(SEX_LETTERS[name])
    if name == "sexo":
        if letters & {"h", "v"}:
            return {"h": "male", "v": "male",
                    "m": None if "f" in letters else "female", "f": "female"}
        if "f" in letters:
            return {"m": "male", "f": "female"}
        return {"m": None} if "m" in letters else {}
    codes: dict[str, str | None] = {}
    if "h" in letters:
        codes.update(h="male", m=None if "f" in letters else "female")
    elif "w" in letters and "f" not in letters:
        codes.update(m="male", w="female")
    return codes


def sex_language(column: str) -> str | None:
    """The language a sex column's name is in, by its words (``SEX_NAMES``): ``Sexe du
    patient``, ``SEXE_PAT``, ``Genre (H/F)`` and ``GeschlechtPatient`` as ``Sexe``,
    ``Genre`` and ``Geschlecht`` are. None when no word names one, or words name two."""
    spaced = re.sub(r"(?<=[a-zà-ÿ])(?=[A-Z])", " ", column)  # GeschlechtPatient
    found = {SEX_NAMES[w] for w in re.findall(r"[a-zà-ÿ]+", spaced.lower()) if w in SEX_NAMES}
    return found.pop() if len(found) == 1 else None


def as_sex(text: str, codes: dict[str, str | None]) -> str:
    """A sex cell: a letter by ``codes`` (None: not settled, ``BadValue``), a word in another
    language by ``SEX_WORDS``, else as written."""
    key = text.strip().lower().rstrip(".")
    if key in codes:
        word = codes[key]
        if word is None:
            raise BadValue(AMBIGUOUS_SEX)
        return word
    return SEX_WORDS.get(key, text.strip())


def as_set(text: str) -> list[str]:
    t = text.strip()
    if t.startswith("["):
        try:
            got = json.loads(t)
            if isinstance(got, list):
                return [str(x).strip() for x in got if str(x).strip()]
        except ValueError:
            pass
    sep = ";" if ";" in t else "|" if "|" in t else ","
    return [p.strip() for p in t.split(sep) if p.strip()]


def flatten_json_text(text: str) -> str:
    """Structured JSON notes (allergies …) as newline-delimited text; other text unchanged.

    Seed 003: "If Pulse stores structured JSON, we parse and flatten to newline-delimited text".
    """
    t = text.strip()
    if not t or t[0] not in "[{":
        return text
    try:
        data = json.loads(t)
    except ValueError:
        return text
    items = data if isinstance(data, list) else [data]
    lines = []
    for item in items:
        if isinstance(item, dict):
            main = next((str(v) for k, v in item.items() if v not in (None, "")), "")
            rest = [f"{k}: {v}" for k, v in list(item.items())[1:] if v not in (None, "")]
            lines.append(main + (f" ({', '.join(rest)})" if rest else ""))
        elif item not in (None, ""):
            lines.append(str(item))
    return "\n".join(lines)


def normalise_option(value: str, options: list[str]) -> str:
    """An enum cell as one of the model's option labels when it plainly is one."""
    return _normalise(value, tuple(options))


@lru_cache(maxsize=4096)
def _normalise(value: str, options: tuple[str, ...]) -> str:
    key = _key(value)
    for opt in options:
        if _key(opt) == key:
            return opt
    alias = ENUM_ALIASES.get(key)
    if alias in options:
        return alias
    # a status in the practice's language (``Annulée``, ``nicht erschienen``, ``Pagado``):
    # accents folded, the first of the word's meanings that is one of this field's options
    for word in STATUS_WORDS.get(_key(_fold(value)), ()):
        if word in options:
            return word
    return value.strip()


def _fold(text: str) -> str:
    """Accents off (``Annulée`` → ``Annulee``, ``überfällig`` → ``uberfallig``), ``ß`` → ss."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.replace("ß", "ss"))
                   if not unicodedata.combining(c))


def _key(v: str) -> str:
    """Case and punctuation folded (``No-Show`` ≡ ``no_show``); signs kept (``A+`` ≠ ``A-``).
    Spelled-out values (``A positive``) are left for the mapping to flag, not guessed here."""
    return re.sub(r"[^a-z0-9+\-]+", "", v.lower().replace("_", "").replace("-", "")
                  if v.strip()[-1:] not in "+-" else v.lower()) or v.strip()


ENUM_ALIASES: dict[str, Any] = {
    "booked": "scheduled", "confirmed": "scheduled", "upcoming": "scheduled",
    "done": "completed", "attended": "completed", "arrived": "completed", "processed": "completed",
    "canceled": "cancelled", "noshow": "no_show", "dna": "no_show", "didnotattend": "no_show",
    "unpaid": "pending", "due": "pending", "open": "pending", "partiallypaid": "pending",
    "void": "cancelled", "settled": "paid", "m": "male", "f": "female",
    "wife": "spouse", "husband": "spouse", "partner": "spouse", "mother": "parent",
    "father": "parent", "son": "child", "daughter": "child", "brother": "sibling",
    "sister": "sibling",
}


def _words(**meanings: str) -> dict[str, tuple[str, ...]]:
    """{folded key: its meanings, in order}: each keyword names what its words mean."""
    out: dict[str, tuple[str, ...]] = {}
    for meaning, words in meanings.items():
        for w in words.split(","):
            k = _key(_fold(w.strip()))
            out[k] = (*out.get(k, ()), *(m for m in meaning.split("_or_") if m not in
                                         out.get(k, ())))
    return out


#: appointment, invoice and treatment states as exports write them in French, Spanish,
#: German, Dutch, Italian and Portuguese (and English words the aliases lack). A word with two
#: meanings lists both (``pendiente``: an invoice's pending, an appointment's scheduled); the
#: field's options pick. A status no word settles is kept as written, so ``map --confirm`` names
#: it: a French front desk's ``Annulée`` must not become a visit that took place
STATUS_WORDS = _words(
    scheduled=("prévu, prévue, planifié, planifiée, programmé, programmée, confirmé, confirmée,"
               " réservé, réservée, à venir, programada, programado, confirmada, confirmado,"
               " agendada, agendado, reservada, reservado, geplant, gebucht, bestätigt,"
               " vereinbart, gepland, ingepland, bevestigd, geboekt, programmato, programmata,"
               " prenotato, prenotata, confermato, confermata, marcado, marcada"),
    pending_or_scheduled=("en attente, pendiente, offen, ausstehend, in sospeso, pendente,"
                          " in attesa"),
    completed=("complete, finished, terminé, terminée, complété, complétée, effectué, effectuée,"
               " réalisé, réalisée, honoré, honorée, venu, venue, présent, présente,"
               " completada, completado, realizada, realizado, atendida, atendido, asistió,"
               " finalizada, finalizado, concluida, concluido, concluída, concluído,"
               " compareceu, abgeschlossen, erledigt, erschienen, wahrgenommen, durchgeführt,"
               " stattgefunden, voltooid, afgerond, verschenen, gedaan, uitgevoerd, completato,"
               " completata, effettuato, effettuata, eseguito, eseguita, svolto, svolta"),
    cancelled=("annulé, annulée, cancelada, cancelado, anulada, anulado, abgesagt, storniert,"
               " annulliert, geannuleerd, afgezegd, annullato, annullata, cancellato,"
               " cancellata, disdetto, disdetta, desmarcado, desmarcada"),
    no_show=("absent, absente, non présenté, non présentée, pas venu, pas venue, no asistió,"
             " no se presentó, ausente, inasistencia, nicht erschienen, nicht wahrgenommen,"
             " niet verschenen, niet gekomen, non presentato, non presentata, assente, faltou,"
             " não compareceu"),
    paid=("payé, payée, réglé, réglée, acquitté, acquittée, pagado, pagada, bezahlt,"
          " beglichen, betaald, pagato, pagata, pago, paga"),
    pending=("outstanding, owing, owed, impayé, impayée, non payé, non payée, unbezahlt,"
             " openstaand, onbetaald, non pagato, non pagata, em aberto, por pagar"),
    overdue=("en retard, vencido, vencida, überfällig, achterstallig, vervallen, scaduto,"
             " scaduta, atrasado, atrasada"),
    active=("actif, active, en cours, activo, activa, en curso, aktiv, laufend, actief, lopend,"
            " attivo, attiva, in corso, ativo, ativa, em andamento"),
)


def infer_type(samples: list[str], default_dayfirst: bool = True) -> tuple[str, DateColumn | None]:
    """The custom-field type of a column from its sample cells (every sample must fit)."""
    values = [s.strip() for s in samples if s is not None and str(s).strip()]
    if not values:
        return "text", None
    if all(len(v) <= 255 and "\n" not in v for v in values):
        low = {v.lower() for v in values}
        if low <= (TRUE | FALSE) - {""} and not low <= {"0", "1"}:
            return "bool", None
        if all(INT_RE.match(v) for v in values):
            # 20240315: a compact date when every cell reads as one (an id rarely does)
            if all(COMPACT_DATE.match(v) for v in values):
                col = infer_dates(values, default_dayfirst)
                if col.share == 1.0:
                    return ("datetime" if col.has_time else "date"), col
            return "int", None
        if all(DEC_RE.match(v) for v in values):
            return "decimal", None
        if all(DATEISH.match(v) for v in values):
            col = infer_dates(values, default_dayfirst)
            if col.share == 1.0:
                return ("datetime" if col.has_time else "date"), col
        return "text", None
    return "long_text", None
