"""Session fixtures: the demo build (dbt as a subprocess into a temporary DuckDB file, read back
read-only), the pandas reference on the demo seeds, and the demo build on a throwaway PostgreSQL cluster."""

from __future__ import annotations

import pytest

from python_checks.engines import PostgresCluster
from python_checks.project import SEEDS, DbtResult, build_ok
from python_checks.reference import compute


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> DbtResult:
    """`dbt build` (models, seeds, data tests and unit tests) on the demo data, once per session."""
    return build_ok("build", tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_reference():
    return compute(SEEDS)


@pytest.fixture(scope="session")
def postgres_build(tmp_path_factory):
    """A throwaway PostgreSQL cluster and the project's `dbt build` on the demo data in it (database clv,
    schema clv), once per session: the cross-engine checks and the package checks share it."""
    cluster = PostgresCluster().start()
    try:
        result = build_ok("build", tmp_path_factory.mktemp("pg_build"), env_extra=cluster.env())
        yield cluster, result
    finally:
        cluster.stop()
