"""Session fixtures: the demo build (dbt as a subprocess into a temporary DuckDB file, read back
read-only), the pandas reference on the demo seeds, and the demo build on a throwaway PostgreSQL cluster.

`make test` runs the checks on two pytest-xdist workers (a dbt run keeps about one core busy): each module
is one unit of work (its module fixtures build once; a session fixture builds once per worker that needs
it), and the longest modules are handed out first so that the two workers finish together."""

from __future__ import annotations

import pytest

from python_checks.engines import PostgresCluster
from python_checks.project import SEEDS, DbtResult, build_ok
from python_checks.reference import compute

# the modules that take longest (minutes, measured), started first; the others follow in file order
LONGEST_FIRST = [
    "test_first_build",
    "test_daily",
    "test_publish",
    "test_scenarios",
    "test_first_try_inputs",
    "test_package",
    "test_predictive",
    "test_history",
    "test_changed_rows",
    "test_configuration",
    "test_properties",
    "test_incremental",
    "test_engines",
]


def pytest_collection_modifyitems(config, items):
    """The longest modules first (`--dist loadfile --no-loadscope-reorder` hands the modules out in this order)."""
    rank = {module: position for position, module in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))


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
