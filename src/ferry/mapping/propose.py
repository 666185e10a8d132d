"""The proposer: ranked candidate targets for source fields, with a confidence and a reason.

Evidence, all local and deterministic: the header/name (normalised, abbreviations expanded,
matched against the vocabulary's aliases with rapidfuzz), the value profile (``profile.sniff``:
emails, phones, dates, money, ICD-10 / CPT / NPI, blood groups, small enumerations) and, when the
optional embedding backend is installed (``ferry.mapping.embed``), the meaning of the words.

Below ``REVIEW`` a field has no proposal (it becomes a proposed custom field of the right type);
between ``REVIEW`` and ``ACCEPT`` it is proposed with ``status: review`` for a person to decide;
only at ``ACCEPT`` or above is it mapped — never guessed silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from ferry.mapping.embed import Embedder, load_embedder
from ferry.mapping.profile import field_fit, kind_fit, sniff
from ferry.mapping.vocab import (
    ALIASES,
    CATCH_ALL,
    GENERIC,
    GROUP_PREFIXES,
    OBJECT_WORDS,
    normalise,
)
from ferry.model.entities import ENTITIES
from ferry.model.fields import Kind, fields_of

ACCEPT = 0.80
REVIEW = 0.55


@dataclass(frozen=True)
class Target:
    """Something a field can land on: a canonical field, or a destination field."""

    name: str
    label: str
    kind: Kind
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    target: str
    confidence: float  # 0..1, what the user sees
    reason: str
    raw: float = 0.0  # unclipped score: orders candidates that both reach 1.0


@lru_cache(maxsize=64)
def canonical_targets(obj: str) -> tuple[Target, ...]:
    out = []
    for f in fields_of(ENTITIES[obj]):
        # order matters: the field's own name and label first, then its aliases by preference
        phrases = [normalise(f.name, obj, phrase=True), normalise(f.label, obj, phrase=True)]
        phrases += [normalise(a, obj, phrase=True) for a in ALIASES.get(f.name, [])]
        out.append(Target(f.name, f.label, f.kind, tuple(dict.fromkeys(p for p in phrases if p))))
    return tuple(out)


def dest_targets(specs: Iterable[Any], obj: str | None = None) -> list[Target]:
    """Targets from destination FieldSpecs (or CustomFields): name, label, kind."""
    out = []
    for s in specs:
        name = getattr(s, "key", None) or s.name
        label = getattr(s, "label", "") or s.name
        kind = Kind(getattr(s, "kind", Kind.TEXT))
        phrases = {normalise(s.name, obj), normalise(label, obj)}
        out.append(Target(name, label, kind, tuple(sorted(p for p in phrases if p))))
    return out


def _digits(s: str) -> set[str]:
    return {w for w in s.split() if w.isdigit()}


# a word made the opposite of another by its prefix ("inactive" is not "active")
NEGATING_PREFIXES = frozenset({"in", "un", "non", "dis"})
NEGATING_WORDS = frozenset({"not", "non", "no"})
# trailing words that say how a value is shown, not what it is: Epic's ``STATE_C_NAME`` (the
# category's name), ``cancellation_reason_description``, ``country_display``; a format
# (``start_iso``, ``currency_iso``, ``state_short``: the abbreviation, ``start_utc``); a code
# for it (``specialty_code``: a taxonomy code is the specialty, ``state_code`` the state)
QUALIFIERS = (("c", "name"), ("name",), ("description",), ("display",), ("text",), ("label",),
              ("iso",), ("short",), ("formatted",), ("utc",), ("code",))
# kinds a qualified name never lands on: "clinic name" names a clinic, it is not its id
UNQUALIFIED_ONLY = frozenset({Kind.REF})


# kinds whose columns are named by their last word whatever qualifies it
HEAD_NOUN_KINDS = frozenset({Kind.LONG_TEXT})


def _singular(w: str) -> str:
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


@lru_cache(maxsize=8192)
def _head(text: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """A name's last word (singular), the words before it, and all its words."""
    words = text.split()
    return _singular(words[-1]) if words else "", frozenset(words[:-1]), frozenset(words)


def _heads_differ(h: str, p: str) -> bool:
    """Two names of several words that share words but end in different nouns name different
    things (the last word is what a column holds; the ones before it qualify it)."""
    hh, hq, hw = _head(h)
    ph, pq, pw = _head(p)
    if not hq or not pq or hh == ph or hq.isdisjoint(pq):
        return False
    if hw <= pw or pw <= hw:  # one is the other shortened: "ss" → SSN
        return False
    return fuzz.ratio(hh, ph) < 80


@lru_cache(maxsize=8192)
def _polarity(text: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """A text's words, the words its negating prefixes negate ("inactive" → "active") and
    its negating words."""
    words = frozenset(text.split())
    negated = frozenset(w[len(pre):] for w in words for pre in NEGATING_PREFIXES
                        if w.startswith(pre) and len(w) - len(pre) >= 4)
    return words, negated, words & NEGATING_WORDS


@lru_cache(maxsize=1024)
def _negation_material(phrases: tuple[str, ...]) -> tuple[frozenset[str], bool]:
    """What a header would need for ``opposite`` to hold against any of these phrases: the
    words their prefixes negate, and whether any has a negating word."""
    pols = [_polarity(p) for p in phrases]
    return frozenset().union(*(neg for _, neg, _ in pols)), any(n for _, _, n in pols)


def opposite(h: str, p: str) -> bool:
    """True when one text negates the other: a word carries a negating prefix the other's
    word lacks ("inactive" / "active"), or only a "not" / "no" stands between them."""
    hw, hneg, hn = _polarity(h)
    pw, pneg, pn = _polarity(p)
    if not hneg.isdisjoint(pw - hw) or not pneg.isdisjoint(hw - pw):
        return True
    return hn != pn and hw - NEGATING_WORDS == pw - NEGATING_WORDS


@lru_cache(maxsize=4096)
def unqualified(h: str) -> str | None:
    """The header without a trailing display qualifier (``state c name`` → ``state``), or
    None when it has none or nothing would be left."""
    words = h.split()
    for q in QUALIFIERS:
        if len(words) > len(q) and tuple(words[-len(q):]) == q:
            return " ".join(words[:-len(q)])
    return None


@lru_cache(maxsize=4096)
def ungrouped(h: str) -> str | None:
    """The header without a leading word that only groups it with its siblings
    (``address city`` → ``city``, ``address 1 postcode`` → ``postcode``), or None."""
    words = h.split()
    for g in GROUP_PREFIXES:
        if tuple(words[:len(g)]) == g:
            rest = words[len(g):]
            if rest and rest[0].isdigit():
                rest = rest[1:]
            if len(rest) == 1 and rest[0] in GENERIC:
                # what is left is a word every record has ("contact type" is how the contact
                # is made, "contact name" whom to contact): the group word was what it said
                return None
            return " ".join(rest) or None
    return None


@lru_cache(maxsize=64)
def _other_object_words(obj: str | None) -> frozenset[str]:
    return frozenset({w for o, ws in OBJECT_WORDS.items() if o != obj for w in ws}
                     | {o for o in ENTITIES if o != obj})


def _names_other_object(words: Sequence[str], obj: str | None) -> bool:
    """A qualifier naming another object says whose text it is: "appointment notes" in a
    patients file are the appointments' notes, not the patient's."""
    return not _other_object_words(obj).isdisjoint(words)


def _name_score(h: str, t: Target, obj: str | None = None) -> tuple[float, str]:
    best, why = 0.0, ""
    for i, p in enumerate(t.phrases):
        if h == p and p in CATCH_ALL:
            # it says there is more, not what: the free-text field when no column is named
            # for it ("service notes" beside "additional information")
            return 0.82, f"name matches {p!r}, a catch-all name"
        if h == p:
            # the field's name/label first; later aliases slightly less (ties: "state" beats
            # "county" for region)
            return max(1.0 - 0.01 * max(i - 1, 0), 0.9), f"name matches {p!r}"
    joined = h.replace(" ", "")
    for p in t.phrases:
        if " " in h and joined == p.replace(" ", ""):
            # one word written apart ("nick name" is "nickname"): the same letters in order
            return 0.9, f"name matches {p!r} written apart"
    # a name that negates one of the field's names holds its inverse ("active" for a field
    # also named "inactive"): placing it would flip every value, so it never resembles it
    hw, hneg, hn = _polarity(h)
    stems, negwords = _negation_material(t.phrases)
    neg = next((p for p in t.phrases if opposite(h, p)), None) if (
        hneg or hn or negwords or not stems.isdisjoint(hw)) else None
    if neg is not None:
        return 0.0, f"name is the opposite of {neg!r}"
    bare = unqualified(h) if t.kind not in UNQUALIFIED_ONLY else None
    if bare is not None and bare in t.phrases:
        # weaker than a match as written, and later aliases less again (the field's order:
        # "state c name" beats "county c name" for region by more than a rival's margin)
        i = t.phrases.index(bare)
        # a code for it is a step further from the thing than its label or text: beside one
        # another (``MaritalStatusLabel``, ``MaritalStatusCode``) the label wins
        coded = 0.04 if h.endswith(" code") else 0.0
        return 0.9 - coded - 0.02 * max(i - 1, 0), \
            f"name without {h[len(bare) + 1:]!r} (how it is shown) matches {bare!r}"
    words = h.split()
    if "1" in words[1:] and (first := " ".join(w for w in words if w != "1")) in t.phrases:
        # the first of a numbered set (Salesforce's ``GivenName1``, ``Phone1``) is the field
        return 0.86, f"name without the set's number 1 matches {first!r}"
    if len(words) > 1 and words[0] == "primary" and t.kind not in UNQUALIFIED_ONLY and (
            first := " ".join(words[1:])) in t.phrases:
        # the first of several where the record keeps one ("primary race", "primary email")
        return 0.86, f"name without 'primary' (the first of several) matches {first!r}"
    rest = ungrouped(h) if t.kind not in UNQUALIFIED_ONLY else None
    if rest is not None and rest in t.phrases:
        # the group word adds nothing ("address zip" is the zip): weaker than a match as
        # written, later aliases less again
        i = t.phrases.index(rest)
        return 0.88 - 0.02 * max(i - 1, 0), \
            f"name without the group word {h[:len(h) - len(rest)].strip()!r} matches {rest!r}"
    head = _singular(words[-1]) if words else ""
    if t.kind in HEAD_NOUN_KINDS and len(words) > 1 and any(
            " " not in p and _singular(p) == head for p in t.phrases) and \
            not _names_other_object(words[:-1], obj):
        # free text is named by its last word: "administrative note", "billing comments"
        return 0.86, f"name ends in {h.split()[-1]!r}, a name of this free-text field"
    multi = len(words) > 1
    for p in t.phrases:
        sc = (0.6 * fuzz.token_sort_ratio(h, p) + 0.4 * fuzz.token_set_ratio(h, p)) / 100
        if len(h.split()) != len(p.split()):
            sc *= 0.92
        if _digits(h) != _digits(p):  # "address 3" is not "address" nor "address 1"
            sc *= 0.8
        if len(h) <= 4 or len(p) <= 4:  # "lat" ~ "last": short words need exact matches
            sc *= 0.75
        if multi and _heads_differ(h, p):  # "administrative note" is no "administrative sex"
            sc *= 0.85
        if sc > best:
            best, why = sc, f"name resembles {p!r}"
    if t.kind in UNQUALIFIED_ONLY and why and unqualified(h) is not None:
        # "provider name" resembles "provider" but holds how the record is shown (a person's
        # name), not the reference: never applied on that resemblance alone
        return best * 0.95 * 0.75, f"{why}; its last word says it is shown, not referenced"
    return best * 0.95, why


def score(header: str, samples: Sequence[Any], target: Target, obj: str | None = None, *,
          embedder: Embedder | None = None, sniffed: dict[str, float] | None = None
          ) -> Candidate:
    h = normalise(header, obj)
    name, why = _name_score(h, target, obj)
    sn = sniffed if sniffed is not None else sniff(samples)
    fit, fit_why = kind_fit(target.kind, sn)
    if fit > -1 and not field_fit(target.name, sn):
        fit, fit_why = -1.0, f"values do not look like {target.name.replace('_', ' ')}"
    conf = name + 0.12 * fit if fit > -1 else name * 0.6  # values contradict the kind
    reasons = [why] if why else []
    if embedder is not None:
        # a catch-all name means nothing in particular: its meaning is not the field's
        sim = max(embedder.similarity(h, p) for p in target.phrases if p not in CATCH_ALL)
        conf += 0.2 * (sim - 0.6)  # meaning nudges: agreement lifts, disagreement lowers
        reasons.append(f"meaning {sim:.2f}")
    if fit_why:
        reasons.append(fit_why)
    return Candidate(target.name, round(max(0.0, min(1.0, conf)), 3), "; ".join(reasons),
                     round(conf, 4))


def prefetch(embedder: Embedder | None, headers: Iterable[str], targets: Iterable[Target],
             obj: str | None = None) -> None:
    """The texts ``score`` will embed for these headers and targets, in one call: an
    embedder with ``embed_many`` (MiniLM) computes them in batches (same vectors)."""
    many = getattr(embedder, "embed_many", None)
    if many is not None:
        many([normalise(h, obj) for h in headers] + [p for t in targets for p in t.phrases])


def rank(header: str, samples: Sequence[Any], targets: Iterable[Target], obj: str | None = None,
         *, top: int = 3, embedder: Embedder | None = None) -> list[Candidate]:
    sn = sniff(samples)
    cands = [score(header, samples, t, obj, embedder=embedder, sniffed=sn) for t in targets]
    cands.sort(key=lambda c: (-c.raw, c.target))
    return cands[:top]


def assign(columns: Sequence[tuple[str, Sequence[Any]]], targets: Sequence[Target],
           obj: str | None = None, *, embedder: Embedder | None = None
           ) -> dict[str, list[Candidate]]:
    """Ranked candidates per column, each target given to at most one column (the strongest
    claim wins; a column that loses its first choice keeps its next ones)."""
    prefetch(embedder, [c for c, _ in columns], targets, obj)
    ranked = {c: rank(c, s, targets, obj, top=5, embedder=embedder) for c, s in columns}
    winner = joint(ranked)
    taken = {cand.target: col for col, cand in winner.items()}
    out: dict[str, list[Candidate]] = {}
    for col, _ in columns:
        first = winner.get(col)
        rest = [c for c in ranked[col] if first is None or c.target != first.target]
        rest = [c for c in rest if c.target not in taken or taken[c.target] == col]
        out[col] = ([first] if first else []) + rest[:2]
    return out


def joint(ranked: Mapping[str, list[Candidate]]) -> dict[str, Candidate]:
    """Each target to at most one column: the strongest claim first (a column that loses its
    first choice keeps its next ones)."""
    claims = sorted(((cand.raw, col, i) for col, cands in ranked.items()
                     for i, cand in enumerate(cands)), key=lambda x: (-x[0], x[1], x[2]))
    taken: set[str] = set()
    winner: dict[str, Candidate] = {}
    for _, col, i in claims:
        cand = ranked[col][i]
        if col in winner or cand.target in taken:
            continue
        winner[col] = cand
        taken.add(cand.target)
    return winner


def propose_columns(columns: Sequence[tuple[str, Sequence[Any]]] | dict[str, Sequence[Any]],
                    obj: str = "patient", *, embedder: Embedder | None = None,
                    threshold: float = ACCEPT) -> dict[str, str | None]:
    """CSV headers (with sample values) → canonical field of ``obj``, or None when no field
    reaches ``threshold`` (the column then becomes a custom field for review)."""
    cols = list(columns.items()) if isinstance(columns, dict) else list(columns)
    emb = embedder if embedder is not None else load_embedder()
    got = assign(cols, canonical_targets(obj), obj, embedder=emb)
    return {c: (got[c][0].target if got[c] and got[c][0].confidence >= threshold else None)
            for c, _ in cols}


def status_for(conf: float) -> str:
    return "mapped" if conf >= ACCEPT else "review" if conf >= REVIEW else "custom"
