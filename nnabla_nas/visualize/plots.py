"""Plots of a run: candidate probabilities, training curves and costs, as PNG files.

``arch_probs.csv`` holds the probability of every candidate of every choice per epoch,
one row each, with the columns ``epoch,choice,candidate,probability``; a choice is an
edge or a block (``normal/edge_3``, ``cell/edge_0``, ``block_4``). `write_probabilities`
keeps it the way `MetricsTable` keeps ``metrics.csv``: the whole file is rewritten
atomically each epoch, and a resumed run drops the rows of the epochs it repeats.

The figures: ``probs.png`` from ``arch_probs.csv`` (`plot_probabilities`), ``decision.png``
(the probabilities of its last epoch as a heatmap, each choice's most likely candidate
outlined, `plot_decision`; `decision_rows` gives the same decision as data),
``curves.png`` (losses, errors and learning rates of ``metrics.csv``, `plot_curves`),
``costs.png`` (its ``cost/*`` and ``train/arch_cost`` columns, `plot_costs`),
``tradeoff.png`` (valid accuracy against cost, epoch by epoch, `plot_tradeoff`) and
``pareto.png`` (the trials of a multi-trial search and their front, `plot_front`). Which
files of a run folder feed them is the run folder's business (`nnabla_nas.app.figures`).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import EngFormatter, MaxNLocator

from ..utils.io import write_text
from .diagrams import PALETTE, save_figure

__all__ = [
    "MAX_PANELS",
    "PROBS_COLUMNS",
    "DecisionRow",
    "History",
    "costs_figure",
    "curves_figure",
    "decision_figure",
    "decision_rows",
    "plot_costs",
    "plot_curves",
    "plot_decision",
    "plot_front",
    "plot_probabilities",
    "plot_tradeoff",
    "probabilities_figure",
    "read_metrics",
    "read_probabilities",
    "tradeoff_figure",
    "write_probabilities",
]

PROBS_COLUMNS = ("epoch", "choice", "candidate", "probability")
MAX_PANELS = 40
"""The most choices `probabilities_figure` shows; the title says when there are more."""

History = dict[str, dict[str, list[tuple[int, float]]]]
"""Probabilities by choice, then candidate: ``(epoch, probability)`` in epoch order."""

_DPI = 110
_COST_TITLES = {
    "latency": "latency (ms)",
    "latency_ms": "latency (ms)",
    "flops": "FLOPs",
    "params": "parameters",
    "memory": "memory (bytes)",
    "memory_bytes": "memory (bytes)",
}
_COUNTS = ("flops", "params", "memory", "memory_bytes")
_SPLIT_STYLES = {"train": "-", "valid": "--", "test": ":"}


# -- arch_probs.csv ---------------------------------------------------------------------

_Row = tuple[int, str, str, float]
_HistoryLike = Mapping[str, Mapping[str, Sequence[tuple[int, float]]]]


def _save(fig: Figure | None, path: str) -> str | None:
    """Writes `fig` to the PNG `path` and returns `path`; None (nothing written) without
    a figure."""
    if fig is None:
        return None
    save_figure(fig, [path], dpi=_DPI)
    return path


def _read_rows(path: str) -> list[_Row]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"probabilities file '{path}' does not exist")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in PROBS_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"probabilities file '{path}' lacks the columns {missing}; expected the header "
                f"{','.join(PROBS_COLUMNS)}"
            )
        rows = []
        for row in reader:
            try:
                epoch, p = int(row["epoch"]), float(row["probability"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"probabilities file '{path}', line {reader.line_num}: expected an int "
                    f"epoch and a float probability, got {row['epoch']!r}, "
                    f"{row['probability']!r}"
                ) from None
            rows.append((epoch, row["choice"], row["candidate"], p))
    return rows


def read_probabilities(path: str) -> History:
    """Reads ``arch_probs.csv``: choices and candidates in order of first appearance.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: a column is missing or a cell is not a number (naming the line).
    """
    by_epoch: dict[str, dict[str, dict[int, float]]] = {}
    for epoch, choice, candidate, p in _read_rows(path):
        by_epoch.setdefault(choice, {}).setdefault(candidate, {})[epoch] = p
    return {
        choice: {name: sorted(points.items()) for name, points in candidates.items()}
        for choice, candidates in by_epoch.items()
    }


def write_probabilities(
    path: str,
    epoch: int,
    probs: Mapping[str, Mapping[str, float]],
    *,
    before_epoch: int | None = None,
) -> None:
    """Sets the rows of `epoch` in ``arch_probs.csv`` and rewrites the file atomically.

    Rows of `epoch` already in the file are replaced. With `before_epoch` (the first epoch
    of a resumed run), rows of epochs at or after it are dropped first, as `MetricsTable`
    does for ``metrics.csv``.

    Args:
        probs: by choice, the probability of each candidate (e.g. from ``arch_probs()``
            with the candidate names).
    """
    rows = _read_rows(path) if os.path.exists(path) else []
    rows = [r for r in rows if r[0] != epoch and (before_epoch is None or r[0] < before_epoch)]
    rows += [
        (int(epoch), str(choice), str(name), float(p))
        for choice, candidates in probs.items()
        for name, p in candidates.items()
    ]
    rows.sort(key=lambda r: r[0])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PROBS_COLUMNS)
    writer.writerows((e, choice, name, repr(p)) for e, choice, name, p in rows)
    write_text(path, out.getvalue())


def _candidate_colors(names: Sequence[str], given: Mapping[str, str]) -> dict[str, str]:
    """A distinct colour per name: its `given` one when free, else the next unused."""
    colors: dict[str, str] = {}
    for name in names:
        if name in given and given[name] not in colors.values():
            colors[name] = given[name]
    spare = (c for c in PALETTE if c not in colors.values())
    for name in names:
        if name not in colors:
            colors[name] = next(spare, "#000000")
    return {name: colors[name] for name in names}


def probabilities_figure(
    history: Mapping[str, Mapping[str, Sequence[tuple[int, float]]]],
    colors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Figure | None:
    """One panel per choice (the first `MAX_PANELS`), titled by its `labels` entry (its
    name without one), one line per candidate, a candidate in the same colour in every
    panel (its `colors` one when given); None when `history` is empty."""
    choices = [c for c in history if any(history[c].values())]
    if not choices:
        return None
    shown = choices[:MAX_PANELS]
    n = len(shown)
    ncols = min(n, math.ceil(math.sqrt(n * 4 / 3)))
    nrows = math.ceil(n / ncols)
    names = list(dict.fromkeys(name for c in shown for name in history[c]))
    colors = _candidate_colors(names, colors or {})
    # A fixed layout in inches: a layout engine would double the cost of drawing the figure
    # after every epoch (about 2 s of 4 for 28 panels).
    rows = math.ceil(len(names) / 8)
    margin = {"left": 0.55, "right": 0.15, "top": 0.5, "bottom": 0.5 + 0.22 * rows}
    width, height = 2.4 * ncols + 0.6, 1.75 * nrows + 0.4 + margin["bottom"]
    fig = Figure(figsize=(width, height), dpi=_DPI)
    fig.subplots_adjust(
        left=margin["left"] / width, right=1 - margin["right"] / width,
        bottom=margin["bottom"] / height, top=1 - margin["top"] / height,
        wspace=0.12, hspace=0.45,
    )  # fmt: skip
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.set_visible(False)
            continue
        for name, points in history[shown[k]].items():
            if not points:
                continue
            epochs, values = zip(*points, strict=True)
            marker = "o" if len(points) == 1 else None
            ax.plot(epochs, values, color=colors[name], lw=1.4, marker=marker, ms=3)
        ax.set_title((labels or {}).get(shown[k], shown[k]), fontsize=8)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if k + ncols >= n:  # nothing below: this panel carries the epoch axis
            ax.tick_params(labelbottom=True)
            ax.set_xlabel("epoch", fontsize=8)
        if k % ncols == 0:
            ax.set_ylabel("probability", fontsize=8)
    handles = [Line2D([], [], color=colors[name], lw=2, label=name) for name in names]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(names), 8), fontsize=8,
               frameon=False, bbox_to_anchor=(0.5, 0.0))  # fmt: skip
    title = "Candidate probabilities per epoch"
    if len(choices) > n:
        title += f" (first {n} of {len(choices)} choices)"
    fig.suptitle(title, fontsize=11)
    return fig


def plot_probabilities(
    history: str | History,
    path: str,
    colors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str | None:
    """Writes `probabilities_figure` of `history` (or of the ``arch_probs.csv`` it names)
    to the PNG `path`; returns `path`, or None when there is nothing to plot."""
    data = read_probabilities(history) if isinstance(history, str) else history
    return _save(probabilities_figure(data, colors, labels), path)


# -- the decision -----------------------------------------------------------------------

_OUTLINE = "#111111"  # dark: no space colours a candidate so (PALETTE, COLORS)


@dataclass(frozen=True)
class DecisionRow:
    """What one choice decides at the last epoch of ``arch_probs.csv``: its most likely
    candidate, and by how much it leads the next one."""

    choice: str
    label: str
    epoch: int
    chosen: str
    probability: float
    #: The second most likely candidate, None for a choice of one candidate.
    runner_up: str | None
    #: Its probability, 0 without one.
    runner_up_probability: float
    #: ``probability - runner_up_probability``.
    margin: float


def _last_epoch(history: _HistoryLike) -> tuple[int, dict[str, dict[str, float]]] | None:
    """The last epoch of `history` and, by choice, the probability of each candidate at
    it; choices without a probability at that epoch are left out. None when empty."""
    epochs = [e for candidates in history.values() for points in candidates.values()
              for e, _ in points]  # fmt: skip
    if not epochs:
        return None
    last = max(epochs)
    probs: dict[str, dict[str, float]] = {}
    for choice, candidates in history.items():
        at = {name: p for name, points in candidates.items() for e, p in points if e == last}
        if at:
            probs[choice] = at
    return last, probs


def decision_rows(
    history: _HistoryLike, labels: Mapping[str, str] | None = None
) -> list[DecisionRow]:
    """The decision of every choice at the last epoch of `history`, in the order of the
    choices: the candidate of largest probability (the first of equal ones) and the
    runner-up. `labels` names the choices (a choice not in it keeps its name); empty
    when `history` holds no probability."""
    found = _last_epoch(history)
    if found is None:
        return []
    epoch, probs = found
    rows = []
    for choice, candidates in probs.items():
        ranked = sorted(candidates.items(), key=lambda item: -item[1])  # stable: ties in order
        chosen, p = ranked[0]
        runner_up, q = ranked[1] if len(ranked) > 1 else (None, 0.0)
        label = (labels or {}).get(choice, choice)
        rows.append(DecisionRow(choice, label, epoch, chosen, p, runner_up, q, p - q))
    return rows


def _margin_text(margin: float) -> str:
    return "<0.001" if 0 < margin < 0.0005 else f"{margin:.3f}"


def decision_figure(
    history: _HistoryLike,
    labels: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure | None:
    """The probabilities of the last epoch of `history` as a heatmap: a row per choice
    (named by `labels`), a column per candidate of any choice (blank where a choice lacks
    it, a strip of its `colors` one on top), every cell annotated, the most likely
    candidate of each row outlined and, at the row's end, its margin over the runner-up.
    The height grows with the rows, so 28 DARTS edges stay readable. None when `history`
    holds no probability."""
    found = _last_epoch(history)
    if found is None:
        return None
    epoch, probs = found
    rows = decision_rows(history, labels)
    names = list(dict.fromkeys(name for candidates in probs.values() for name in candidates))
    colors = _candidate_colors(names, colors or {})
    grid = np.full((len(rows), len(names)), np.nan)
    for i, row in enumerate(rows):
        for name, p in probs[row.choice].items():
            grid[i, names.index(name)] = p
    # A fixed layout in inches, as in `probabilities_figure`.
    cell_w, cell_h = 0.78, 0.3
    longest = max(len(name) for name in names)
    left = 0.3 + 0.062 * max(len(row.label) for row in rows)
    top, bottom, right = 0.75 + 0.042 * longest, 0.85, 0.9
    width = max(left + cell_w * len(names) + right, 5.6)  # room for the title
    height = top + cell_h * len(rows) + bottom
    fig = Figure(figsize=(width, height), dpi=_DPI)
    box = (left / width, bottom / height, cell_w * len(names) / width, cell_h * len(rows) / height)
    ax = fig.add_axes(box)
    cmap = colormaps["Blues"]
    mesh = ax.pcolormesh(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.0, vmax=1.0,
                         edgecolors="white", linewidth=1.0)  # fmt: skip
    ax.set_xlim(0, len(names))
    ax.set_ylim(len(rows), 0)
    for i, row in enumerate(rows):
        for j in range(len(names)):
            if np.isnan(grid[i, j]):
                continue
            ink = "white" if grid[i, j] > 0.6 else "#222222"
            ax.text(j + 0.5, i + 0.5, f"{grid[i, j]:.3f}", ha="center", va="center",
                    fontsize=7, color=ink)  # fmt: skip
        chosen = names.index(row.chosen)
        ax.add_patch(Rectangle((chosen + 0.04, i + 0.06), 0.92, 0.88, fill=False,
                               ec=_OUTLINE, lw=1.8, zorder=3))  # fmt: skip
        ax.text(len(names) + 0.12, i + 0.5, _margin_text(row.margin), ha="left", va="center",
                fontsize=7, color="#222222", clip_on=False)  # fmt: skip
    for j, name in enumerate(names):  # the candidates' colours, above their columns
        ax.add_patch(Rectangle((j + 0.06, -0.42), 0.88, 0.3, fc=colors[name], ec="none",
                               clip_on=False))  # fmt: skip
    ax.text(len(names) + 0.12, -0.27, "p1 - p2", ha="left", va="center", fontsize=7,
            color="#555555", clip_on=False)  # fmt: skip
    ax.xaxis.tick_top()
    ax.set_xticks([j + 0.5 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=40, ha="left", rotation_mode="anchor", fontsize=7.5)
    ax.set_yticks([i + 0.5 for i in range(len(rows))])
    ax.set_yticklabels([row.label for row in rows], fontsize=8)
    for text in ax.get_yticklabels():
        text.set_parse_math(False)  # labels such as 'c_{k-1}' are text, not TeX
    ax.tick_params(length=0, pad=2)
    ax.tick_params(axis="x", pad=11)
    for spine in ax.spines.values():
        spine.set_visible(False)
    cax = fig.add_axes((left / width, 0.45 / height, min(3.0, cell_w * len(names)) / width,
                        0.12 / height))  # fmt: skip
    bar = fig.colorbar(mesh, cax=cax, orientation="horizontal")
    bar.set_label("probability", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    fig.suptitle(f"Decision at epoch {epoch}: the most likely candidate of each choice "
                 "(outlined)", fontsize=10, y=1 - 0.12 / height)  # fmt: skip
    return fig


def plot_decision(
    history: str | History,
    path: str,
    labels: Mapping[str, str] | None = None,
    colors: Mapping[str, str] | None = None,
) -> str | None:
    """Writes `decision_figure` of `history` (or of the ``arch_probs.csv`` it names) to
    the PNG `path`; returns `path`, or None when there is nothing to plot."""
    data = read_probabilities(history) if isinstance(history, str) else history
    return _save(decision_figure(data, labels, colors), path)


# -- metrics.csv ------------------------------------------------------------------------


def read_metrics(path: str) -> dict[str, list[tuple[float, float]]]:
    """The ``(epoch, value)`` points of each column of ``metrics.csv`` but ``epoch``, in
    column order; empty, NaN and non-numeric cells are left out (the row index stands in
    for a missing epoch).

    Raises:
        FileNotFoundError: `path` does not exist.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"metrics file '{path}' does not exist")
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        columns: dict[str, list[tuple[float, float]]] = {
            c: [] for c in (reader.fieldnames or []) if c and c != "epoch"
        }
        for index, row in enumerate(reader):
            epoch = _number(row.get("epoch"))
            x = float(index + 1) if epoch is None else epoch
            for column, points in columns.items():
                value = _number(row.get(column))
                if value is not None:
                    points.append((x, value))
    return columns


def _number(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _panels_figure(
    panels: Sequence[tuple[str, Sequence[str]]],
    columns: Mapping[str, Sequence[tuple[float, float]]],
    title: str,
    ncols: int,
    style: Callable[[Any, Sequence[str]], None],
) -> Figure:
    nrows = math.ceil(len(panels) / ncols)
    ncols = min(ncols, len(panels))
    fig = Figure(figsize=(4.0 * ncols, 2.9 * nrows + 0.5), dpi=_DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        name, keys = panels[k]
        for i, key in enumerate(keys):
            x, y = zip(*columns[key], strict=True)
            split = key.split("/", 1)[0]
            ax.plot(x, y, label=key, color=f"C{i}", lw=1.5,
                    linestyle=_SPLIT_STYLES.get(split, "-"),
                    marker="o" if len(x) <= 1 else None, ms=3)  # fmt: skip
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        style(ax, keys)
    fig.suptitle(title, fontsize=11)
    return fig


def curves_figure(metrics_csv: str) -> Figure | None:
    """Panels of the ``*/loss`` and ``*/error`` columns (train solid, valid dashed, test
    dotted) and of the ``lr/*`` columns; None when ``metrics.csv`` has none of them."""
    columns = {k: v for k, v in read_metrics(metrics_csv).items() if v}
    panels = [
        ("loss", [c for c in columns if c.endswith("/loss")]),
        ("error", [c for c in columns if c.endswith("/error")]),
        ("learning rate", [c for c in columns if c.startswith("lr/")]),
    ]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        return None

    def style(ax: Any, keys: Sequence[str]) -> None:
        ax.legend(fontsize=7)

    return _panels_figure(panels, columns, "Training curves", len(panels), style)


def _cost_title(key: str) -> str:
    if key == "train/arch_cost":
        return "searched cost (train/arch_cost)"
    name = key.split("/", 1)[1]
    return _COST_TITLES.get(name, name)


def costs_figure(metrics_csv: str) -> Figure | None:
    """One panel per ``cost/*`` column and for ``train/arch_cost``; None without any."""
    columns = {k: v for k, v in read_metrics(metrics_csv).items() if v}
    keys = [c for c in columns if c.startswith("cost/")]
    keys += [c for c in columns if c == "train/arch_cost"]
    if not keys:
        return None
    panels = [(_cost_title(k), [k]) for k in keys]

    def style(ax: Any, keys: Sequence[str]) -> None:
        if all(k.split("/", 1)[1] in _COUNTS for k in keys):
            ax.yaxis.set_major_formatter(EngFormatter())
        else:
            ax.ticklabel_format(axis="y", useOffset=False)

    return _panels_figure(panels, columns, "Cost of the most likely architecture", 3, style)


def plot_curves(metrics_csv: str, path: str) -> str | None:
    """Writes `curves_figure` to the PNG `path`; returns `path`, or None (nothing written)
    when there is nothing to plot."""
    return _save(curves_figure(metrics_csv), path)


def plot_costs(metrics_csv: str, path: str) -> str | None:
    """Writes `costs_figure` to the PNG `path`; returns `path`, or None (nothing written)
    when ``metrics.csv`` has no cost column."""
    return _save(costs_figure(metrics_csv), path)


def _labelled(n: int, most: int = 6) -> list[int]:
    """The indices of `n` points to label: the first, the last and evenly spaced ones
    between them, `most` in all at most."""
    return sorted({round(float(k)) for k in np.linspace(0, n - 1, min(n, most))})


def tradeoff_figure(metrics_csv: str) -> Figure | None:
    """Valid accuracy (``1 - valid/error``, in %) against cost, one point per epoch joined
    in epoch order and labelled with its epoch (the first, the last and a few between):
    one panel for ``cost/latency`` when the search has one, else one per ``cost/*``
    column. None without ``valid/error`` or a cost."""
    columns = {k: v for k, v in read_metrics(metrics_csv).items() if v}
    error = dict(columns.get("valid/error", []))
    keys = [c for c in columns if c.startswith("cost/")]
    keys = [k for k in keys if k.split("/", 1)[1] in ("latency", "latency_ms")] or keys
    panels = []
    for key in keys:
        points = [(epoch, cost, 100 * (1 - error[epoch])) for epoch, cost in columns[key]
                  if epoch in error]  # fmt: skip
        if points:
            panels.append((key, points))
    if not panels:
        return None
    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    # At least 5 inches wide, so that the title fits above a single panel.
    width = max(4.0 * ncols, 5.0)
    fig = Figure(figsize=(width, 3.2 * nrows + 0.7), dpi=_DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(panels):
            ax.set_visible(False)
            continue
        key, points = panels[k]
        epochs, x, y = (list(v) for v in zip(*points, strict=True))
        ax.plot(x, y, color="#9a9a9a", lw=1.0, zorder=1)
        ax.scatter(x, y, c=epochs, cmap="viridis", s=24, zorder=2, edgecolors="none")
        ax.scatter(x[-1:], y[-1:], s=70, facecolors="none", edgecolors="#222222", lw=1.2,
                   zorder=3)  # fmt: skip
        for i in _labelled(len(points)):
            ax.annotate(f"{epochs[i]:g}", (x[i], y[i]), xytext=(4, 4), textcoords="offset points",
                        fontsize=7, color="#333333")  # fmt: skip
        ax.set_xlabel(_cost_title(key), fontsize=9)
        ax.set_ylabel("valid accuracy (%)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if key.split("/", 1)[1] in _COUNTS:
            ax.xaxis.set_major_formatter(EngFormatter())
        ax.margins(0.12)
    fig.suptitle("Valid accuracy against cost over the epochs\n(labels: epoch; ring: the last)",
                 fontsize=11)  # fmt: skip
    return fig


def plot_tradeoff(metrics_csv: str, path: str) -> str | None:
    """Writes `tradeoff_figure` to the PNG `path`; returns `path`, or None (nothing
    written) without ``valid/error`` or a cost column."""
    return _save(tradeoff_figure(metrics_csv), path)


# -- multi-trial ------------------------------------------------------------------------


def plot_front(
    path: str,
    points: Sequence[tuple[float, float]],
    front: Sequence[tuple[float, float]],
    budget: float | None = None,
) -> str:
    """Writes ``pareto.png``: every trial's ``(latency, accuracy)``, the Pareto front as a
    staircase, and the latency budget as a dashed line; returns `path`."""
    fig = Figure(figsize=(6, 4), dpi=120, layout="constrained")
    ax = fig.subplots()
    if points:
        latency, accuracy = zip(*points, strict=True)
        ax.scatter(latency, accuracy, s=8, alpha=0.4, label="trials")
    if front:
        ax.step(*zip(*sorted(front), strict=True), where="post", color="C3", label="Pareto front")
    if budget is not None:
        ax.axvline(budget, color="k", linestyle="--", linewidth=1, label="latency budget")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy (%)")
    if points or front or budget is not None:
        ax.legend(loc="lower right")
    save_figure(fig, [path], dpi=120)
    return path
