"""``prepare`` derives the options of pick-lists the map leaves open from the staged records, so
before ``extract`` it refuses (with what to do) instead of creating a pick-list that would refuse
every value the run writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferry.engine import pipeline as P
from ferry.errors import MappingError

from .setup_pair import make_pair


def test_prepare_before_extract_is_refused_then_works(tmp_path: Path) -> None:
    with make_pair(tmp_path / "proj", destination="odoo", seed=28, patients=8,
                   env_prefix="FERRY_ORDER_") as pair:
        with pytest.raises(MappingError, match="run `ferry extract` before `ferry prepare`"):
            P.run_prepare(pair.project)
        P.run_extract(pair.project)
        _, provisioned = P.run_prepare(pair.project)
        assert sum(p.created for p in provisioned) > 50
        report = P.load(pair.project, hold=lambda om, rec: None)
        assert report.stats["patient_partner"].created == 8 - report.stats[
            "patient_partner"].merged
