"""The committed export tables (`bench/results/export_<backend>.json`, written by `bench/export_table.py`): one a
backend, each over the whole grid for both wrappers, and bidirlib's every case exported, loaded and equal.

They are read as committed (nothing is exported here: the export tier does that, `pytest -m export`).
"""

import itertools
import json
import pathlib

import pytest

from helpers import bench_scripts

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKENDS = ("tensorflow", "torch", "jax")
TABLE = bench_scripts.load("export_table")


def read(backend):
    return json.loads((ROOT / "bench" / "results" / f"export_{backend}.json").read_text())


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_table_covers_the_whole_grid_for_both_wrappers(backend):
    table = read(backend)
    assert table["meta"]["backend"] == backend and table["meta"]["atol"] == TABLE.ATOL
    keys = [
        (row["wrapper"], row["format"], row["kind"], row["merge_mode"], row["return_sequences"], row["return_state"])
        for row in table["rows"]
    ]
    grid = itertools.product(
        TABLE.WRAPPERS, TABLE.formats_for_backend(backend), TABLE.KINDS, TABLE.MERGE_MODES, (True, False), (False, True)
    )
    assert sorted(keys, key=repr) == sorted(grid, key=repr)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bidirlib_exports_every_case(backend):
    failed = [
        row for row in read(backend)["rows"]
        if row["wrapper"] == "bidirlib" and not (row["exported"] and row["loads"] and row["equal"])
    ]
    assert not failed, failed[:3]
    assert all(row["max_abs_difference"] <= TABLE.ATOL for row in read(backend)["rows"] if row["equal"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_summary_counts_the_rows(backend):
    table = read(backend)
    assert table["summary"] == TABLE.summary(table["rows"])
    for row in table["rows"]:
        assert row["equal"] or row["error"], row  # every failure says why
