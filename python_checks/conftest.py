"""Session fixtures: the demo build (dbt as a subprocess into a temporary DuckDB file, read back
read-only) and the pandas reference on the demo seeds."""

from __future__ import annotations

import pytest

from python_checks.project import SEEDS, DbtResult, build_ok
from python_checks.reference import compute


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> DbtResult:
    """`dbt build` (models, seeds, data tests and unit tests) on the demo data, once per session."""
    return build_ok("build", tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_reference():
    return compute(SEEDS)
