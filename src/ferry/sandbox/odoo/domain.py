"""Odoo search domains evaluated in memory: prefix ``&``/``|``/``!`` plus ``(field, op, value)``.

A sandbox that accepted any domain would let a connector's filters go untested, so the rules are
Odoo's: implicit AND between leaves, unknown fields and operators are ``ValueError`` (Fault 1 over
XML-RPC), ``False`` matches empty values, many2one leaves compare ids or (with a string) the
related record's display name, dotted paths follow many2one links, ``child_of``/``parent_of``
walk ``parent_id``, and archived rows are hidden unless ``active_test`` is off or the domain
names ``active`` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

OPERATORS = {"=", "!=", "<>", "<", ">", "<=", ">=", "=?", "like", "not like", "ilike",
             "not ilike", "=like", "=ilike", "in", "not in", "child_of", "parent_of", "any",
             "not any"}

Record = dict[str, Any]
# (model, record, field) -> (type, raw value, comodel or None)
Resolver = Callable[[str, Record, str], tuple[str, Any, str | None]]


def normalize(domain: list[Any]) -> list[Any]:
    """Validate shape and make the implicit ANDs explicit (as Odoo's ``normalize_domain``)."""
    if not isinstance(domain, list | tuple):
        raise ValueError(f"Invalid domain: {domain!r}")
    arity = {"!": 1, "&": 2, "|": 2}
    out: list[Any] = []
    expected = 1
    for token in domain:
        if expected == 0:
            out.insert(0, "&")
            expected = 1
        if isinstance(token, list | tuple):
            if len(token) != 3:
                raise ValueError(f"Invalid leaf {token!r}")
            expected -= 1
            out.append(tuple(token))
        elif token in arity:
            expected += arity[token] - 1
            out.append(token)
        else:
            raise ValueError(f"Invalid leaf {token!r}")
    if out and expected:
        raise ValueError(f"Invalid domain: {domain!r}")
    return out


def _like(pattern: str, text: str, *, case: bool, sql: bool) -> bool:
    if not sql:
        return (pattern in text) if case else (pattern.lower() in text.lower())
    rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text, 0 if case else re.IGNORECASE | re.DOTALL) is not None


def _cmp(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "=?"):
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if left is False or left is None or right is False or right is None:
        return False
    try:
        return bool({"<": left < right, ">": left > right, "<=": left <= right,
                     ">=": left >= right}[op])
    except TypeError:
        return False


class Evaluator:
    """Evaluates a normalized domain against records of one model."""

    def __init__(self, model: str, resolve: Resolver, lookup: Callable[..., Any],
                 has_field: Callable[[str, str], str | None]) -> None:
        self.model = model
        self.resolve = resolve  # (model, record, field) -> (type, value, comodel)
        self.lookup = lookup  # (model, id) -> record or None
        self.has_field = has_field  # (model, field) -> type or None

    def check(self, domain: list[Any]) -> None:
        for token in domain:
            if isinstance(token, tuple):
                path, op, _ = token
                if op not in OPERATORS:
                    raise ValueError(f"Invalid leaf {token!r}")
                self._check_path(self.model, str(path), token)

    def _check_path(self, model: str, path: str, leaf: Any) -> None:
        head, _, rest = path.partition(".")
        ftype = self.has_field(model, head)
        if ftype is None:
            raise ValueError(f"Invalid field {model}.{head} in leaf {leaf!r}")

    def matches(self, domain: list[Any], record: Record) -> bool:
        if not domain:
            return True
        stack: list[bool] = []
        for token in reversed(domain):
            if token == "&":
                stack.append(stack.pop() and stack.pop())
            elif token == "|":
                a, b = stack.pop(), stack.pop()
                stack.append(a or b)
            elif token == "!":
                stack.append(not stack.pop())
            elif token is True or token is False:
                stack.append(bool(token))
            else:
                stack.append(self._leaf(self.model, record, token))
        return all(stack)

    def _leaf(self, model: str, record: Record, leaf: tuple[Any, Any, Any]) -> bool:
        path, op, value = leaf
        head, _, rest = str(path).partition(".")
        ftype, raw, comodel = self.resolve(model, record, head)
        if rest:
            if comodel is None:
                return False
            targets = raw if isinstance(raw, list) else ([raw] if raw else [])
            return any(self._leaf(comodel, sub, (rest, op, value))
                       for t in targets if (sub := self.lookup(comodel, t)) is not None)
        if op == "=?":
            if value is None or value is False:
                return True
            op = "="
        if op in ("child_of", "parent_of"):
            return self._hierarchy(model, record, op, value)
        if op in ("any", "not any"):
            sub = normalize(list(value))
            targets = raw if isinstance(raw, list) else ([raw] if raw else [])
            hit = any(Evaluator(comodel or model, self.resolve, self.lookup, self.has_field)
                      .matches(sub, r) for t in targets
                      if (r := self.lookup(comodel or model, t)) is not None)
            return hit if op == "any" else not hit
        if ftype in ("many2one", "one2many", "many2many"):
            return self._relational(ftype, raw, comodel, op, value)
        return self._scalar(ftype, raw, op, value)

    def _scalar(self, ftype: str, raw: Any, op: str, value: Any) -> bool:
        if ftype == "boolean":
            raw = bool(raw)
        if op in ("in", "not in"):
            values = value if isinstance(value, list | tuple | frozenset) else [value]
            empty_in = False in values and raw in (False, None, "")
            hit = raw in values or empty_in
            return hit if op == "in" else not hit
        if op in ("like", "ilike", "=like", "=ilike", "not like", "not ilike"):
            if value is False or value is None:
                empty = raw in (False, None, "")
                return empty if not op.startswith("not") else not empty
            text = "" if raw in (False, None) else str(raw)
            base = op.replace("not ", "")
            hit = _like(str(value), text, case=base in ("like", "=like"),
                        sql=base.startswith("="))
            if op.startswith("not"):
                return not hit
            return hit and raw not in (False, None)
        if value is False and op in ("=", "!=", "<>"):
            empty = raw in (False, None, "") if ftype not in ("boolean", "integer", "float",
                                                               "monetary") else raw is False
            if ftype == "boolean":
                empty = raw is False
            return empty if op == "=" else not empty
        return _cmp(op, raw, value)

    def _relational(self, ftype: str, raw: Any, comodel: str | None, op: str,
                    value: Any) -> bool:
        ids = list(raw) if isinstance(raw, list) else ([raw] if raw else [])
        if isinstance(value, str) and comodel and op not in ("in", "not in"):
            names = [self.resolve(comodel, r, "display_name")[1]
                     for i in ids if (r := self.lookup(comodel, i)) is not None]
            neg = op in ("!=", "<>", "not like", "not ilike")
            base = {"!=": "=", "<>": "=", "not like": "like", "not ilike": "ilike"}.get(op, op)
            hit = any(self._scalar("char", n, base, value) for n in names)
            return not hit if neg else hit
        if op in ("in", "not in"):
            values = value if isinstance(value, list | tuple | frozenset) else [value]
            hit = any(i in values for i in ids) or (False in values and not ids)
            return hit if op == "in" else not hit
        if op in ("=", "!="):
            if value is False or value is None:
                return (not ids) if op == "=" else bool(ids)
            hit = value in ids
            return hit if op == "=" else not hit
        return any(_cmp(op, i, value) for i in ids)

    def _hierarchy(self, model: str, record: Record, op: str, value: Any) -> bool:
        wanted = set(value) if isinstance(value, list | tuple) else {value}
        if op == "child_of":  # record is wanted or below one of them
            seen: set[int] = set()
            cur: Record | None = record
            while cur is not None and cur["id"] not in seen:
                if cur["id"] in wanted:
                    return True
                seen.add(cur["id"])
                parent = cur.get("parent_id")
                cur = self.lookup(model, parent) if parent else None
            return False
        # parent_of: record is wanted or an ancestor of one of them
        for start in wanted:
            cur = self.lookup(model, start)
            seen = set()
            while cur is not None and cur["id"] not in seen:
                if cur["id"] == record["id"]:
                    return True
                seen.add(cur["id"])
                parent = cur.get("parent_id")
                cur = self.lookup(model, parent) if parent else None
        return False


def fast(domain: list[Any]) -> list[Any]:
    """The same domain with ``in``/``not in`` lists as frozensets (search over many rows)."""
    out: list[Any] = []
    for t in domain:
        if isinstance(t, tuple) and t[1] in ("in", "not in") and isinstance(t[2], list | tuple):
            try:
                out.append((t[0], t[1], frozenset(t[2])))
                continue
            except TypeError:
                pass
        out.append(t)
    return out


def mentions(domain: list[Any], field: str) -> bool:
    return any(isinstance(t, tuple) and str(t[0]).split(".")[0] == field for t in domain)
