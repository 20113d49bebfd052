"""Every published column of the six metric marts equals the independent pandas reference, on the demo data."""

import pytest

from python_checks.compare import assert_matches, assert_reconciliation_matches
from python_checks.project import MART_KEYS, published_columns


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_demo_mart_matches_reference(demo_build, demo_reference, mart):
    keys = MART_KEYS[mart]
    actual = demo_build.table(mart)
    expected = demo_reference[mart]
    columns = [c for c in published_columns(demo_build, mart) if c not in keys]
    missing = [c for c in columns if c not in expected.columns]
    assert not missing, f"reference lacks {missing}"
    assert len(actual) > 0
    assert_matches(actual, expected, keys, columns, label=mart)


def test_demo_quarantine_matches_reference(demo_build, demo_reference):
    actual = demo_build.read(
        "select source_table, quarantine_reason, count(*) as rows from data_quality_quarantine group by 1, 2"
    )
    assert_matches(
        actual, demo_reference["quarantine_counts"], ["source_table", "quarantine_reason"], label="quarantine"
    )


def test_demo_reconciliation_matches_reference(demo_build, demo_reference):
    actual = demo_build.table("data_quality_reconciliation")
    assert_reconciliation_matches(actual, demo_reference["data_quality_reconciliation"], label="reconciliation")
