"""What a planned load will cost in API calls (and Pipedrive tokens) against today's budget.

``plan_cost`` prices a dry run's per-map plan with the destination's own ``cost``; ``steps_cost``
prices the staged counts (cheap, no classification) so a real run can warn before it starts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ferry.connectors.base import Budget, Destination
from ferry.mapping.model import MappingDoc


@dataclass
class PlanCost:
    calls: int = 0
    tokens: int = 0
    per_map: dict[str, tuple[int, int]] = field(default_factory=dict)  # map -> (calls, tokens)
    budget: Budget | None = None
    unit: str = "requests"  # what the budget counts: "tokens" (Pipedrive) or "requests"

    @property
    def spend(self) -> int:
        """What this plan takes from the daily budget, in the budget's unit."""
        return self.tokens if self.unit == "tokens" else self.calls

    @property
    def exceeds(self) -> bool:
        b = self.budget
        return bool(b and b.remaining is not None and self.spend > b.remaining)

    def as_dict(self) -> dict[str, Any]:
        b = self.budget
        return {"calls": self.calls, "tokens": self.tokens, "unit": self.unit,
                "spend": self.spend, "exceeds_budget": self.exceeds,
                "budget_remaining": b.remaining if b else None,
                "budget_limit": b.limit if b else None,
                "budget_resets_at": reset_text(b.resets_at) if b and b.resets_at else None,
                "per_map": {k: {"calls": c, "tokens": t} for k, (c, t) in self.per_map.items()}}


def reset_text(resets_at: float | None, now: float | None = None) -> str:
    """``00:00 UTC (in 5 h 12 min)``, ``(in 23 min)`` within the hour; "" when unknown."""
    if not resets_at:
        return ""
    at = dt.datetime.fromtimestamp(resets_at, dt.UTC)
    left = max(0, int(resets_at - (now or dt.datetime.now(dt.UTC).timestamp())))
    hours = f"{left // 3600} h " if left >= 3600 else ""
    return f"{at:%Y-%m-%d %H:%M} UTC (in {hours}{left % 3600 // 60} min)"


def _budget(dest: Destination) -> tuple[Budget | None, str]:
    try:
        b = dest.budget()
    except Exception:  # noqa: BLE001 - a budget we cannot read is shown as unknown
        return None, "requests"
    return b, ("tokens" if dest.name == "pipedrive" else "requests")


def _price(dest: Destination, target: str, ops: dict[str, int]) -> tuple[int, int]:
    calls = tokens = 0
    for op, n in ops.items():
        if n > 0:
            try:
                c = dest.cost(op, target, n)
            except (KeyError, ValueError):  # a destination that prices uploads as creates
                c = dest.cost("create", target, n)
            calls, tokens = calls + c.calls, tokens + c.tokens
    return calls, tokens


def plan_cost(doc: MappingDoc, stats: dict[str, Any], dest: Destination) -> PlanCost:
    """Price a dry run: creates, updates, parent updates for folds (at most one per folded
    record) and file uploads, per object map."""
    out = PlanCost()
    out.budget, out.unit = _budget(dest)
    for om in doc.objects:
        st = stats.get(om.name)
        if st is None:
            continue
        plan = st.plan
        ops = {"create": plan.get("create", 0), "update": plan.get("update", 0)}
        if om.mode == "fold":
            ops = {"update": plan.get("fold", 0)}
        elif om.mode == "attach":
            ops = {"upload": plan.get("upload", 0)}
        target = "file" if om.mode == "attach" else om.target
        calls, tokens = _price(dest, target, ops)
        out.per_map[om.name] = (calls, tokens)
        out.calls += calls
        out.tokens += tokens
    return out


def steps_cost(steps: list[Any], dest: Destination) -> PlanCost:
    """Price ``plan.plan_steps`` (every staged record, before classification): an upper bound."""
    out = PlanCost()
    out.budget, out.unit = _budget(dest)
    for s in steps:
        out.per_map[s.map] = (s.calls, s.tokens)
        out.calls += s.calls
        out.tokens += s.tokens
    return out
