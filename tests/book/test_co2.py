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
        before = seen & (np.arange(48) < start - first)
        np.testing.assert_allclose(levels[row], window[before].mean())  # the level: seen weeks before the stretch
        np.testing.assert_allclose(targets[row, known, 0] * 2.0 + levels[row], window[known], rtol=1e-6)


def _change_after_each_stretch(values, centres, hidden, width, seed=0):
    """For each window, the series with every week after its stretch (to the window's end) changed."""
    rng = np.random.default_rng(seed)
    for centre, (start, length) in zip(centres, hidden):
        changed = values.copy()
        end = centre - width // 2 + width
        changed[start + length : end] += 5 + rng.normal(size=end - start - length)
        yield changed


def test_the_forward_filler_sees_nothing_after_the_gap(record):
    # A forward filler's inputs up to the end of the stretch, its targets and its level are the same whatever
    # the weeks after the stretch hold; and so are a forward GRU's outputs there, which a bidirectional one's
    # are not.
    import keras

    from bidirlib import Bidirectional

    _, values = record
    width = 48
    centres, hidden = co2.tile_hidden(np.random.default_rng(1), values, [1, 4, 18], 1400, len(values), width, 8)
    inputs, targets, weights, levels = co2.make_windows(values, centres, width, hidden, scale=2.0)
    changed_inputs = np.zeros_like(inputs)
    up_to_end = np.zeros(inputs.shape[:2], bool)
    for row, (changed, centre, stretch) in enumerate(
        zip(_change_after_each_stretch(values, centres, hidden, width), centres, hidden)
    ):
        start, length = stretch
        x, y, w, level = co2.make_windows(changed, [centre], width, [stretch], scale=2.0)
        end = start + length - (centre - width // 2)
        assert not np.array_equal(x[0, end:], inputs[row, end:])  # the weeks after did change
        np.testing.assert_array_equal(x[0, :end], inputs[row, :end])
        np.testing.assert_array_equal(y[0, :end], targets[row, :end])
        np.testing.assert_array_equal(w[0], weights[row])
        assert level[0] == levels[row]
        changed_inputs[row] = x[0]
        up_to_end[row, :end] = True
    hidden_weeks = weights > 0
    keras.utils.set_random_seed(0)
    forward = keras.Sequential([keras.Input((width, 2)), keras.layers.GRU(5, return_sequences=True), keras.layers.Dense(1)])
    bidirectional = keras.Sequential(
        [keras.Input((width, 2)), Bidirectional(keras.layers.GRU(5, return_sequences=True)), keras.layers.Dense(1)]
    )
    fills = keras.ops.convert_to_numpy(forward(inputs))[..., 0]
    changed_fills = keras.ops.convert_to_numpy(forward(changed_inputs))[..., 0]
    np.testing.assert_allclose(fills[up_to_end], changed_fills[up_to_end], rtol=0, atol=1e-6)
    two_way = keras.ops.convert_to_numpy(bidirectional(inputs))[..., 0]
    two_way_changed = keras.ops.convert_to_numpy(bidirectional(changed_inputs))[..., 0]
    assert np.abs(two_way - two_way_changed)[hidden_weeks].mean() > 1e-2  # the backward direction reads them


def test_test_stretches_share_no_week(record):
    _, values = record
    lengths = [1, 2, 3, 4, 5, 8, 18]
    centres, hidden = co2.tile_hidden(np.random.default_rng(1), values, lengths, 1397, len(values), 48, 8)
    weeks = np.concatenate([np.arange(start, start + length) for start, length in hidden])
    assert len(np.unique(weeks)) == len(weeks)
    for (start, length), (following, _) in zip(hidden, hidden[1:]):
        assert following - (start + length) >= 8
    for centre, (start, length) in zip(centres, hidden):
        first = centre - 24
        assert 1397 <= first and first + 48 <= len(values)
        assert start - first >= 15 and first + 48 - (start + length) >= 15  # centred: context on both sides
        assert not np.isnan(values[start : start + length]).all()
    counts = np.unique([length for _, length in hidden], return_counts=True)[1]
    assert set(np.unique([length for _, length in hidden])) == set(lengths) and counts.max() - counts.min() <= 1
    with pytest.raises(ValueError, match="cannot hold"):
        co2.tile_hidden(np.random.default_rng(1), values, [18], 0, 500, 18, 8)


def test_training_stretches_have_seen_weeks_on_both_sides(record):
    _, values = record
    centres, hidden = co2.sample_hidden(np.random.default_rng(0), values, [18], 0, 400, 200, 48, 8)
    for centre, (start, length) in zip(centres, hidden):
        first = centre - 24
        assert not np.isnan(values[first:start]).all() and not np.isnan(values[start + length : first + 48]).all()


def test_kalman_filter_reads_one_side_and_the_smoother_both():
    rng = np.random.default_rng(0)
    level = np.cumsum(rng.normal(scale=0.15, size=2000))
    series = level + rng.normal(scale=0.3, size=2000)
    params = co2.fit_local_level(series)
    np.testing.assert_allclose(params, [0.09, 0.0225], rtol=0.3)  # the variances that made the series
    hidden = series.copy()
    holes = np.concatenate([np.arange(start, start + 10) for start in range(100, 2000, 100)])
    hidden[holes] = np.nan
    changed = hidden.copy()
    changed[210:] += 3  # every week after the hole at weeks 200-209
    filtered, changed_filtered = (co2.kalman_fill(s, params, two_pass=False) for s in (hidden, changed))
    np.testing.assert_array_equal(filtered[:210], changed_filtered[:210])  # the filter: left to right
    np.testing.assert_allclose(filtered[200:210], filtered[199])  # across a hole, the last estimate carried
    smoothed, changed_smoothed = (co2.kalman_fill(s, params) for s in (hidden, changed))
    assert (changed_smoothed[200:210] - smoothed[200:210] > 0.1).all()  # the smoother reads the weeks after
    # Over 19 holes, two passes are closer to the true level than one.
    assert np.abs(smoothed[holes] - level[holes]).mean() < 0.8 * np.abs(filtered[holes] - level[holes]).mean()


def test_a_window_that_does_not_fit_is_refused(record):
    _, values = record
    with pytest.raises(ValueError, match="does not fit"):
        co2.make_windows(values, [10], 48, [(12, 2)], scale=1.0)
    with pytest.raises(ValueError, match="not inside the window"):
        co2.make_windows(values, [100], 48, [(200, 2)], scale=1.0)
    with pytest.raises(ValueError, match="no seen week before"):
        co2.make_windows(values, [100], 48, [(76, 2)], scale=1.0)
