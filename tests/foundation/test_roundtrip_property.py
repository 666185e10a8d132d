"""Property: every model type, with any valid values, comes back from the staging store equal."""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ferry.model.entities import ENTITIES, CustomValue, Record
from ferry.model.staging import StagingStore, content_hash

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
ZONES = st.builds(lambda m: dt.timezone(dt.timedelta(minutes=m)), st.integers(-14 * 60, 14 * 60))
AWARE = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1),
                     timezones=st.one_of(st.just(dt.UTC), ZONES))
DECIMALS = st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal("-1e12"),
                       max_value=Decimal("1e12"))
CUSTOM_VALUE = {
    "text": TEXT, "long_text": TEXT, "enum": TEXT, "int": st.integers(-2**63, 2**63 - 1),
    "decimal": DECIMALS, "bool": st.booleans(), "date": st.dates(), "datetime": AWARE,
    "set": st.lists(TEXT, max_size=4),
}
CUSTOM = st.sampled_from(sorted(CUSTOM_VALUE)).flatmap(
    lambda t: st.builds(CustomValue, type=st.just(t), value=st.none() | CUSTOM_VALUE[t],
                        label=st.none() | TEXT, options=st.none() | st.lists(TEXT, max_size=3)))


def for_type(tp: Any) -> st.SearchStrategy[Any]:
    """A strategy for one annotation of the model (the handful of types it uses)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(for_type(a) for a in typing.get_args(tp)))
    if origin is list:
        return st.lists(for_type(typing.get_args(tp)[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(TEXT, CUSTOM, max_size=3)
    if tp is type(None):
        return st.none()
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return model_strategy(tp)
    return {str: TEXT, int: st.integers(-2**63, 2**63 - 1), bool: st.booleans(),
            Decimal: DECIMALS, dt.date: st.dates(), dt.datetime: AWARE}[tp]


def model_strategy(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    fields = {n: for_type(f.annotation) for n, f in model.model_fields.items()}
    if "source_id" in fields:
        fields["source_id"] = st.text(st.characters(exclude_categories=("Cs",)), min_size=1,
                                      max_size=20)
    return st.fixed_dictionaries(fields).map(lambda d: model.model_validate(d))


ANY_RECORD = st.sampled_from(sorted(ENTITIES)).flatmap(lambda o: model_strategy(ENTITIES[o]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StagingStore]:
    """One store for every example (a module fixture: hypothesis runs them all in one call of
    the test), in pytest's temp folder: a module-level ``mkdtemp`` left a folder in /tmp at
    every collection, two a run with two workers."""
    s = StagingStore(tmp_path_factory.mktemp("prop") / "s.db")
    yield s
    s.close()


@settings(max_examples=200, deadline=None)
@given(rec=ANY_RECORD)
def test_every_record_round_trips_through_the_store(store: StagingStore, rec: Record) -> None:
    store.put_records(rec.OBJECT, [rec])
    got = store.get(rec.OBJECT, rec.source_id)
    assert got is not None
    assert got.record == rec
    assert got.hash == content_hash(rec)
    assert type(got.record) is type(rec)
    # staging the decoded record again is a no-op: the content hash is stable
    assert store.put_records(rec.OBJECT, [got.record]).unchanged == 1


def test_generated_practice_round_trips(tmp_path: Path) -> None:
    from ferry.sandbox.synth import Practice

    store = StagingStore(tmp_path / "p.db")
    p = Practice(seed=3, patients=30)
    for obj in p.objects():
        recs = list(p.iter(obj))
        assert store.put_records(obj, recs).inserted == len(recs)
        assert list(store.iter_records(obj)) == recs
