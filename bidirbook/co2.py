"""Mauna Loa's weekly CO2 record, read from the `statsmodels` wheel, and the gap-filling task built on it.

`statsmodels` ships `statsmodels/datasets/co2/co2.csv` (public domain; Keeling and Whorf, "Atmospheric CO2
concentrations derived from flask air samples at sites in the SIO network", in *Trends: A Compendium of Data on
Global Change*, CDIAC, Oak Ridge National Laboratory, 2004): one row per week from 29 March 1958 to 29 December
2001, the date as `YYYYMMDD` and the weekly mean CO2 concentration in parts per million, empty where no week's
measurement was kept. This module finds the file without importing `statsmodels` (whose import needs pandas)
and reads it with the standard library.

The task: hide observed stretches of the series with the lengths of the record's real gaps, fill them from the
weeks around them, and score the fills against the hidden truth. `bidirbook.co2` builds the windows a network
reads and the two baselines a practitioner would try first, linear and seasonal interpolation.
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
    "make_windows",
]

#: The package on the registry that ships the file.
DISTRIBUTION = "statsmodels"
#: Weeks in a year, for the seasonal cycle (52.18 on average: the cycle is read by day of the year).
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


def sample_hidden(rng, values, lengths, low, high, count, width, context):
    """Draw `count` windows in `values[low:high]`, each with a stretch to hide.

    Each window is `width` weeks long and lies inside `[low, high)`; its stretch has a length drawn from
    `lengths` (the real gaps' lengths, so that the task has the record's own mix of short and long gaps) and
    leaves at least `context` weeks of the window on either side. A stretch with no observed week, which could
    not be scored, is drawn again.

    Returns:
        `(centres, hidden)`: each window's centre, and its stretch as `(start, length)`.
    """
    values = np.asarray(values, dtype=float)
    centres, hidden = [], []
    for _ in range(100 * count):  # bounded: a stretch is all-missing rarely
        if len(centres) == count:
            break
        centre = int(rng.integers(low + width // 2, high - width + width // 2 + 1))
        length = int(rng.choice(lengths))
        first = centre - width // 2
        start = int(rng.integers(first + context, first + width - context - length + 1))
        if np.isnan(values[start : start + length]).all():
            continue
        centres.append(centre)
        hidden.append((start, length))
    if len(centres) < count:
        raise ValueError(f"could not draw {count} scorable stretches in weeks {low} to {high}")
    return centres, hidden


def make_windows(values, centres, width, hidden, scale):
    """The windows a network reads, one around each centre, with a stretch hidden in each.

    Args:
        values: the series, NaN where missing.
        centres: the index each window is centred on.
        width: the window's length in weeks.
        hidden: for each window, `(start, length)` of the stretch to hide, as an index into the series.
        scale: the series' values are divided by this after the window's own level is taken out.

    Returns:
        `(inputs, targets, weights, levels)`: inputs `(windows, width, 2)` hold each week's value (0 where it is
        missing or hidden) and a flag that is 1 where it is seen; targets `(windows, width, 1)` the true values
        (0 where unknown); weights `(windows, width)` are 1 on the hidden weeks that have a true value, else 0;
        `levels` the level taken out of each window (the mean of its seen weeks), to put back.
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
        hide[start - first : start - first + length] = True
        if not hide.any() or hide.sum() != length:
            raise ValueError(f"the hidden stretch ({start}, {length}) is not inside the window around {centre}")
        seen = known & ~hide
        levels[row] = window[seen].mean()
        normalised = np.where(known, (window - levels[row]) / scale, 0.0)
        inputs[row, :, 0] = np.where(seen, normalised, 0.0)
        inputs[row, :, 1] = seen
        targets[row, :, 0] = normalised
        weights[row] = hide & known
    return inputs, targets, weights, levels
