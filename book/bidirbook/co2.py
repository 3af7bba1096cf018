"""Mauna Loa's weekly CO2 record, read from the `statsmodels` wheel, and the gap-filling task built on it.

`statsmodels` ships `statsmodels/datasets/co2/co2.csv` (public domain; Keeling and Whorf, "Atmospheric CO2
concentrations derived from flask air samples at sites in the SIO network", in *Trends: A Compendium of Data on
Global Change*, CDIAC, Oak Ridge National Laboratory, 2004): one row per week from 29 March 1958 to 29 December
2001, the date as `YYYYMMDD` and the weekly mean CO2 concentration in parts per million, empty where no week's
measurement was kept. This module finds the file without importing `statsmodels` (whose import needs pandas)
and reads it with the standard library.

The task: hide observed stretches of the series with the lengths of the record's real gaps, fill them from the
weeks around them, and score the fills against the hidden truth. `bidirbook.co2` draws the stretches (at random
for training, disjoint for testing), builds the windows a network reads, and gives the baselines a practitioner
would try first: linear and seasonal interpolation, and a Kalman filter and smoother on a local-level model.
"""

import csv
import datetime
import importlib.util
import pathlib

import numpy as np

__all__ = [
    "DISTRIBUTION",
    "WEEKS_PER_YEAR",
    "co2_path",
    "load_co2",
    "find_gaps",
    "seasonal_cycle",
    "linear_fill",
    "seasonal_fill",
    "sample_hidden",
    "tile_hidden",
    "make_windows",
    "fit_local_level",
    "kalman_fill",
]

#: The package on the registry that ships the file.
DISTRIBUTION = "statsmodels"
#: Weeks in a year, for the seasonal cycle, 52.18 on average (the cycle is read by day of the year).
WEEKS_PER_YEAR = 365.25 / 7


def co2_path():
    """The path of `co2.csv` inside the installed `statsmodels` package.

    Raises:
        ModuleNotFoundError: if `statsmodels` is not installed, with the command that installs it.
        FileNotFoundError: if the package is installed but the file is not there.
    """
    spec = importlib.util.find_spec(DISTRIBUTION)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"The CO2 record comes with the `{DISTRIBUTION}` package, which is not installed: "
            f"pip install {DISTRIBUTION}"
        )
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "datasets" / "co2" / "co2.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed `{DISTRIBUTION}` package")
    return path


def load_co2(path=None):
    """The weekly record: dates and values, a missing week as NaN.

    Args:
        path: the CSV file; defaults to `co2_path()`.

    Returns:
        `(dates, values)`: a `datetime64[D]` array and a float64 array of CO2 in parts per million, one entry a
        week, in order.

    Example:

    >>> from bidirbook.co2 import load_co2
    >>> dates, values = load_co2()
    >>> len(dates), str(dates[0]), str(dates[-1])
    (2284, '1958-03-29', '2001-12-29')
    """
    path = co2_path() if path is None else pathlib.Path(path)
    dates, values = [], []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["date", "co2"]:
            raise ValueError(f"{path}: expected the columns date,co2. Received: {reader.fieldnames}")
        for row in reader:
            dates.append(datetime.datetime.strptime(row["date"], "%Y%m%d").date())
            values.append(float(row["co2"]) if row["co2"].strip() else np.nan)
    return np.array(dates, dtype="datetime64[D]"), np.array(values)


def find_gaps(values):
    """The runs of missing values, as `(start, length)` pairs in order.

    Example:

    >>> import numpy as np
    >>> from bidirbook.co2 import find_gaps
    >>> find_gaps(np.array([1.0, np.nan, np.nan, 2.0, np.nan]))
    [(1, 2), (4, 1)]
    """
    missing = np.isnan(np.asarray(values, dtype=float))
    edges = np.diff(np.concatenate([[0], missing.astype(int), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(s), int(e - s)) for s, e in zip(starts, ends)]


def _phase(dates):
    """Each date's place in its year, in [0, 1)."""
    days = (dates - dates.astype("datetime64[Y]")).astype(int)
    return days / 365.25


def seasonal_cycle(dates, values, harmonics=3):
    """The mean seasonal cycle of `values`: a straight-line trend plus `harmonics` sine and cosine pairs of the
    year, fitted by least squares to the observed weeks. Returns a function of dates that gives the cycle alone
    (the trend left out)."""
    observed = ~np.isnan(values)
    phase = _phase(dates)

    def design(phase, time):
        columns = [np.ones_like(phase), time]
        for k in range(1, harmonics + 1):
            columns += [np.sin(2 * np.pi * k * phase), np.cos(2 * np.pi * k * phase)]
        return np.stack(columns, axis=1)

    time = np.arange(len(values)) / WEEKS_PER_YEAR
    coefficients, *_ = np.linalg.lstsq(design(phase, time)[observed], values[observed], rcond=None)

    def cycle(dates):
        phase = _phase(dates)
        return design(phase, np.zeros_like(phase))[:, 2:] @ coefficients[2:]

    return cycle


def linear_fill(values):
    """Each missing value replaced by the straight line between the observed values either side of its gap (the
    nearest observed value at either end of the series)."""
    values = np.asarray(values, dtype=float)
    observed = ~np.isnan(values)
    index = np.arange(len(values))
    return np.interp(index, index[observed], values[observed])


def seasonal_fill(dates, values, cycle):
    """Linear interpolation of the series with its seasonal cycle taken out, the cycle then put back: a gap
    follows the year's rise and fall instead of a straight line."""
    season = cycle(dates)
    return linear_fill(values - season) + season


def _scorable(values, first, width, start, length):
    """Whether a stretch hidden in a window can be filled and scored: it holds an observed week, and the window
    has an observed week before it (where a window's level is read) and one after it."""
    window = values[first : first + width]
    before = window[: start - first]
    after = window[start - first + length :]
    return not (
        np.isnan(values[start : start + length]).all() or np.isnan(before).all() or np.isnan(after).all()
    )


def sample_hidden(rng, values, lengths, low, high, count, width, context):
    """Draw `count` windows in `values[low:high]`, each with a stretch to hide (for training: windows overlap).

    Each window is `width` weeks long and lies inside `[low, high)`; its stretch has a length drawn from
    `lengths` and leaves at least `context` weeks of the window on either side. A stretch with no observed week,
    which could not be scored, or with no observed week on one of its sides in the window, is drawn again.

    Returns:
        `(centres, hidden)`: each window's centre, and its stretch as `(start, length)`.
    """
    values = np.asarray(values, dtype=float)
    centres, hidden = [], []
    for _ in range(100 * count):  # bounded: an unscorable stretch is rare
        if len(centres) == count:
            break
        centre = int(rng.integers(low + width // 2, high - width + width // 2 + 1))
        length = int(rng.choice(lengths))
        first = centre - width // 2
        start = int(rng.integers(first + context, first + width - context - length + 1))
        if not _scorable(values, first, width, start, length):
            continue
        centres.append(centre)
        hidden.append((start, length))
    if len(centres) < count:
        raise ValueError(f"could not draw {count} scorable stretches in weeks {low} to {high}")
    return centres, hidden


def tile_hidden(rng, values, lengths, low, high, width, spacing):
    """Stretches to hide in `values[low:high]` that share no week (for testing), each with a window of its own.

    The stretches are laid one after another from `low`, with at least `spacing` weeks between two of them;
    their lengths go through `lengths` in an order shuffled by `rng`, then through a new shuffle, and so on, so
    that every length is used about as often. Each stretch's window is `width` weeks long, centred on the
    stretch, and lies inside `[low, high)`. A stretch that could not be scored (as in `sample_hidden`) is left
    out and its place skipped. Windows of neighbouring stretches overlap, but a week is hidden, and scored, in
    one stretch at most.

    Returns:
        `(centres, hidden)`, as `sample_hidden` returns them.

    Example:

    >>> import numpy as np
    >>> from bidirbook.co2 import tile_hidden
    >>> centres, hidden = tile_hidden(np.random.default_rng(0), np.arange(100.0), [2, 5], 0, 100, 20, 3)
    >>> hidden[:3], centres[:3]
    ([(9, 2), (14, 5), (22, 2)], [10, 16, 23])
    """
    values = np.asarray(values, dtype=float)
    lengths = [int(length) for length in lengths]
    if width <= max(lengths):
        raise ValueError(f"a window of {width} weeks cannot hold a stretch of {max(lengths)} weeks")
    if min(lengths) < 1 or spacing < 0:
        raise ValueError(f"stretch lengths must be at least 1 and `spacing` at least 0. Received: {lengths}, {spacing}")
    centres, hidden, order = [], [], []
    position = low
    # Bounded: each pass moves `position` on by at least one week (a length of 1 or more).
    for _ in range(max(high - low, 0) + 1):
        if not order:
            order = list(rng.permutation(lengths))
        length = int(order[0])
        centre_offset = length // 2
        start = max(position, low + width // 2 - centre_offset)
        centre = start + centre_offset
        if centre - width // 2 + width > high:
            break
        order.pop(0)
        if _scorable(values, centre - width // 2, width, start, length):
            centres.append(centre)
            hidden.append((start, length))
        position = start + length + spacing
    return centres, hidden


def make_windows(values, centres, width, hidden, scale):
    """The windows a network reads, one around each centre, with a stretch hidden in each.

    Every value in a window is taken relative to the window's *level*: the mean of its seen weeks before the
    hidden stretch, never after it. The inputs before the stretch, the level and so the targets relative to it
    are then the same whatever the weeks after the stretch hold: a network that reads left to right learns
    nothing about the right side of the hole, from its inputs or from the level.

    Args:
        values: the series, NaN where missing.
        centres: the index each window is centred on.
        width: the window's length in weeks.
        hidden: for each window, `(start, length)` of the stretch to hide, as an index into the series.
        scale: the series' values are divided by this after the window's level is taken out.

    Returns:
        `(inputs, targets, weights, levels)`: inputs `(windows, width, 2)` hold each week's value (0 where it is
        missing or hidden) and a flag that is 1 where it is seen; targets `(windows, width, 1)` the true values
        (0 where unknown); weights `(windows, width)` are 1 on the hidden weeks that have a true value, else 0;
        `levels` the level taken out of each window, to put back.
    """
    values = np.asarray(values, dtype=float)
    inputs = np.zeros((len(centres), width, 2), "float32")
    targets = np.zeros((len(centres), width, 1), "float32")
    weights = np.zeros((len(centres), width), "float32")
    levels = np.zeros(len(centres))
    for row, (centre, (start, length)) in enumerate(zip(centres, hidden)):
        first = centre - width // 2
        window = values[first : first + width]
        if first < 0 or len(window) != width:
            raise ValueError(f"the window around {centre} does not fit in the series of {len(values)} weeks")
        known = ~np.isnan(window)
        hide = np.zeros(width, bool)
        hide[max(start - first, 0) : max(start - first + length, 0)] = True
        if hide.sum() != length:
            raise ValueError(f"the hidden stretch ({start}, {length}) is not inside the window around {centre}")
        seen = known & ~hide
        before = seen & (np.arange(width) < start - first)
        if not before.any():
            raise ValueError(f"the window around {centre} has no seen week before its hidden stretch")
        levels[row] = window[before].mean()
        normalised = np.where(known, (window - levels[row]) / scale, 0.0)
        inputs[row, :, 0] = np.where(seen, normalised, 0.0)
        inputs[row, :, 1] = seen
        targets[row, :, 0] = normalised
        weights[row] = hide & known
    return inputs, targets, weights, levels


def fit_local_level(series):
    """Fits a local-level model to `series` by maximum likelihood; returns its two variances.

    The model, a structural time series (`statsmodels.tsa.statespace.structural.UnobservedComponents` with
    `level="llevel"`): each week's value is a level plus white noise, and the level moves by a random walk::

        value[t] = level[t] + noise[t],    level[t + 1] = level[t] + step[t],

    with the variances of `noise` and `step` the two parameters. A missing week (NaN) is skipped by the Kalman
    filter that computes the likelihood. `statsmodels` is imported here, not when `bidirbook.co2` is.

    Returns:
        The fitted parameters `[noise variance, step variance]`, a NumPy array, to pass to `kalman_fill`.
    """
    import warnings

    from statsmodels.tsa.statespace.structural import UnobservedComponents

    model = UnobservedComponents(np.asarray(series, dtype=float), level="llevel")
    with warnings.catch_warnings():  # the optimiser's convergence chatter; the fit is checked by its result
        warnings.simplefilter("ignore")
        result = model.fit(disp=False)
    return np.asarray(result.params)


def kalman_fill(series, params, two_pass=True):
    """The local-level model's estimate of the level at every week of `series` (NaN where missing or hidden),
    with the parameters `params` from `fit_local_level` kept fixed.

    The Kalman filter reads the series left to right: its estimate at a week uses that week and the ones
    before it, and across a hole it carries the last estimate forward. With `two_pass=True` the smoother then
    reads it right to left, and each week's estimate uses the whole series, both sides of a hole included.

    Example:

    >>> import numpy as np
    >>> from bidirbook.co2 import kalman_fill
    >>> series = np.array([1.0, 1.0, np.nan, np.nan, 3.0, 3.0])
    >>> kalman_fill(series, [0.01, 1.0], two_pass=False).round(2)[2:4].tolist()
    [1.0, 1.0]
    >>> smoothed = kalman_fill(series, [0.01, 1.0])
    >>> bool(1.0 < smoothed[2] < smoothed[3] < 3.0)
    True
    """
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    model = UnobservedComponents(np.asarray(series, dtype=float), level="llevel")
    result = model.smooth(np.asarray(params, dtype=float)) if two_pass else model.filter(np.asarray(params, dtype=float))
    state = result.smoothed_state if two_pass else result.filtered_state
    return (model.ssm["design"] @ state)[0]
