"""The build is clean (no warnings, every test run), linted, documented, contracted, and idempotent."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from python_checks.project import MARTS, PROJECT, build_ok


def test_demo_build_has_no_warning_and_runs_unit_tests(demo_build):
    out = demo_build.output
    assert "WARN=0" in out and "ERROR=0" in out, out[-3000:]
    assert "[WARNING]" not in out and "Warning" not in out
    assert out.count("unit_test") >= 6  # the unit tests ran inside `dbt build`


def test_every_model_and_column_is_documented_and_every_mart_contracted(demo_build):
    manifest = json.loads((demo_build.db_path.parent / "target" / "manifest.json").read_text())
    nodes = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    undocumented = [n["name"] for n in nodes if not n["description"].strip()]
    assert not undocumented
    for node in nodes:
        relation_columns = demo_build.read(f"select * from main.{node['name']} limit 0").columns
        missing = [
            c for c in relation_columns if c not in node["columns"] or not node["columns"][c]["description"].strip()
        ]
        assert not missing, f"{node['name']}: undocumented columns {missing}"
        tested = [t for t in tests if node["unique_id"] in t["depends_on"]["nodes"]]
        assert tested, f"{node['name']} has no test"
        if node["fqn"][1] == "marts":
            assert node["config"]["contract"]["enforced"], node["name"]
            assert any(
                t["test_metadata"]["name"] in ("unique", "unique_combination_of_columns")
                for t in tested
                if t.get("test_metadata")
            )


def test_the_parameters_signature_covers_what_the_customer_layer_reads(demo_build):
    """The per-customer incremental tables recompute everyone when parameters_signature moves (decision 44): every
    int_parameters column their compiled SQL names must be in the signature."""
    manifest = json.loads((demo_build.db_path.parent / "target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    parameters = nodes["model.clv.int_parameters"]
    signed = set(re.findall(r"coalesce\(cast\((\w+) as", parameters["compiled_code"]))
    assert {"as_of_date", "default_gross_margin"} <= signed and "latest_order_date" not in signed, signed
    for model in ("int_purchases_sequenced", "int_customers_bgnbd_inputs"):
        code = nodes[f"model.clv.{model}"]["compiled_code"]
        read = {c for c in parameters["columns"] if c != "parameters_signature" and re.search(rf"\b{c}\b", code)}
        assert read and read <= signed, (model, read - signed)


def test_sqlfluff_lint_is_clean(demo_build):
    env = dict(os.environ, DBT_PROFILES_DIR=str(PROJECT), CLV_DUCKDB_PATH=str(demo_build.db_path))
    sqlfluff = str(Path(sys.executable).parent / "sqlfluff")
    proc = subprocess.run([sqlfluff, "lint", "models", "tests"], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]


def test_python_is_ruff_clean():
    """ruff (pyproject.toml: lint rules and the formatter, line length 120) over every Python file."""
    ruff = str(Path(sys.executable).parent / "ruff")
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run([ruff, *args], cwd=PROJECT, capture_output=True, text=True)
        assert proc.returncode == 0, f"ruff {' '.join(args)}:\n" + proc.stdout[-5000:] + proc.stderr[-2000:]


def test_two_consecutive_builds_give_identical_marts(demo_build, tmp_path):
    shutil.copy(demo_build.db_path, tmp_path / "clv.duckdb")
    again = build_ok("build", tmp_path)
    for mart in MARTS:
        first = demo_build.table(mart)
        second = again.table(mart)
        keys = list(first.columns)
        pd.testing.assert_frame_equal(
            first.sort_values(keys).reset_index(drop=True), second.sort_values(keys).reset_index(drop=True)
        )
