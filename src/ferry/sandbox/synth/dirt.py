"""The dirt a real export has, each kind at a known rate, and the ledger of who got which.

Dirt is decided per patient index (or practitioner index) by *stratified* selection: the index
range is cut into blocks of ``1/rate`` indices and exactly one index per block is picked by a hash
of (seed, kind, block). So every kind appears at its rate to within one record at any practice
size, even a 50-patient demo, and whether index ``i`` is dirty is an O(1) pure function: nothing
has to be remembered while streaming a million patients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import cache

MASK = (1 << 64) - 1
SCALE = 1_000_000  # rates are resolved to parts per million so block bounds are exact integers


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): fast, stable across runs and platforms."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & MASK)) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ (h >> 31)) * 0x94D049BB133111EB & MASK
        h ^= h >> 29
    return h


def unit(*parts: int) -> float:
    """A uniform float in [0, 1) from ``mix``."""
    return mix(*parts) / 2.0**64


@cache
def code(name: str) -> int:
    """A stable integer for a name (Python's ``hash`` of str is salted per process)."""
    h = 0
    for ch in name.encode():
        h = (h * 131 + ch) & MASK
    return h


def picked(seed: int, kind: str, rate: float, i: int) -> bool:
    """Whether index ``i`` is the one picked in its block for ``kind`` (stratified sampling)."""
    if rate <= 0:
        return False
    if rate >= 1:
        return True
    rn = max(1, round(rate * SCALE))
    b = i * rn // SCALE
    start = -(-b * SCALE // rn)
    end = -(-(b + 1) * SCALE // rn)
    return i == start + mix(seed, code(kind), b) % (end - start)


@dataclass(frozen=True)
class DirtRates:
    """Fraction of patients (practitioners for ``no_crm_user``) given each kind of dirt."""

    duplicate_email: float = 0.02  # a second record of a patient, same email
    duplicate_person: float = 0.02  # same name + DOB + phone, a different email
    invalid_email: float = 0.03
    invalid_phone: float = 0.03
    mixed_date_format: float = 0.05  # exporter renders this patient's dates in a local format
    unknown_blood_group: float = 0.03
    address_one_string: float = 0.05
    json_allergies: float = 0.04
    long_note: float = 0.003  # one extra clinical note of more than 100,000 characters
    orphan_reference: float = 0.01  # an appointment and a note naming a patient that is absent
    oversize_file: float = 0.003  # one extra document over 50 MB (declared size)
    #: benchmarks of memory against file size (off by default): one extra ~100 MB text file of
    #: clinical text, one extra ~100 MB PDF whose text layer is a note (the rest is padding)
    large_text_file: float = 0.0
    large_pdf: float = 0.0
    no_crm_user: float = 0.25

    def __post_init__(self) -> None:
        for f in fields(self):
            if not 0.0 <= getattr(self, f.name) <= 1.0:
                raise ValueError(f"dirt rate {f.name} must be between 0 and 1")

    @classmethod
    def none(cls) -> DirtRates:
        return cls(**{f.name: 0.0 for f in fields(cls)})


# ledger kind -> (the DirtRates field deciding it, the object whose source ids it lists)
KINDS: dict[str, tuple[str, str]] = {
    "duplicate_email": ("duplicate_email", "patient"),
    "duplicate_person": ("duplicate_person", "patient"),
    "invalid_email": ("invalid_email", "patient"),
    "invalid_phone": ("invalid_phone", "patient"),
    "mixed_date_format": ("mixed_date_format", "patient"),
    "unknown_blood_group": ("unknown_blood_group", "patient"),
    "address_one_string": ("address_one_string", "patient"),
    "json_allergies": ("json_allergies", "patient"),
    "long_note": ("long_note", "clinical_note"),
    "orphan_appointment": ("orphan_reference", "appointment"),
    "orphan_note": ("orphan_reference", "clinical_note"),
    "oversize_file": ("oversize_file", "document"),
    "large_text_file": ("large_text_file", "document"),
    "large_pdf": ("large_pdf", "document"),
    "no_crm_user": ("no_crm_user", "practitioner"),
}
PATIENT_KINDS = tuple(k for k, (_, o) in KINDS.items() if o != "practitioner")
IDENTITY_KINDS = frozenset({"duplicate_email", "duplicate_person", "invalid_email",
                            "invalid_phone"})


class Dirt:
    """The dirt decisions of one practice. Consecutive indices share a block, so the block's
    pick is remembered per kind: streaming costs one hash per block instead of one per index."""

    def __init__(self, seed: int, rates: DirtRates) -> None:
        self.seed, self.rates = seed, rates
        self._kinds = [(k, code(k), max(1, round(getattr(rates, KINDS[k][0]) * SCALE)))
                       for k in PATIENT_KINDS if getattr(rates, KINDS[k][0]) > 0]
        self._last: dict[str, tuple[int, int]] = {}

    def picked(self, kind: str, kcode: int, rn: int, i: int) -> bool:
        if rn >= SCALE:
            return True
        b = i * rn // SCALE
        last = self._last.get(kind)
        if last is None or last[0] != b:
            start = -(-b * SCALE // rn)
            end = -(-(b + 1) * SCALE // rn)
            last = (b, start + mix(self.seed, kcode, b) % (end - start))
            self._last[kind] = last
        return i == last[1]

    def flags(self, i: int) -> frozenset[str]:
        """The dirt kinds patient ``i`` carries, after resolving the kinds that exclude each
        other (a duplicate keeps its original's email/phone, so it is never also invalid)."""
        got = {k for k, kc, rn in self._kinds if self.picked(k, kc, rn, i)}
        if not got:
            return EMPTY
        if i == 0:
            got -= {"duplicate_email", "duplicate_person"}
        if "duplicate_email" in got:
            got -= {"duplicate_person", "invalid_email", "invalid_phone"}
        elif "duplicate_person" in got:
            got -= {"invalid_email", "invalid_phone"}
        return frozenset(got)

    def original_of(self, i: int) -> int:
        """The earlier patient a duplicate ``i`` copies: one carrying no identity dirt itself."""
        for step in range(64):
            j = i - 1 - mix(self.seed, i, step) % min(i, 40)
            if not (patient_flags(self.seed, self.rates, j) & IDENTITY_KINDS):
                return j
        return i - 1


EMPTY: frozenset[str] = frozenset()


def patient_flags(seed: int, rates: DirtRates, i: int) -> frozenset[str]:
    """``Dirt.flags`` without the block cache (for random access)."""
    return Dirt(seed, rates).flags(i)


class Ledger:
    """Which source ids got which dirt; built by replaying the O(1) decisions, not the records."""

    def __init__(self, seed: int, rates: DirtRates, patients: int, practitioners: int,
                 ids: Callable[[str, int], str], practitioner_id: Callable[[int], str]) -> None:
        self._ids: dict[str, set[str]] = {k: set() for k in KINDS}
        self._pairs: dict[str, dict[str, str]] = {"duplicate_email": {}, "duplicate_person": {}}
        dirt = Dirt(seed, rates)
        for i in range(patients):
            for k in dirt.flags(i):
                self._ids[k].add(ids(k, i))
                if k in self._pairs:
                    self._pairs[k][ids(k, i)] = ids(k, dirt.original_of(i))
        for j in range(practitioners):
            if picked(seed, "no_crm_user", rates.no_crm_user, j):
                self._ids["no_crm_user"].add(practitioner_id(j))

    def kinds(self) -> list[str]:
        """Every kind of dirt the generator knows (some may have no ids at low rates)."""
        return list(KINDS)

    def ids(self, kind: str) -> set[str]:
        """Source ids (of ``object_of(kind)``) carrying ``kind``."""
        return set(self._ids[kind])

    def object_of(self, kind: str) -> str:
        return KINDS[kind][1]

    def pairs(self, kind: str) -> dict[str, str]:
        """For the duplicate kinds: duplicate patient id -> the original patient id it copies."""
        return dict(self._pairs[kind])
