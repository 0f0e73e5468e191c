import dataclasses
import io
import os

import numpy as np
import pytest
from figure_checks import has_color, png
from matplotlib import _pylab_helpers
from matplotlib.colors import to_hex
from matplotlib.image import imread
from matplotlib.patches import Rectangle

from nnabla_nas.contrib.darts.diagram import COLORS
from nnabla_nas.contrib.mobilenet.diagram import COLORS as MOBILENET_COLORS
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize import plots
from nnabla_nas.visualize.diagrams import PALETTE
from nnabla_nas.visualize.plots import (
    MAX_PANELS,
    DecisionRow,
    costs_figure,
    curves_figure,
    decision_figure,
    decision_rows,
    plot_costs,
    plot_curves,
    plot_decision,
    plot_probabilities,
    plot_tradeoff,
    probabilities_figure,
    read_metrics,
    read_probabilities,
    tradeoff_figure,
    write_probabilities,
)

CANDIDATES = ["sep_conv_3x3", "skip_connect", "max_pool_3x3", "my_op"]

METRICS = """\
epoch,lr/weights,lr/arch,train/loss,train/error,valid/loss,valid/error
0,0.05,0.003,1.7,0.56,2.7,0.83
1,0.048,0.003,0.44,0.14,,0.19
2,0.043,0.003,0.14,0.034,nan,0.14
3,0.035,0.003,0.05,0.008,0.16,0.04
"""

COSTS = """\
epoch,train/loss,valid/error,cost/flops,cost/params,cost/memory,cost/latency,train/arch_cost
0,2.3,0.9,982026.0,77498.0,368424.0,0.63,
1,2.2,0.8,982026.0,77498.0,368424.0,0.63,
2,1.9,0.7,600000.0,57000.0,283000.0,0.33,28.6
3,1.7,0.6,600000.0,57000.0,283000.0,0.33,23.2
"""


def epoch_probs(epoch, choices=("normal/edge_0", "normal/edge_1", "block_2")):
    """Probabilities that differ per epoch and choice, summing to 1 per choice."""
    out = {}
    for c, choice in enumerate(choices):
        logits = np.sin(np.arange(len(CANDIDATES)) * (c + 1) + epoch)
        p = np.exp(logits) / np.exp(logits).sum()
        out[choice] = {name: float(v) for name, v in zip(CANDIDATES, p, strict=True)}
    return out


def write(path, text):
    path.write_text(text)
    return str(path)


def visible_axes(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_probabilities_round_trip(tmp_path):
    path = str(tmp_path / "run" / "arch_probs.csv")
    for epoch in range(3):
        write_probabilities(path, epoch, epoch_probs(epoch))
    history = read_probabilities(path)
    assert list(history) == ["normal/edge_0", "normal/edge_1", "block_2"]
    for choice, candidates in history.items():
        assert list(candidates) == CANDIDATES
        for name, points in candidates.items():
            assert points == [(e, epoch_probs(e)[choice][name]) for e in range(3)]
    lines = open(path).read().splitlines()
    assert lines[0] == "epoch,choice,candidate,probability"
    assert len(lines) == 1 + 3 * 3 * len(CANDIDATES)
    assert lines[1].startswith("0,normal/edge_0,sep_conv_3x3,")
    assert os.listdir(tmp_path / "run") == ["arch_probs.csv"]


def test_writing_an_epoch_again_replaces_it_and_a_resume_truncates(tmp_path):
    path = str(tmp_path / "arch_probs.csv")
    for epoch in range(4):
        write_probabilities(path, epoch, epoch_probs(epoch))
    changed = {"normal/edge_0": {"sep_conv_3x3": 1.0, "skip_connect": 0.0}}
    write_probabilities(path, 1, changed)
    history = read_probabilities(path)
    assert [e for e, _ in history["normal/edge_0"]["sep_conv_3x3"]] == [0, 1, 2, 3]
    assert history["normal/edge_0"]["sep_conv_3x3"][1] == (1, 1.0)
    assert [e for e, _ in history["block_2"]["my_op"]] == [0, 2, 3]

    # A run resumed at epoch 2 drops epochs 2 and 3 before writing its epoch 2.
    write_probabilities(path, 2, changed, before_epoch=2)
    history = read_probabilities(path)
    assert [e for e, _ in history["normal/edge_0"]["sep_conv_3x3"]] == [0, 1, 2]
    assert [e for e, _ in history["block_2"]["my_op"]] == [0]
    epochs = [int(line.split(",")[0]) for line in open(path).read().splitlines()[1:]]
    assert epochs == sorted(epochs)
    # Resuming at epoch 1 while writing epoch 1 keeps epoch 0 only, then adds epoch 1.
    write_probabilities(path, 1, epoch_probs(1), before_epoch=1)
    history = read_probabilities(path)
    assert [e for e, _ in history["block_2"]["my_op"]] == [0, 1]


def test_reading_bad_probability_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"probabilities file .* does not exist"):
        read_probabilities(str(tmp_path / "missing.csv"))
    bad = write(tmp_path / "a.csv", "epoch,choice,probability\n0,e,0.5\n")
    with pytest.raises(ValueError, match=r"lacks the columns \['candidate'\]"):
        read_probabilities(bad)
    bad = write(tmp_path / "b.csv", "epoch,choice,candidate,probability\n0,e,c,0.5\n1,e,c,x\n")
    with pytest.raises(ValueError, match="line 3: expected an int epoch and a float"):
        read_probabilities(bad)
    with pytest.raises(ValueError, match="line 3"):
        write_probabilities(bad, 2, {"e": {"c": 0.1}})


def test_plot_probabilities(tmp_path):
    path = str(tmp_path / "arch_probs.csv")
    for epoch in range(5):
        write_probabilities(path, epoch, epoch_probs(epoch))
    out = str(tmp_path / "figures" / "probs.png")
    assert plot_probabilities(path, out, colors=get_space("darts").colors) == out
    packed = png(out)
    assert packed.shape[1] > packed.shape[0]
    for name in CANDIDATES[:3]:
        assert has_color(packed, COLORS[name]), name
    assert os.listdir(tmp_path / "figures") == ["probs.png"]
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0

    fig = probabilities_figure(read_probabilities(path), COLORS)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["normal/edge_0", "normal/edge_1", "block_2"]
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == CANDIDATES
    colors = [to_hex(h.get_color()) for h in legend.legend_handles]
    assert colors[:3] == [COLORS[name] for name in CANDIDATES[:3]]
    assert colors[3] in PALETTE  # 'my_op' has no colour of the space
    assert len(set(colors)) == len(CANDIDATES)
    for ax in axes:
        assert [to_hex(line.get_color()) for line in ax.get_lines()] == colors
        assert all(len(line.get_xdata()) == 5 for line in ax.get_lines())
    assert fig.get_suptitle() == "Candidate probabilities per epoch"
    # A space's names of its choices title the panels; a choice it does not name keeps its own.
    labels = {"normal/edge_0": "normal n0 <- c_{k-2}", "normal/edge_1": "normal n0 <- c_{k-1}"}
    named = visible_axes(probabilities_figure(read_probabilities(path), COLORS, labels))
    assert [ax.get_title() for ax in named] == [*labels.values(), "block_2"]


def test_probabilities_colors_come_from_the_caller(tmp_path):
    history = {"block_0": {"k3_e3": [(0, 0.4), (1, 0.7)], "skip": [(0, 0.6), (1, 0.3)]}}
    mine = {"k3_e3": "#123456", "skip": "#abcdef"}
    out = str(tmp_path / "probs.png")
    assert plot_probabilities(history, out, colors=mine) == out
    packed = png(out, min_colors=10)
    assert has_color(packed, "#123456") and has_color(packed, "#abcdef")
    assert not has_color(packed, MOBILENET_COLORS["k3_e3"], count=1)

    def legend_colors(colors):
        fig = probabilities_figure(history, colors)
        return [to_hex(h.get_color()) for h in fig.legends[0].legend_handles]

    assert legend_colors(mine) == ["#123456", "#abcdef"]
    assert legend_colors(MOBILENET_COLORS) == [MOBILENET_COLORS["k3_e3"], MOBILENET_COLORS["skip"]]
    # Without colours, the candidates take the palette in order.
    assert legend_colors(None) == legend_colors({}) == PALETTE[:2]


def test_probabilities_grid_is_capped(tmp_path):
    choices = [f"normal/edge_{k}" for k in range(MAX_PANELS + 5)]
    history = {c: {"a": [(0, 0.3), (1, 0.4)], "b": [(0, 0.7), (1, 0.6)]} for c in choices}
    fig = probabilities_figure(history)
    assert len(visible_axes(fig)) == MAX_PANELS
    assert f"first {MAX_PANELS} of {MAX_PANELS + 5} choices" in fig.get_suptitle()
    assert probabilities_figure({}) is None
    assert plot_probabilities({}, str(tmp_path / "p.png")) is None
    assert not os.listdir(tmp_path)


def test_read_metrics_skips_empty_and_nan_cells(tmp_path):
    columns = read_metrics(write(tmp_path / "metrics.csv", METRICS))
    assert list(columns) == [
        "lr/weights", "lr/arch", "train/loss", "train/error", "valid/loss", "valid/error",
    ]  # fmt: skip
    assert columns["valid/loss"] == [(0.0, 2.7), (3.0, 0.16)]
    assert [x for x, _ in columns["train/loss"]] == [0.0, 1.0, 2.0, 3.0]
    with pytest.raises(FileNotFoundError, match="metrics file"):
        read_metrics(str(tmp_path / "missing.csv"))


def test_plot_curves(tmp_path):
    metrics = write(tmp_path / "metrics.csv", METRICS)
    out = str(tmp_path / "f" / "curves.png")
    assert plot_curves(metrics, out) == out
    png(out)
    fig = curves_figure(metrics)
    axes = visible_axes(fig)
    assert [ax.get_title() for ax in axes] == ["loss", "error", "learning rate"]
    loss = {line.get_label(): line for line in axes[0].get_lines()}
    assert sorted(loss) == ["train/loss", "valid/loss"]
    assert list(loss["valid/loss"].get_xdata()) == [0.0, 3.0]
    assert loss["train/loss"].get_linestyle() == "-" and loss["valid/loss"].get_linestyle() == "--"

    no_lr = write(tmp_path / "no_lr.csv", "epoch,train/loss,train/error\n0,1.0,0.5\n1,0.5,0.25\n")
    assert [ax.get_title() for ax in visible_axes(curves_figure(no_lr))] == ["loss", "error"]
    loss_only = write(tmp_path / "loss.csv", "epoch,train/loss,valid/error\n0,1.0,\n1,0.5,nan\n")
    assert [ax.get_title() for ax in visible_axes(curves_figure(loss_only))] == ["loss"]
    nothing = write(tmp_path / "none.csv", "epoch,cost/flops\n0,10\n")
    assert plot_curves(nothing, str(tmp_path / "none.png")) is None
    assert not (tmp_path / "none.png").exists()


def test_plot_costs(tmp_path):
    metrics = write(tmp_path / "metrics.csv", METRICS)
    assert costs_figure(metrics) is None
    assert plot_costs(metrics, str(tmp_path / "costs.png")) is None
    assert not (tmp_path / "costs.png").exists()

    costs = write(tmp_path / "costs.csv", COSTS)
    out = str(tmp_path / "costs.png")
    assert plot_costs(costs, out) == out
    png(out)
    axes = visible_axes(costs_figure(costs))
    assert [ax.get_title() for ax in axes] == [
        "FLOPs", "parameters", "memory (bytes)", "latency (ms)", "searched cost (train/arch_cost)",
    ]  # fmt: skip
    assert list(axes[-1].get_lines()[0].get_xdata()) == [2.0, 3.0]


def test_candidate_colors_are_distinct():
    # 'skip' (MobileNetV2) and 'skip_connect' (DARTS) share a colour: the first keeps it.
    given = {**COLORS, **MOBILENET_COLORS}
    assert given["skip_connect"] == given["skip"]
    colors = plots._candidate_colors(["skip_connect", "skip", "a", "b", "sep_conv_3x3"], given)
    assert list(colors) == ["skip_connect", "skip", "a", "b", "sep_conv_3x3"]
    assert colors["skip_connect"] == COLORS["skip_connect"]
    assert colors["sep_conv_3x3"] == COLORS["sep_conv_3x3"]
    assert colors["skip"] != COLORS["skip_connect"]
    assert len(set(colors.values())) == 5
    assert plots._candidate_colors(["a", "b"], {}) == {"a": PALETTE[0], "b": PALETTE[1]}


# -- the decision -----------------------------------------------------------------------

# Epoch 0 decides otherwise than epoch 1, the last; the values are exact in binary.
DECISION = {
    "normal/edge_0": {
        "sep_conv_3x3": [(0, 0.625), (1, 0.125)],
        "skip_connect": [(0, 0.25), (1, 0.625)],
        "none": [(0, 0.125), (1, 0.25)],
    },
    # A tie: the first candidate in the history's order wins, though not the first by name.
    "normal/edge_1": {
        "skip_connect": [(0, 0.5), (1, 0.375)],
        "max_pool_3x3": [(0, 0.25), (1, 0.375)],
        "my_op": [(0, 0.25), (1, 0.25)],
    },
    "block_2": {"k3_e3": [(0, 1.0), (1, 1.0)]},  # one candidate
    "reduce/edge_0": {"sep_conv_3x3": [(0, 0.5)], "none": [(0, 0.5)]},  # not at epoch 1
}
LABELS = {"normal/edge_0": "normal n0 <- c_{k-2}", "normal/edge_1": "normal n0 <- c_{k-1}"}


def test_decision_rows_at_the_last_epoch():
    rows = decision_rows(DECISION, LABELS)
    assert rows == [
        DecisionRow("normal/edge_0", "normal n0 <- c_{k-2}", 1, "skip_connect", 0.625,
                    "none", 0.25, 0.375),
        DecisionRow("normal/edge_1", "normal n0 <- c_{k-1}", 1, "skip_connect", 0.375,
                    "max_pool_3x3", 0.375, 0.0),
        DecisionRow("block_2", "block_2", 1, "k3_e3", 1.0, None, 0.0, 1.0),
    ]  # fmt: skip
    # The points of a candidate may come in any order; without labels, the names stay.
    shuffled = {
        c: {n: points[::-1] for n, points in cands.items()} for c, cands in DECISION.items()
    }
    assert decision_rows(shuffled) == [
        DecisionRow(r.choice, r.choice, *dataclasses.astuple(r)[2:]) for r in rows
    ]
    # Only the first epoch: the one choice of two candidates there, tied.
    first = {c: {n: p[:1] for n, p in cands.items()} for c, cands in DECISION.items()}
    assert [(r.choice, r.chosen, r.runner_up, r.margin) for r in decision_rows(first)] == [
        ("normal/edge_0", "sep_conv_3x3", "skip_connect", 0.375),
        ("normal/edge_1", "skip_connect", "max_pool_3x3", 0.25),
        ("block_2", "k3_e3", None, 1.0),
        ("reduce/edge_0", "sep_conv_3x3", "none", 0.0),
    ]  # fmt: skip
    assert decision_rows({}) == decision_rows({"e": {}}) == decision_rows({"e": {"a": []}}) == []


def outlined(ax):
    """The (row, column) of each outlined cell of a decision heatmap, top to bottom."""
    boxes = [p for p in ax.patches if isinstance(p, Rectangle) and not p.get_fill()]
    return [(int(p.get_y()), int(p.get_x())) for p in boxes]


def test_decision_figure_outlines_the_chosen_candidate_of_each_row():
    fig = decision_figure(DECISION, LABELS, COLORS)
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == ["sep_conv_3x3", "skip_connect", "none", "max_pool_3x3", "my_op", "k3_e3"]
    assert outlined(ax) == [(0, 1), (1, 1), (2, 5)]
    assert [t.get_text() for t in ax.get_yticklabels()] == [*LABELS.values(), "block_2"]
    grid = ax.collections[0].get_array()
    assert grid.shape == (3, 6)
    assert grid[0].tolist() == [0.125, 0.625, 0.25, None, None, None]  # blank: not a candidate
    assert grid[2].mask.tolist() == [True] * 5 + [False]
    # Each row ends with its margin; the strip above a column is its candidate's colour.
    margins = [t.get_text() for t in ax.texts if t.get_position()[0] == len(names) + 0.12]
    assert margins == ["0.375", "0.000", "1.000", "p1 - p2"]
    strips = [to_hex(p.get_facecolor()) for p in ax.patches if p.get_fill()]
    assert strips[:4] == [COLORS[n] for n in names[:4]]
    assert len(set(strips)) == len(names) and set(strips[4:]) <= set(PALETTE)
    assert fig.get_suptitle().startswith("Decision at epoch 1:")
    # Probabilities of a row but the chosen one are annotated with 3 decimals.
    row = [t.get_text() for t in ax.texts if t.get_position()[1] == 0.5]
    assert row[:3] == ["0.125", "0.625", "0.250"]


def test_decision_labels_are_text_not_mathtext(tmp_path):
    # A label that mathtext could not parse still draws, character for character.
    labels = {**LABELS, "block_2": r"$\notacommand$ <- c_{k-1}"}
    fig = decision_figure(DECISION, labels)
    fig.savefig(io.BytesIO(), format="png")
    ticks = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in ticks] == list(labels.values())
    assert not any(t.get_parse_math() for t in ticks)
    out = str(tmp_path / "decision.png")
    assert plot_decision(DECISION, out, labels) == out


def test_plot_decision_writes_a_png_that_grows_with_the_rows(tmp_path):
    path = str(tmp_path / "arch_probs.csv")
    for epoch in range(2):
        write_probabilities(path, epoch, epoch_probs(epoch))
    out = str(tmp_path / "figures" / "decision.png")
    assert plot_decision(path, out, colors=COLORS) == out
    packed = png(out)
    for name in CANDIDATES[:2]:  # the colour strip above the columns
        assert has_color(packed, COLORS[name]), name
    # 14 rows instead of 3, the same longest candidate name: 11 rows of 0.3 inches more.
    many = str(tmp_path / "figures" / "many.png")
    history = {f"normal/edge_{k}": DECISION["normal/edge_0"] for k in range(14)}
    assert plot_decision(history, many) == many
    few, lots = imread(out), imread(many)
    assert lots.shape[0] - few.shape[0] == pytest.approx(11 * 0.3 * 110, abs=2)
    assert decision_figure({}) is None and decision_figure({"e": {"a": []}}) is None
    assert plot_decision({}, str(tmp_path / "none.png")) is None
    assert sorted(os.listdir(tmp_path / "figures")) == ["decision.png", "many.png"]
    assert not (tmp_path / "none.png").exists()
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


# -- valid accuracy against cost ----------------------------------------------------------


def points_of(ax, expected, ring=0):
    """Whether the points of `ax` are `expected` (``ring=1``: the ringed ones)."""
    np.testing.assert_allclose(ax.collections[ring].get_offsets(), expected)
    return True


def test_tradeoff_prefers_the_latency(tmp_path):
    costs = write(tmp_path / "metrics.csv", COSTS)
    out = str(tmp_path / "f" / "tradeoff.png")
    assert plot_tradeoff(costs, out) == out
    png(out)
    fig = tradeoff_figure(costs)
    (ax,) = visible_axes(fig)
    assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "valid accuracy (%)"
    expected = [(0.63, 10.0), (0.63, 20.0), (0.33, 30.0), (0.33, 40.0)]
    assert points_of(ax, expected)
    assert [t.get_text() for t in ax.texts] == ["0", "1", "2", "3"]
    # The last epoch is ringed; a column named latency_ms is a latency as well.
    assert points_of(ax, expected[-1:], ring=1)
    ms = write(tmp_path / "ms.csv", COSTS.replace("cost/latency", "cost/latency_ms"))
    assert [a.get_xlabel() for a in visible_axes(tradeoff_figure(ms))] == ["latency (ms)"]


NO_LATENCY = """\
epoch,train/loss,valid/error,cost/flops,cost/params,cost/memory,train/arch_cost
0,2.3,0.9,982026.0,77498.0,368424.0,
1,2.2,,982026.0,77498.0,368424.0,
2,1.9,0.7,600000.0,57000.0,283000.0,28.6
3,1.7,0.6,600000.0,57000.0,283000.0,23.2
"""


def test_tradeoff_without_a_latency_has_a_panel_per_cost(tmp_path):
    # No latency; the valid error of epoch 1 is missing, so epoch 1 has no point.
    costs = write(tmp_path / "metrics.csv", NO_LATENCY)
    axes = visible_axes(tradeoff_figure(costs))
    assert [ax.get_xlabel() for ax in axes] == ["FLOPs", "parameters", "memory (bytes)"]
    assert points_of(axes[1], [(77498, 10), (57000, 30), (57000, 40)])
    assert [t.get_text() for t in axes[1].texts] == ["0", "2", "3"]


def test_tradeoff_needs_a_valid_error_and_a_cost(tmp_path):
    for name, text in [
        ("no_cost.csv", METRICS),
        ("no_error.csv", COSTS.replace("valid/error", "train/error")),
        ("apart.csv", "epoch,valid/error,cost/flops\n0,0.5,\n1,,100\n"),
    ]:
        metrics = write(tmp_path / name, text)
        assert tradeoff_figure(metrics) is None, name
        assert plot_tradeoff(metrics, str(tmp_path / "out" / "t.png")) is None
    assert not (tmp_path / "out").exists()
