"""ECG prints: a record as a clinical 12-lead print (:func:`plot_ecg`) and one ECG-paper panel per
lead (:func:`plot_leads`).

Signals in mV, time in s from the explicit sampling rate ``fs`` (Hz), on ECG paper at 25 mm/s and
10 mm/mV (:mod:`hybridfield.plots.paper`). matplotlib is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from geometry.validation import as_positive_scalar

from ..leads import STANDARD_LEADS, canonical_lead_name
from .paper import (
    MAJOR_COLOUR,
    MAJOR_MV,
    MAX_HEIGHT_IN,
    MAX_WIDTH_IN,
    MIN_WIDTH_IN,
    MM_PER_MV,
    MM_PER_S,
    TRACE_COLOUR,
    VIRTUAL_COLOUR,
    VIRTUAL_SUFFIX,
    grid_lines,
    named_signals,
    panel_label,
    paper_figure,
    paper_range,
    pyplot,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_ecg", "plot_leads"]


# --------------------------------------------------------------------------------------------
# Lead panels (plot_leads)
# --------------------------------------------------------------------------------------------


def _resolve_layout(layout: Any, n_panels: int) -> tuple[int, int]:
    """``layout`` checked as (rows, columns) holding ``n_panels``; None: one column."""
    if layout is None:
        return n_panels, 1
    try:
        rows, cols = (int(value) for value in layout)
    except (TypeError, ValueError):
        raise TypeError(f"layout must be None or a pair (rows, columns) of positive ints, got {layout!r}") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"layout must have positive rows and columns, got {layout!r}")
    if rows * cols < n_panels:
        raise ValueError(f"layout {rows}x{cols} has {rows * cols} panels for {n_panels} leads; make it larger")
    return rows, cols


def plot_leads(
    signals: Mapping[str, Any] | tuple[Sequence[str], Any],
    fs: float,
    *,
    title: str | None = None,
    virtual: Sequence[str] = (),
    layout: tuple[int, int] | None = None,
) -> "Figure":
    """Plot lead signals on ECG paper (25 mm/s, 10 mm/mV), one panel per lead.

    All panels share the time axis and the amplitude scale, so amplitudes compare across leads as
    on a printed ECG. The grid has minor squares of 0.04 s x 0.1 mV and major squares of
    0.2 s x 0.5 mV, drawn square; long records are scaled down uniformly (the minor grid is
    dropped once it would be too fine to see).

    Parameters
    ----------
    signals : mapping of str to (n,) array_like, or pair (names, (n_leads, n) array_like)
        Lead signals in mV, all of the same length ``n``, plotted in the given order.
    fs : float
        Sampling rate, Hz; sample ``k`` is at ``k / fs`` s.
    title : str, optional
        Figure title.
    virtual : sequence of str, optional
        Names of leads that were not recorded (synthesised views, reconstructions); they are
        labelled "(virtual)" and drawn in blue.
    layout : (rows, columns), optional
        Panel grid, filled column by column as on a 6x2 or 3x4 ECG print (I, II, III down the
        first column). Default: one column, ``n_leads`` rows.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) / 500.0
    >>> fig = plot_leads({"I": np.sin(2 * np.pi * t), "V7": np.cos(2 * np.pi * t)}, 500.0,
    ...                  virtual=["V7"])
    """
    names, array = named_signals(signals, "signals")
    fs = as_positive_scalar(fs, "fs", "Hz")
    if isinstance(virtual, str):
        virtual = [virtual]
    virtual_set = {str(name) for name in virtual}
    unknown = sorted(virtual_set - set(names))
    if unknown:
        raise ValueError(f"virtual names {unknown} are not among the signals {names}")
    rows, cols = _resolve_layout(layout, len(names))
    n_samples = array.shape[1]
    duration = n_samples / fs
    low, high = paper_range(list(array))
    fig, axes, _ = paper_figure(len(names), (rows, cols), duration, low, high, title)
    times = np.arange(n_samples) / fs
    for ax, lead, signal in zip(axes, names, array):
        is_virtual = lead in virtual_set
        colour = VIRTUAL_COLOUR if is_virtual else TRACE_COLOUR
        ax.plot(times, signal, color=colour, linewidth=0.9, zorder=3)
        panel_label(ax, f"{lead} (virtual)" if is_virtual else lead, colour)
    return fig


# --------------------------------------------------------------------------------------------
# The clinical 12-lead print (plot_ecg)
# --------------------------------------------------------------------------------------------

# Overlay colours: none of them red (the paper), black (recorded) or blue (virtual, bands).
_OVERLAY_COLOURS = ("#e07b00", "#2a9d3f", "#8e44ad", "#00a3b4", "#a0522d", "#d81b60")
_BAND_COLOUR = "#7fb3e6"
# Lead-in before t = 0 on every row: 0.4 s (two major squares) holding the 1 mV, 0.2 s pulse.
_LEAD_IN_S = 0.4
_CALIBRATION_T = np.array([-0.4, -0.3, -0.3, -0.1, -0.1, 0.0])
_CALIBRATION_MV = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 0.0])
_ECG_COLUMNS = 4


def _lead_key(name: str) -> str:
    """Case-insensitive key of a lead name (``leads.canonical_lead_name``), any " (virtual)" mark removed."""
    text = str(name).strip()
    if text.lower().endswith(VIRTUAL_SUFFIX):
        text = text[: -len(VIRTUAL_SUFFIX)]
    return canonical_lead_name(text).lower()


class _Leads:
    """Named signals on one time base: names, (n_leads, n) mV, fs Hz, virtual names, key -> row."""

    def __init__(self, names: list[str], signals: np.ndarray, fs: float, virtual: set[str]) -> None:
        self.names = names
        self.signals = signals
        self.fs = fs
        self.row = {_lead_key(name): index for index, name in enumerate(names)}
        self.virtual_keys = {_lead_key(name) for name in virtual}

    @property
    def duration(self) -> float:
        return self.signals.shape[1] / self.fs

    def get(self, key: str) -> np.ndarray | None:
        index = self.row.get(key)
        return None if index is None else self.signals[index]


def _as_leads(value: Any, name: str, fs: float | None) -> _Leads:
    """An ECG (duck-typed: signals, fs, lead_names, virtual) or a mapping lead -> (n,) mV with ``fs``."""
    if all(hasattr(value, attribute) for attribute in ("signals", "fs", "lead_names")):
        signals = np.asarray(value.signals, dtype=np.float64)
        if signals.ndim != 2:
            raise ValueError(f"{name}.signals must be (n_leads, n_samples), got shape {signals.shape}")
        names = [str(lead) for lead in value.lead_names]
        rate = as_positive_scalar(value.fs, f"{name}.fs", "Hz")
        return _Leads(names, signals, rate, set(getattr(value, "virtual", ())))
    if isinstance(value, Mapping):
        if fs is None:
            raise TypeError(f"{name} is a mapping of signals, so its sampling rate must be given: pass fs=... (Hz)")
        names, signals = named_signals(value, name)
        return _Leads(names, signals, as_positive_scalar(fs, "fs", "Hz"), set())
    raise TypeError(
        f"{name} must be an ECG or a mapping lead name -> (n,) array in mV, got {type(value).__name__}"
    )


def _check_same_duration(other: _Leads | tuple[int, float], reference: _Leads, what: str) -> None:
    """Signals drawn together must cover the same time span (within one sample period)."""
    n, fs = (other.signals.shape[1], other.fs) if isinstance(other, _Leads) else other
    tolerance = max(1.0 / fs, 1.0 / reference.fs) + 1e-9
    if abs(n / fs - reference.duration) > tolerance:
        raise ValueError(
            f"{what} lasts {n / fs:g} s ({n} samples at {fs:g} Hz) but ecg lasts {reference.duration:g} s "
            f"({reference.signals.shape[1]} samples at {reference.fs:g} Hz); they must cover the same time span"
        )


def _ecg_bands(
    bands: Any, probability: float, plotted: dict[str, str], reference: _Leads
) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float, str]:
    """Bands -> ({lead key: (lower, upper)}, fs of the bands, legend label)."""
    if hasattr(bands, "interval") and hasattr(bands, "names"):  # PosteriorLeads
        lower, upper = bands.interval(probability)
        lower, upper = np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64)
        fs = as_positive_scalar(bands.fs, "bands.fs", "Hz")
        _check_same_duration((lower.shape[1], fs), reference, "bands")
        result = {
            _lead_key(view): (lower[index], upper[index])
            for index, view in enumerate(bands.names)
            if _lead_key(view) in plotted
        }
        if not result:
            raise ValueError(
                f"bands (a posterior of {', '.join(bands.names)}) has none of the plotted leads "
                f"{', '.join(plotted.values())}"
            )
        return result, fs, f"{100 * probability:g} % credible band"
    if not isinstance(bands, Mapping):
        raise TypeError(
            f"bands must be a PosteriorLeads or a mapping lead -> (lower, upper) arrays in mV, got {type(bands).__name__}"
        )
    result = {}
    n = reference.signals.shape[1]
    for lead, pair in bands.items():
        key = _lead_key(lead)
        if key not in plotted:
            raise ValueError(f"bands has lead {lead!r}, which is not plotted; plotted leads: {', '.join(plotted.values())}")
        try:
            lower, upper = (np.asarray(side, dtype=np.float64) for side in pair)
        except (TypeError, ValueError):
            raise TypeError(f"bands[{lead!r}] must be a pair (lower, upper) of (n,) arrays in mV") from None
        if lower.shape != (n,) or upper.shape != (n,):
            raise ValueError(
                f"bands[{lead!r}] must be two arrays of shape ({n},) like the ecg, got {lower.shape} and {upper.shape}"
            )
        if not (np.isfinite(lower).all() and np.isfinite(upper).all()):
            raise ValueError(f"bands[{lead!r}] must be finite")
        if np.any(lower > upper):
            raise ValueError(f"bands[{lead!r}]: lower exceeds upper at {int(np.sum(lower > upper))} sample(s)")
        result[key] = (lower, upper)
    return result, reference.fs, "band"


def _nice_step(span: float, max_ticks: float) -> float:
    """The smallest of 0.2, 0.5, 1, 2, 5, 10... s giving at most ``max_ticks`` ticks over ``span``."""
    for step in (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        if span / step <= max_ticks:
            return step
    return float(10 ** np.ceil(np.log10(span / max(max_ticks, 1.0))))


def _window_trace(ax: "Axes", times: np.ndarray, values: np.ndarray, start: float, stop: float, **style: Any) -> Any:
    """Plot the samples within [start, stop] s (one sample either side so the trace meets the edges)."""
    first = max(int(np.searchsorted(times, start)) - 1, 0)
    last = int(np.searchsorted(times, stop, side="right")) + 1
    return ax.plot(times[first:last], values[first:last], **style)


def plot_ecg(
    ecg: Any,
    *,
    overlays: Mapping[str, Any] | None = None,
    bands: Any = None,
    probability: float = 0.9,
    leads: Sequence[str] | None = None,
    rhythm_lead: str | None = "II",
    virtual: Sequence[str] | None = None,
    title: str | None = None,
    seconds_per_column: float = 2.5,
    fs: float | None = None,
) -> "Figure":
    """A 12-lead ECG as printed in the clinic: 3 x 4 leads, a rhythm strip, 25 mm/s and 10 mm/mV.

    With the 12 standard leads the panels follow the paper layout (columns I, II, III / aVR, aVL,
    aVF / V1-V3 / V4-V6) and each column shows its own consecutive ``seconds_per_column`` segment,
    so a row reads left to right as one continuous strip (0-2.5 s, 2.5-5 s, 5-7.5 s, 7.5-10 s for a
    10 s record). Any other lead list (V7, V8, V9, ``"view(90,130)"``...) is laid out the same
    way, filled column by column, in at most 4 columns. Below, the rhythm strip shows
    ``rhythm_lead`` over the whole row. Every row starts with a 1 mV, 0.2 s calibration pulse.
    The paper is drawn to scale (minor squares 1 mm = 0.04 s x 0.1 mV, major squares 5 mm),
    shrunk uniformly only when it would not fit on 15 x 20 inches. A record shorter than
    ``4 x seconds_per_column`` shows its first ``seconds_per_column`` in every column instead
    (all leads simultaneous; the rhythm strip shows the whole record, up to 4 columns' worth).

    Parameters
    ----------
    ecg : ECG, or mapping of str to (n,) array_like
        The record, mV. A mapping needs ``fs``. Virtual leads (``ECG.virtual``) are drawn in blue
        and labelled "(virtual)".
    overlays : mapping of str to ECG (or to a mapping lead -> (n,) array at ``ecg``'s fs), optional
        Other versions of the record, e.g. ``{"physical": ecg_phys, "learned": ecg_hybrid}``, drawn
        over it in distinct colours and named in the legend. Each must cover the same time span as
        ``ecg`` (its own fs is used) and share at least one plotted lead; it may hold leads that
        ``ecg`` lacks (plot those with ``leads=``).
    bands : PosteriorLeads, or mapping of str to (lower, upper), optional
        Shaded bands. A PosteriorLeads gives its equal-tailed ``probability`` interval for every
        plotted view (its names may carry the " (virtual)" mark); a mapping gives lead ->
        ((n,), (n,)) arrays in mV on ``ecg``'s time base, every lead of it plotted.
    probability : float, optional
        Interval probability for a PosteriorLeads, in (0, 1). Default 0.9.
    leads : sequence of str, optional
        Leads to draw, in order (case-insensitive; from ``ecg`` or an overlay). Default: all
        leads of ``ecg``. When they are exactly the 12 standard leads the clinical order is used.
    rhythm_lead : str or None, optional
        Lead of the rhythm strip; default "II", replaced by the first plotted lead when there is
        no lead II. None: no rhythm strip.
    virtual : sequence of str, optional
        Names of the leads to mark virtual; default ``ecg.virtual`` (none for a mapping).
    title : str, optional
        Figure title.
    seconds_per_column : float, optional
        Time span of each column, s. Default 2.5.
    fs : float, optional
        Sampling rate, Hz; required when ``ecg`` is a mapping, ignored for an ECG.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per lead panel (in panel order), then the rhythm strip.

    Raises
    ------
    ValueError
        Unknown leads, bands for leads that are not plotted, bands or overlays of another
        duration, lower > upper, bad ``probability`` or ``seconds_per_column``.
    TypeError
        Inputs of the wrong kind.

    Examples
    --------
    >>> import numpy as np
    >>> from hybridfield import ECG
    >>> ecg = ECG(np.zeros((3, 5000)), 500.0, ["V7", "V8", "V9"], virtual=["V9"])
    >>> fig = plot_ecg(ecg)  # 3 panels in one row + a rhythm strip of V7
    """
    main = _as_leads(ecg, "ecg", fs)
    try:
        probability = float(probability)
    except (TypeError, ValueError):
        raise TypeError(f"probability must be a number in (0, 1), got {probability!r}") from None
    if not 0.0 < probability < 1.0:
        raise ValueError(f"probability must be in (0, 1), e.g. 0.9, got {probability}")
    column_span = as_positive_scalar(seconds_per_column, "seconds_per_column", "s")

    layers: list[tuple[str, _Leads]] = []
    if overlays is not None:
        if not isinstance(overlays, Mapping):
            raise TypeError(f"overlays must be a mapping label -> ECG, got {type(overlays).__name__}")
        for label, overlay in overlays.items():
            source = _as_leads(overlay, f"overlays[{label!r}]", main.fs)
            _check_same_duration(source, main, f"overlays[{label!r}]")
            layers.append((str(label), source))

    # Which leads, in which order and layout.
    available: dict[str, str] = {}
    for source in [main] + [source for _, source in layers]:
        for name in source.names:
            available.setdefault(_lead_key(name), name)
    if leads is None:
        wanted = list(main.names)
    else:
        wanted = [leads] if isinstance(leads, str) else list(leads)
        if not wanted:
            raise ValueError("leads must name at least one lead, got an empty sequence")
    keys = []
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"leads must be lead names (str), got {type(name).__name__} {name!r}")
        key = _lead_key(name)
        if key not in available:
            raise ValueError(f"lead {name!r} is in neither ecg nor overlays; available: {', '.join(available.values())}")
        if key in keys:
            raise ValueError(f"leads names {name!r} twice")
        keys.append(key)
    standard_keys = [_lead_key(name) for name in STANDARD_LEADS]
    if sorted(keys) == sorted(standard_keys):
        keys = standard_keys
        rows = 3
    else:
        rows = int(np.ceil(len(keys) / _ECG_COLUMNS))
    columns = int(np.ceil(len(keys) / rows))
    plotted = {key: available[key] for key in keys}

    for label, source in layers:
        if not any(key in source.row for key in keys):
            raise ValueError(
                f"overlays[{label!r}] has none of the plotted leads {', '.join(plotted.values())}; "
                f"it has {', '.join(source.names)}"
            )
    if virtual is None:
        virtual_keys = main.virtual_keys
    else:
        virtual_names = [virtual] if isinstance(virtual, str) else list(virtual)
        virtual_keys = set()
        for name in virtual_names:
            if _lead_key(name) not in plotted:
                raise ValueError(f"virtual names {name!r}, which is not plotted; plotted leads: {', '.join(plotted.values())}")
            virtual_keys.add(_lead_key(name))

    band_by_key: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    band_fs, band_label = main.fs, "band"
    if bands is not None:
        band_by_key, band_fs, band_label = _ecg_bands(bands, probability, plotted, main)

    rhythm_key = None
    if rhythm_lead is not None:
        if not isinstance(rhythm_lead, str):
            raise TypeError(f"rhythm_lead must be a lead name or None, got {type(rhythm_lead).__name__}")
        rhythm_key = _lead_key(rhythm_lead)
        if rhythm_key not in available:
            if rhythm_key != "ii":
                raise ValueError(
                    f"rhythm_lead {rhythm_lead!r} is in neither ecg nor overlays; available: {', '.join(available.values())}"
                )
            rhythm_key = keys[0]  # no lead II: the default falls back to the first panel's lead

    # Time windows: consecutive segments when the record is long enough, else simultaneous.
    duration = main.duration
    consecutive = duration >= columns * column_span - 0.5 / main.fs
    segment = column_span if consecutive else min(column_span, duration)
    windows = [(c * segment, (c + 1) * segment) if consecutive else (0.0, segment) for c in range(columns)]
    rhythm_window = (0.0, columns * segment if consecutive else min(duration, columns * column_span))

    # One amplitude range for every panel (calibration pulse included), as on paper.
    drawn = [main.get(key) for key in keys if main.get(key) is not None]
    drawn += [source.get(key) for _, source in layers for key in keys if source.get(key) is not None]
    drawn += [side for pair in band_by_key.values() for side in pair]
    low, high = paper_range(drawn + [_CALIBRATION_MV])

    # Geometry, inches: columns touch (a row is one strip); the first column carries the lead-in.
    plt = pyplot()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator

    column_gap_in = 0.0 if consecutive else 0.3
    row_width_s = _LEAD_IN_S + columns * segment
    rhythm_width_s = _LEAD_IN_S + rhythm_window[1]
    row_height_mm = (high - low) * MM_PER_MV
    n_rows_total = rows + (rhythm_key is not None)
    width_mm = max(row_width_s, rhythm_width_s) * MM_PER_S + (columns - 1) * column_gap_in * 25.4
    scale = min(
        max(1.0, MIN_WIDTH_IN * 25.4 / width_mm),
        MAX_WIDTH_IN * 25.4 / width_mm,
        MAX_HEIGHT_IN * 25.4 / (n_rows_total * row_height_mm),
    )
    inch_per_s = scale * MM_PER_S / 25.4
    panel_h = scale * row_height_mm / 25.4
    has_legend = bool(layers) or bool(band_by_key) or (
        bool(virtual_keys & set(keys)) and bool(set(keys) - virtual_keys)
    )
    left, right, bottom = 0.6, 0.25, 0.55
    top = (0.5 if title else 0.15) + (0.3 if has_legend else 0.0)
    row_gap = 0.06
    rhythm_gap = row_gap if consecutive else 0.45  # simultaneous columns label their own time axes
    fig_w = left + right + max(row_width_s, rhythm_width_s) * inch_per_s + (columns - 1) * column_gap_in
    fig_h = bottom + top + n_rows_total * panel_h + (rows - 1) * row_gap + (rhythm_gap if rhythm_key else 0.0)
    fig = plt.figure(figsize=(fig_w, fig_h))
    minor = scale / 25.4 * fig.dpi >= 2.5  # a minor square spans at least 2.5 pixels

    colours = {label: _OVERLAY_COLOURS[index % len(_OVERLAY_COLOURS)] for index, (label, _) in enumerate(layers)}
    main_times = np.arange(main.signals.shape[1]) / main.fs
    band_times = np.arange(next(iter(band_by_key.values()))[0].shape[0]) / band_fs if band_by_key else None

    def panel(x0: float, y0: float, key: str, window: tuple[float, float], first: bool) -> "Axes":
        start = window[0] - (_LEAD_IN_S if first else 0.0)
        stop = window[1]
        ax = fig.add_axes(
            (x0 / fig_w, y0 / fig_h, (stop - start) * inch_per_s / fig_w, panel_h / fig_h)
        )
        grid_lines(ax, stop, low, high, minor, start=start)
        ax.set_xlim(start, stop)
        ax.set_ylim(low, high)
        for spine in ax.spines.values():
            spine.set_color(MAJOR_COLOUR)
        if not first and consecutive:
            ax.spines["left"].set_color("0.25")  # where the printer switches leads
        # Amplitude ticks strictly inside the panel: touching rows would otherwise print the top
        # label of one row over the bottom label of the row above.
        inch_per_mv = panel_h / (high - low)
        step = next((s for s in (MAJOR_MV, 1.0, 2.0, 5.0) if s * inch_per_mv >= 0.22), 10.0)
        ax.yaxis.set_major_locator(FixedLocator(np.arange(np.ceil(low / step + 1e-9) * step, high - 1e-9, step)))
        ax.tick_params(bottom=False, labelbottom=False, labelleft=first, labelsize=8, length=2)
        if first:
            calibration_t = _CALIBRATION_T + window[0]
            ax.plot(calibration_t, _CALIBRATION_MV, color="black", linewidth=1.1, zorder=3, gid="calibration")
        if key in band_by_key:
            lower, upper = band_by_key[key]
            keep = (band_times >= window[0] - 1.0 / band_fs) & (band_times <= window[1] + 1.0 / band_fs)
            ax.fill_between(
                band_times[keep], lower[keep], upper[keep], color=_BAND_COLOUR, alpha=0.55, linewidth=0, zorder=2, gid="band"
            )
        is_virtual = key in virtual_keys
        signal = main.get(key)
        if signal is not None:
            colour = VIRTUAL_COLOUR if is_virtual else TRACE_COLOUR
            _window_trace(ax, main_times, signal, window[0], window[1], color=colour, linewidth=0.9, zorder=4)
        for label, source in layers:
            values = source.get(key)
            if values is not None:
                times = np.arange(values.shape[0]) / source.fs
                _window_trace(
                    ax, times, values, window[0], window[1], color=colours[label], linewidth=0.9, alpha=0.9, zorder=5
                )
        name = plotted.get(key) or available[key]
        text_x = (_LEAD_IN_S + 0.04) / (stop - start) if first else 0.006
        panel_label(ax, f"{name}{VIRTUAL_SUFFIX}" if is_virtual else name, VIRTUAL_COLOUR if is_virtual else "black", x=text_x)
        return ax

    def time_axis(ax: "Axes", window: tuple[float, float]) -> None:
        span = window[1] - window[0]
        step = _nice_step(span, max(2.0, span * inch_per_s * 1.5))
        ax.xaxis.set_major_locator(FixedLocator(np.arange(np.ceil(window[0] / step - 1e-9) * step, window[1] + 1e-9, step)))
        ax.tick_params(bottom=True, labelbottom=True)
        ax.set_xlabel("time (s)", fontsize=9)

    axes = []
    for index, key in enumerate(keys):
        column, row = divmod(index, rows)
        x0 = left + (0.0 if column == 0 else (_LEAD_IN_S + column * segment) * inch_per_s + column * column_gap_in)
        y0 = fig_h - top - (row + 1) * panel_h - row * row_gap
        ax = panel(x0, y0, key, windows[column], column == 0)
        if row == (rows - 1) // 2 and column == 0:
            ax.set_ylabel("mV", fontsize=9)
        bottom_row = row == rows - 1 or index == len(keys) - 1
        if bottom_row and (rhythm_key is None or not consecutive):
            time_axis(ax, windows[column])
        axes.append(ax)
    if rhythm_key is not None:
        y0 = fig_h - top - rows * panel_h - (rows - 1) * row_gap - rhythm_gap - panel_h
        ax = panel(left, y0, rhythm_key, rhythm_window, True)
        time_axis(ax, rhythm_window)
        axes.append(ax)

    if has_legend:
        handles = []
        if set(keys) - virtual_keys and any(main.get(key) is not None for key in set(keys) - virtual_keys):
            handles.append(Line2D([], [], color=TRACE_COLOUR, linewidth=1.2, label="recorded"))
        if virtual_keys & set(keys):
            handles.append(Line2D([], [], color=VIRTUAL_COLOUR, linewidth=1.2, label="virtual"))
        handles += [Line2D([], [], color=colours[label], linewidth=1.2, label=label) for label, _ in layers]
        if band_by_key:
            handles.append(Patch(facecolor=_BAND_COLOUR, alpha=0.55, label=band_label))
        fig.legend(
            handles=handles,
            loc="lower right",
            bbox_to_anchor=(1.0 - right / fig_w, 1.0 - (top - 0.02) / fig_h),
            ncol=len(handles),
            fontsize=9,
            frameon=False,
            borderaxespad=0.0,
        )
    if title:
        fig.suptitle(title, x=left / fig_w, y=1.0 - 0.1 / fig_h, ha="left", va="top", fontsize=12)
    return fig
