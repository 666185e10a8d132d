"""A small SOQL parser and evaluator: the subset loaders and reconcilers send.

Supported: ``SELECT a, b, Rel.c | COUNT() FROM Obj [WHERE …] [ORDER BY f [ASC|DESC], …]
[LIMIT n] [OFFSET n]`` with ``= != <> < <= > >= LIKE IN NOT IN``, ``AND``/``OR``/``NOT`` and
parentheses. String comparison is case-insensitive as in Salesforce. Anything else is rejected
with ``MALFORMED_QUERY`` rather than guessed at, so a connector cannot lean on SOQL the real
platform would refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?(?![\w:-]))
  | (?P<dt>\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?)
  | (?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)
  | (?P<word>[A-Za-z_][\w.]*)
)""", re.X)


class SoqlError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Query:
    fields: list[str]
    obj: str
    where: Any = None  # nested tuples: ("and", a, b) | ("or", a, b) | ("not", a) | (op, f, v)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None
    offset: int = 0
    count: bool = False


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token at position {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "str":
            quoted = raw[1:-1]
            out.append(("val", re.sub(r"\\(.)", r"\1", quoted) if "\\" in quoted
                        else quoted))
        elif kind == "num":
            out.append(("val", float(raw) if "." in raw else int(raw)))
        elif kind == "dt":
            out.append(("val", raw))
        elif kind == "word" and raw.lower() in {"true", "false", "null"}:
            out.append(("val", {"true": True, "false": False, "null": None}[raw.lower()]))
        else:
            out.append((kind, raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.t = _tokens(text)
        self.i = 0

    def peek(self, word: str | None = None) -> bool:
        if self.i >= len(self.t):
            return False
        kind, v = self.t[self.i]
        return word is None or (kind in {"word", "op"} and str(v).upper() == word)

    def take(self, word: str | None = None) -> Any:
        if self.i >= len(self.t) or (word and not self.peek(word)):
            raise SoqlError("MALFORMED_QUERY", f"expected {word or 'more'}")
        self.i += 1
        return self.t[self.i - 1][1]

    def ident(self) -> str:
        kind, v = self.t[self.i] if self.i < len(self.t) else ("", "")
        if kind != "word":
            raise SoqlError("MALFORMED_QUERY", "expected a field name")
        self.i += 1
        return str(v)

    def value(self) -> Any:
        kind, v = self.t[self.i] if self.i < len(self.t) else ("", "")
        if kind != "val":
            raise SoqlError("MALFORMED_QUERY", "expected a value")
        self.i += 1
        return v

    def parse(self) -> Query:
        self.take("SELECT")
        fields: list[str] = []
        count = False
        if self.peek("COUNT"):
            self.take()
            self.take("(")
            self.take(")")
            count = True
        else:
            fields.append(self.ident())
            while self.peek(","):
                self.take()
                fields.append(self.ident())
        self.take("FROM")
        q = Query(fields, self.ident(), count=count)
        if self.peek("WHERE"):
            self.take()
            q.where = self.cond()
        if self.peek("ORDER"):
            self.take()
            self.take("BY")
            while True:
                f = self.ident()
                desc = False
                if self.peek("ASC") or self.peek("DESC"):
                    desc = str(self.take()).upper() == "DESC"
                if self.peek("NULLS"):
                    self.take()
                    self.take()
                q.order.append((f, desc))
                if not self.peek(","):
                    break
                self.take()
        if self.peek("LIMIT"):
            self.take()
            q.limit = int(self.value())
        if self.peek("OFFSET"):
            self.take()
            q.offset = int(self.value())
        if self.i != len(self.t):
            raise SoqlError("MALFORMED_QUERY", "unexpected text after the query")
        return q

    def cond(self) -> Any:
        left = self.term()
        while self.peek("OR"):
            self.take()
            left = ("or", left, self.term())
        return left

    def term(self) -> Any:
        left = self.factor()
        while self.peek("AND"):
            self.take()
            left = ("and", left, self.factor())
        return left

    def factor(self) -> Any:
        if self.peek("NOT"):
            self.take()
            return ("not", self.factor())
        if self.peek("("):
            self.take()
            inner = self.cond()
            self.take(")")
            return inner
        f = self.ident()
        if self.peek("NOT"):
            self.take()
            self.take("IN")
            return ("not in", f, self.values())
        if self.peek("IN"):
            self.take()
            return ("in", f, self.values())
        if self.peek("LIKE"):
            self.take()
            return ("like", f, self.value())
        op = str(self.take())
        if op not in {"=", "!=", "<>", "<", "<=", ">", ">="}:
            raise SoqlError("MALFORMED_QUERY", "unknown operator")
        return ("!=" if op == "<>" else op, f, self.value())

    def values(self) -> list[Any]:
        self.take("(")
        out = Values([self.value()])
        while self.peek(","):
            self.take()
            out.append(self.value())
        self.take(")")
        return out


class Values(list[Any]):
    """An ``IN (…)`` list; its text values lower-cased in a set, made on first use, so a text
    field is matched against a 200-id list by one lookup instead of 200 comparisons (reading
    records back 200 ids a query spent most of the emulator's time there)."""

    __slots__ = ("_lowered",)

    def lowered(self) -> frozenset[str]:
        try:
            return self._lowered
        except AttributeError:
            self._lowered: frozenset[str] = frozenset(v.lower() for v in self
                                                      if isinstance(v, str))
            return self._lowered


def parse(text: str) -> Query:
    return _Parser(text).parse()


def fields_in(node: Any) -> list[str]:
    if node is None:
        return []
    if node[0] in {"and", "or"}:
        return fields_in(node[1]) + fields_in(node[2])
    if node[0] == "not":
        return fields_in(node[1])
    return [node[1]]


def _norm(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _cmp(a: Any, op: str, b: Any) -> bool:
    if op in {"=", "!="}:
        eq = _norm(a) == _norm(b) or (isinstance(a, int | float) and isinstance(b, int | float)
                                       and float(a) == float(b))
        return eq if op == "=" else not eq
    if a is None or b is None:
        return False
    try:
        a, b = _norm(a), _norm(b)
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    except TypeError:
        return False


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, str(value), re.I | re.S) is not None


def matches(node: Any, get: Callable[[str], Any]) -> bool:
    """Evaluate a WHERE tree against one row; ``get`` reads a (possibly dotted) field."""
    if node is None:
        return True
    op = node[0]
    if op == "and":
        return matches(node[1], get) and matches(node[2], get)
    if op == "or":
        return matches(node[1], get) or matches(node[2], get)
    if op == "not":
        return not matches(node[1], get)
    value = get(node[1])
    if op in ("in", "not in"):
        values = node[2]
        if isinstance(value, str) and isinstance(values, Values):  # as _cmp's "=" would
            hit = value.lower() in values.lowered()
        else:
            hit = any(_cmp(value, "=", v) for v in values)
        return hit if op == "in" else not hit
    if op == "like":
        return _like(value, str(node[2]))
    return _cmp(value, op, node[2])


def sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, then numbers, then text (case-insensitive)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, float(value))
    return (2, str(value).lower())
