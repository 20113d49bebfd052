"""The scale benchmark's accounting of one dbt invocation by part (bench/scale_benchmark.py, time_by_part), on a
hand-made manifest and run_results: each node lands in its part and the parts add up to the wall time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.scale_benchmark import PARTS, time_by_part


def node(name: str, *fqn: str) -> tuple[str, dict]:
    """A manifest node; in the predictive branch (meta branch: predictive) when its folder is predictive."""
    meta = {"branch": "predictive"} if "predictive" in fqn else {}
    return f"model.clv.{name}", {"fqn": ["clv", *fqn, name], "config": {"meta": meta}}


def test_time_by_part(tmp_path: Path) -> None:
    nodes = dict(
        [
            node("base_raw__orders", "staging"),
            node("int_customers_bgnbd_inputs", "intermediate", "predictive"),
            node("segment_clv", "marts"),
            node("customer_clv", "marts"),
        ]
    )
    parents = {
        "model.clv.base_raw__orders": [],
        "model.clv.int_customers_bgnbd_inputs": ["model.clv.base_raw__orders"],
        # segment_clv reads the predictive layer too: it is not the hand-written query's work
        "model.clv.segment_clv": ["model.clv.base_raw__orders", "model.clv.int_customers_bgnbd_inputs"],
        "model.clv.customer_clv": ["model.clv.base_raw__orders"],
        "test.clv.unique_orders": ["model.clv.base_raw__orders"],
        "test.clv.relationship": ["model.clv.base_raw__orders", "model.clv.customer_clv"],
        "test.clv.unique_inputs": ["model.clv.int_customers_bgnbd_inputs"],
        "unit_test.clv.segment_clv.case": ["model.clv.segment_clv"],
    }
    seconds = {
        "model.clv.base_raw__orders": 10.0,
        "model.clv.int_customers_bgnbd_inputs": 4.0,
        "model.clv.segment_clv": 1.0,
        "model.clv.customer_clv": 2.0,
        "test.clv.unique_orders": 0.5,
        "test.clv.relationship": 0.25,
        "test.clv.unique_inputs": 0.125,
        "unit_test.clv.segment_clv.case": 0.0625,
        "operation.clv.on-run-start": 3.0,
    }
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": nodes, "parent_map": parents}))
    (tmp_path / "run_results.json").write_text(
        json.dumps({"results": [{"unique_id": k, "execution_time": v} for k, v in seconds.items()]})
    )

    parts = time_by_part(tmp_path, wall=30.0)

    assert list(parts) == PARTS
    assert parts == {
        "models behind segment_clv": 11.0,  # base_raw__orders + segment_clv
        "their data tests": 0.5,
        "predictive models": 4.0,
        "other models": 2.0,
        "other data tests": 0.375,  # one also on customer_clv, one on a predictive model
        "unit tests": 0.0625,
        "dbt start-up, hooks, gaps": pytest.approx(30.0 - 17.9375),  # the hook is in the remainder
    }
