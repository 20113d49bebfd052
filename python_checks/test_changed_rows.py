"""Tests on what changed (docs/decisions.md, "Tests on what changed"), through the README's `make build` on the
demo data in one folder. After a published run the publish step marks, per incremental table, the newest
dbt_processed_at in the work database; the next runs' row-level tests of those tables read only the rows written
after the mark, so a failed run's rows are tested again; their unique keys, and those of the staging views that
filter them, are tested on the keys written after the mark against the whole table; every test of another model
reads the whole table, and without a mark every row is tested.

Rows are altered in the work database between runs, the way only an earlier run's writes could be: an old row
(older than the mark, unchanged since a published run tested it) and a row of a failed run (newer than it)."""

from __future__ import annotations

import json

import duckdb
import pytest

from python_checks.project import make_build, run_dbt

INCREMENTAL_TABLES = [
    "base_raw__order_items",
    "base_raw__orders",
    "base_raw__refunds",
    "int_bgnbd_histories_predicted",  # decision 43
    "int_customers_bgnbd_inputs",  # decision 44
    "int_orders_priced",
    "int_purchases_sequenced",  # decision 44
]
ROW_TEST = "expression_is_true_base_raw__orders"  # (raw_row is not null) = (quarantine_reason is not null)
TAMPERED = "'tampered after its test'"
ROW_LEVEL_TESTS = {"not_null", "accepted_values", "accepted_range", "expression_is_true", "relationships"}
# the staging views that filter an incremental table's rows (stg_raw__orders: the clean rows of base_raw__orders)
FILTERING_VIEWS = ["stg_raw__order_items", "stg_raw__orders", "stg_raw__refunds"]


def work(folder, sql: str, read_only: bool = False):
    with duckdb.connect(str(folder / "clv.duckdb"), read_only=read_only) as connection:
        return connection.execute(sql).fetchall()


def old_clean_order(folder) -> str:
    """A clean order far older than any incremental run's lookback: no later run rewrites its row."""
    return work(
        folder,
        "select order_id from main.base_raw__orders where quarantine_reason is null "
        "order by ordered_at, order_id limit 1",
        read_only=True,
    )[0][0]


def data_tests(folder) -> list[tuple[str, str, str, bool]]:
    """(test, kind of test, the model it tests, whether its compiled SQL reads the mark) of the last run."""
    manifest = json.loads((folder / "target" / "manifest.json").read_text())
    results = json.loads((folder / "target" / "run_results.json").read_text())
    compiled = {item["unique_id"]: item.get("compiled_code") or "" for item in results["results"]}
    return [
        (node["name"], node["test_metadata"]["name"], node["attached_node"].split(".")[-1], "clv_tested_through" in sql)
        for unique_id, sql in compiled.items()
        if unique_id.startswith("test.")
        for node in [manifest["nodes"][unique_id]]
        if node.get("test_metadata") and node.get("attached_node")
    ]


def failed_nodes(folder) -> list[str]:
    results = json.loads((folder / "target" / "run_results.json").read_text())
    return [item["unique_id"].split(".")[2] for item in results["results"] if item["status"] in ("fail", "error")]


def published_runs(result) -> int:
    return result.read("select count(*) as runs from clv_publish_log").runs[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("changed_rows")
    first = make_build(folder)
    assert first.returncode == 0, first.output[-6000:]
    return folder


def test_the_publish_marks_the_newest_tested_row_of_each_incremental_table(folder):
    marks = dict(work(folder, "select table_name, tested_through from main.clv_tested_through", read_only=True))
    assert sorted(marks) == INCREMENTAL_TABLES
    for table in INCREMENTAL_TABLES:
        newest = work(folder, f"select max(dbt_processed_at) from main.{table}", read_only=True)[0][0]
        assert marks[table] == newest, table


def newer_than_mark(table: str) -> str:
    """dbt_processed_at as a run after the last publish writes it (a failed run's rows)."""
    return f"(select tested_through + interval 1 second from main.clv_tested_through where table_name = '{table}')"


def test_row_level_tests_read_the_rows_after_the_mark_and_unique_keys_the_keys_written_after_it(folder):
    order_id = old_clean_order(folder)
    work(folder, f"update main.base_raw__orders set raw_row = {TAMPERED} where order_id = '{order_id}'")

    # an old row is not tested again: it passed when the published run that wrote it was tested
    again = make_build(folder)
    assert again.returncode == 0, again.output[-6000:]
    tests = data_tests(folder)
    filtered = {name for name, _, _, reads_mark in tests if reads_mark}
    expected = {name for name, kind, model, _ in tests if model in INCREMENTAL_TABLES and kind in ROW_LEVEL_TESTS}
    unique_keys = {
        name for name, kind, model, _ in tests if model in INCREMENTAL_TABLES + FILTERING_VIEWS and kind == "unique"
    }
    assert len(expected) >= 15 and len(unique_keys) == 5, (sorted(expected), sorted(unique_keys))
    assert filtered == expected | unique_keys, sorted(filtered ^ (expected | unique_keys))
    # unique_combination_of_columns (the grain of the predictive tables) reads whole tables
    kinds = {kind for name, kind, model, _ in tests if model in INCREMENTAL_TABLES} - ROW_LEVEL_TESTS
    assert kinds == {"unique", "unique_combination_of_columns"}, kinds

    # the same row as a failed run leaves it (written after the mark): tested, the run fails, nothing published
    work(
        folder,
        f"update main.base_raw__orders set dbt_processed_at = {newer_than_mark('base_raw__orders')} "
        f"where order_id = '{order_id}'",
    )
    failed = make_build(folder)
    assert failed.returncode != 0
    assert any(name.startswith(ROW_TEST) for name in failed_nodes(folder)), failed.output[-4000:]
    assert published_runs(failed) == published_runs(again)

    # mended, it passes; a row written after the mark that repeats the key of an old row (tested before the
    # mark, never rewritten since) is found: the keys written after the mark are counted over the whole table,
    # of the incremental table and of the staging view that filters one
    work(folder, f"update main.base_raw__orders set raw_row = null where order_id = '{order_id}'")
    oldest_other = (
        f"(select order_id from main.int_orders_priced where order_id <> '{order_id}' order by ordered_at, order_id "
        "limit 1)"
    )
    for table, unique_test in [
        ("int_orders_priced", "unique_int_orders_priced_order_id"),
        ("base_raw__orders", "unique_stg_raw__orders_order_id"),
    ]:
        work(
            folder,
            f"insert into main.{table} select * replace ({newer_than_mark(table)} as dbt_processed_at) "
            f"from main.{table} where order_id = {oldest_other}",
        )
        duplicated = make_build(folder)
        assert duplicated.returncode != 0
        assert unique_test in failed_nodes(folder), duplicated.output[-4000:]
        assert published_runs(duplicated) == published_runs(again)
        work(
            folder,
            f"delete from main.{table} where order_id = {oldest_other} and dbt_processed_at = {newer_than_mark(table)}",
        )


def test_without_a_mark_every_row_is_tested(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unmarked")
    first = make_build(folder)
    assert first.returncode == 0, first.output[-6000:]
    work(folder, f"update main.base_raw__orders set raw_row = {TAMPERED} where order_id = '{old_clean_order(folder)}'")
    work(folder, "drop table main.clv_tested_through")
    # a plain dbt build (a host project, or without the publish step): no mark, so every row is read
    plain = run_dbt("build", folder)
    assert plain.returncode != 0
    assert any(name.startswith(ROW_TEST) for name in failed_nodes(folder)), plain.output[-4000:]
