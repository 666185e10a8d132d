"""``money`` of a Decimal (a staged amount) gives what it gave through the Decimal's text."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ferry.mapping.transforms_lib import t_money


def _through_text(value: Decimal, kind: str) -> object:
    d = Decimal(str(value))
    cents = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return cents if kind == "decimal" else int(d) if kind == "int" else float(cents)


@settings(max_examples=300, deadline=None)
@given(value=st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e12"),
                         max_value=Decimal("1e12")),
       kind=st.sampled_from(["float", "decimal", "int"]))
def test_decimal_amount_as_through_its_text(value: Decimal, kind: str) -> None:
    got = t_money(value, {"as": kind}, None)  # type: ignore[arg-type]
    want = _through_text(value, kind)
    assert got == want and type(got) is type(want)
    if kind == "decimal":  # the same exponent and sign, not only an equal number
        assert str(got) == str(want)
