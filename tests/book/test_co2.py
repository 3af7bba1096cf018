"""Tests of bidirbook.co2 on the real file of the statsmodels wheel, and of its fills and windows."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from bidirbook import co2


@pytest.fixture(scope="module")
def record():
    return co2.load_co2()


def test_file_comes_from_the_wheel_without_importing_statsmodels():
    path = co2.co2_path()
    assert path.is_file() and path.name == "co2.csv" and path.parent.name == "co2"
    # Finding and reading the file does not import statsmodels (whose import needs pandas): checked in a fresh
    # process, since another test may have imported it here.
    probe = "import sys; from bidirbook import co2; co2.load_co2(); print(sorted({'statsmodels', 'pandas'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_counts_dates_and_values_as_in_the_source(record):
    dates, values = record
    assert len(dates) == len(values) == 2284
    assert (str(dates[0]), str(dates[-1])) == ("1958-03-29", "2001-12-29")
    assert set(np.diff(dates).astype(int)) == {7}  # one row a week, none skipped
    assert int(np.isnan(values).sum()) == 59
    assert (float(values[0]), float(values[-1])) == (316.1, 371.5)  # the first and last rows of co2.csv
    assert 312 < np.nanmin(values) < 314 and 373 < np.nanmax(values) < 375


def test_real_gaps(record):
    _, values = record
    gaps = co2.find_gaps(values)
    lengths = sorted(length for _, length in gaps)
    assert len(gaps) == 22 and sum(lengths) == 59
    assert (lengths[0], lengths[-1]) == (1, 18)
    assert gaps[0] == (6, 1)  # the first empty row, 10 May 1958
    for start, length in gaps:
        assert np.isnan(values[start : start + length]).all()
        assert not np.isnan(values[start - 1]) and not np.isnan(values[start + length])


def test_missing_package_names_the_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install statsmodels"):
        co2.co2_path()


def test_wrong_columns_are_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("day,value\n19580329,316.1\n")
    with pytest.raises(ValueError, match="expected the columns date,co2"):
        co2.load_co2(path)


def test_linear_fill_draws_straight_lines():
    filled = co2.linear_fill(np.array([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan]))
    np.testing.assert_allclose(filled, [1.0, 1.0, 2.0, 3.0, 4.0, 4.0])


def test_seasonal_fill_recovers_a_trend_plus_a_cycle(record):
    dates, _ = record
    phase = co2._phase(dates)
    truth = 315 + 0.03 * np.arange(len(dates)) + 3 * np.sin(2 * np.pi * phase) + np.cos(4 * np.pi * phase)
    hidden = truth.copy()
    hidden[100:118] = np.nan
    cycle = co2.seasonal_cycle(dates, hidden)
    np.testing.assert_allclose(co2.seasonal_fill(dates, hidden, cycle)[100:118], truth[100:118], atol=0.02)
    # A straight line across the same 18 weeks misses the cycle by far more.
    assert np.abs(co2.linear_fill(hidden)[100:118] - truth[100:118]).max() > 0.5


def test_windows_hide_the_stretch_and_keep_the_truth(record):
    _, values = record
    rng = np.random.default_rng(0)
    centres, hidden = co2.sample_hidden(rng, values, [1, 5, 18], 0, 1000, 20, 48, 8)
    inputs, targets, weights, levels = co2.make_windows(values, centres, 48, hidden, scale=2.0)
    assert inputs.shape == (20, 48, 2) and targets.shape == (20, 48, 1) and weights.shape == (20, 48)
    for row, (centre, (start, length)) in enumerate(zip(centres, hidden)):
        first = centre - 24
        assert 0 <= first and first + 48 <= 1000
        inside = slice(start - first, start - first + length)
        assert start - first >= 8 and first + 48 - (start + length) >= 8  # context on both sides
        assert (inputs[row, inside] == 0).all()  # hidden: no value and no seen flag
        window = values[first : first + 48]
        known = ~np.isnan(window)
        seen = inputs[row, :, 1].astype(bool)
        assert not (seen & ~known).any()  # a missing week is never marked seen
        np.testing.assert_allclose(weights[row], np.isin(np.arange(48), np.arange(48)[inside]) & known)
        np.testing.assert_allclose(levels[row], window[seen].mean())
        np.testing.assert_allclose(targets[row, known, 0] * 2.0 + levels[row], window[known], rtol=1e-6)


def test_a_window_that_does_not_fit_is_refused(record):
    _, values = record
    with pytest.raises(ValueError, match="does not fit"):
        co2.make_windows(values, [10], 48, [(12, 2)], scale=1.0)
    with pytest.raises(ValueError, match="not inside the window"):
        co2.make_windows(values, [100], 48, [(200, 2)], scale=1.0)
