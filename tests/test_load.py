"""A short run of the load benchmark (benchmarks/load.py) as CI's proof that a floor of agents and
authors on the production command gets no errors and that every acknowledged save becomes
searchable. The full run, with its figures, is in README; here nothing is timed."""

from __future__ import annotations

import json

import pytest
from kbserver import run_benchmark

pytestmark = pytest.mark.slow


def test_a_short_load_run_has_no_errors_and_loses_no_save(tmp_path):
    out = tmp_path / "load.json"
    args = ["--articles", "300", "--duration", "15", "--agents", "12", "--authors", "3"]
    args += ["--agent-think", "2", "--author-think", "1", "--instance", str(tmp_path / "instance"), "--out", str(out)]
    stdout = run_benchmark("load.py", *args, timeout=600)
    run = json.loads(out.read_text())["runs"]["kb"]
    assert run["errors"] == 0, run["error_samples"]
    kinds = run["kinds"]
    assert kinds["search"]["count"] > 50 and run["saves_acknowledged"] > 5, kinds
    assert kinds["save visible"]["count"] + run["saves_superseded"] == run["saves_acknowledged"]
    assert kinds["save visible"]["count"] > 5
    assert "PASS  every acknowledged save searchable" in stdout
