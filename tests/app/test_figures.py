import json
import logging
import os

import numpy as np
import yaml
from visualize.figure_checks import has_color, png

from nnabla_nas.app import figures as app_figures
from nnabla_nas.app.figures import choice_labels, draw_figures, model_options
from nnabla_nas.app.run import RunFolder
from nnabla_nas.contrib.darts.diagram import COLORS
from nnabla_nas.contrib.darts.genotype import DARTS_V2
from nnabla_nas.contrib.darts.space import DartsSpace
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize.plots import write_probabilities

CANDIDATES = ["sep_conv_3x3", "skip_connect", "max_pool_3x3", "my_op"]
NB201 = {"arch": "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"}

COSTS = """\
epoch,train/loss,valid/error,cost/flops,cost/params,cost/memory,cost/latency,train/arch_cost
0,2.3,0.9,982026.0,77498.0,368424.0,0.63,
1,2.2,0.8,982026.0,77498.0,368424.0,0.63,
2,1.9,0.7,600000.0,57000.0,283000.0,0.33,28.6
3,1.7,0.6,600000.0,57000.0,283000.0,0.33,23.2
"""

FIGURES = ["probs.png", "decision.png", "curves.png", "costs.png", "tradeoff.png"]
DARTS_DIAGRAMS = ["arch_normal.svg", "arch_normal.png", "arch_reduce.svg", "arch_reduce.png"]


def epoch_probs(epoch, choices=("normal/edge_0", "normal/edge_1", "block_2")):
    """Probabilities that differ per epoch and choice, summing to 1 per choice."""
    out = {}
    for c, choice in enumerate(choices):
        logits = np.sin(np.arange(len(CANDIDATES)) * (c + 1) + epoch)
        p = np.exp(logits) / np.exp(logits).sum()
        out[choice] = {name: float(v) for name, v in zip(CANDIDATES, p, strict=True)}
    return out


def make_run(folder, arch=DARTS_V2):
    """A run folder holding arch.json, metrics.csv and arch_probs.csv (and no run.json:
    drawing figures needs none)."""
    folder.mkdir(parents=True)
    (folder / "arch.json").write_text(json.dumps(arch))
    (folder / "metrics.csv").write_text(COSTS)
    for epoch in range(3):
        write_probabilities(str(folder / "arch_probs.csv"), epoch, epoch_probs(epoch))
    return RunFolder(str(folder))


class Records(logging.Handler):
    """Keeps the records logged to it (whether or not the logger propagates)."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def warnings_of(draw):
    """The result of `draw()` and the warnings it logged to ``nnabla_nas``."""
    logger, handler = logging.getLogger("nnabla_nas"), Records()
    logger.addHandler(handler)
    try:
        result = draw()
    finally:
        logger.removeHandler(handler)
    return result, [r.getMessage() for r in handler.records if r.levelno == logging.WARNING]


def test_draw_figures_writes_every_figure(tmp_path):
    run = make_run(tmp_path / "run")
    assert not run.has("manifest")
    space = get_space("darts")
    figures = run.file("figures")
    written, warnings = warnings_of(lambda: draw_figures(run, space))
    names = FIGURES + DARTS_DIAGRAMS
    assert written == [os.path.join(figures, n) for n in names]
    assert sorted(os.listdir(figures)) == sorted(names)
    assert warnings == []
    # probs.png is in the space's colours.
    packed = png(os.path.join(figures, "probs.png"))
    for name in CANDIDATES[:3]:
        assert has_color(packed, COLORS[name]), name
    # Diagrams newer than arch.json stay; a rewritten arch.json redraws them.
    assert [os.path.basename(p) for p in draw_figures(run, space)] == FIGURES
    arch = run.file("arch")
    later = os.path.getmtime(os.path.join(figures, "arch_normal.png")) + 1
    os.utime(arch, (later, later))
    assert draw_figures(run, space) == written


def test_draw_figures_draws_what_the_folder_holds(tmp_path):
    other = make_run(tmp_path / "nb201", NB201)
    os.remove(other.file("arch_probs"))
    assert [os.path.basename(p) for p in draw_figures(other, get_space("nb201"))] == [
        "curves.png", "costs.png", "tradeoff.png", "arch.svg", "arch.png",
    ]  # fmt: skip
    assert sorted(os.listdir(other.file("figures"))) == [
        "arch.png", "arch.svg", "costs.png", "curves.png", "tradeoff.png",
    ]  # fmt: skip
    empty = RunFolder(str(tmp_path / "empty"))
    assert draw_figures(empty, get_space("darts")) == []
    assert not os.path.exists(empty.path)


def test_draw_figures_skips_what_it_cannot_draw(tmp_path):
    run = make_run(tmp_path / "run")
    (tmp_path / "run" / "arch.json").write_text('{"normal": [["conv_9x9", 0]]}')
    (tmp_path / "run" / "arch_probs.csv").write_text("epoch,choice\n0,e\n")
    written, messages = warnings_of(lambda: draw_figures(run, get_space("darts")))
    assert [os.path.basename(p) for p in written] == ["curves.png", "costs.png", "tradeoff.png"]
    assert len(messages) == 3
    for message, figure in zip(messages[:2], ["probs.png", "decision.png"], strict=True):
        assert figure in message and "lacks the columns" in message
    assert "arch diagrams" in messages[2] and "(darts space)" in messages[2]
    assert "genotype keys must be" in messages[2]
    assert sorted(os.listdir(run.file("figures"))) == ["costs.png", "curves.png", "tradeoff.png"]


def test_draw_figures_draws_with_the_space_it_is_given(tmp_path):
    # The diagram's format is the given space's, never guessed from arch.json.
    run = make_run(tmp_path / "run", NB201)
    os.remove(run.file("arch_probs"))
    os.remove(run.file("metrics"))
    written, messages = warnings_of(lambda: draw_figures(run, get_space("darts")))
    assert written == []
    assert len(messages) == 1
    assert "arch diagrams" in messages[0] and run.file("arch") in messages[0]
    assert "(darts space)" in messages[0]
    written, messages = warnings_of(lambda: draw_figures(run, get_space("nb201")))
    assert [os.path.basename(p) for p in written] == ["arch.svg", "arch.png"]
    assert messages == []


def calls_of(monkeypatch, name):
    """The arguments of every call of `nnabla_nas.app.figures.<name>`, which still draws."""
    calls, draw = [], getattr(app_figures, name)

    def spy(*args):
        calls.append(args)
        return draw(*args)

    monkeypatch.setattr(app_figures, name, spy)
    return calls


def test_decision_png_names_the_choices_by_the_space(tmp_path, monkeypatch):
    calls = calls_of(monkeypatch, "plot_decision")
    run = make_run(tmp_path / "run")
    space = get_space("darts")
    assert os.path.join(run.file("figures"), "decision.png") in draw_figures(run, space)
    ((history, path, labels, colors),) = calls
    assert list(history) == ["normal/edge_0", "normal/edge_1", "block_2"]
    assert path == os.path.join(run.file("figures"), "decision.png")
    assert labels == {
        "normal/edge_0": "normal n0 <- c_{k-2}",
        "normal/edge_1": "normal n0 <- c_{k-1}",
        "block_2": "block_2",  # not a DARTS edge: as written
    }
    assert colors == space.colors
    png(path)
    png(os.path.join(run.file("figures"), "tradeoff.png"))


def test_decision_png_takes_the_stages_of_the_runs_config(tmp_path, monkeypatch):
    # Custom stages in config.yaml: block_1 is the first block of stage 2, not the second
    # of stage 1 as in the default stages.
    calls = calls_of(monkeypatch, "plot_decision")
    folder = tmp_path / "run"
    folder.mkdir()
    choices = [f"block_{i}" for i in range(4)]
    write_probabilities(str(folder / "arch_probs.csv"), 0, epoch_probs(0, choices))
    run, mobilenet = RunFolder(str(folder)), get_space("mobilenet")
    stages = [[1, 8, 1, 1], [6, 8, 1, 2], [6, 16, 3, 1]]
    configs = [
        (None, ["stage 1 block 0", "stage 1 block 1", "stage 2 block 0", "stage 2 block 1"]),
        ({"model": {"name": "mobilenet", "stages": stages}},
         ["stage 1 block 0", "stage 2 block 0", "stage 2 block 1", "stage 2 block 2"]),
        ("model: [unclosed", ["stage 1 block 0", "stage 1 block 1", "stage 2 block 0",
                              "stage 2 block 1"]),
    ]  # fmt: skip
    for config, expected in configs:
        if config is not None:
            text = config if isinstance(config, str) else yaml.safe_dump(config)
            (folder / "config.yaml").write_text(text)
        assert [os.path.basename(p) for p in draw_figures(run, mobilenet)] == [
            "probs.png", "decision.png",
        ]  # fmt: skip
        assert list(calls.pop()[2].values()) == expected, config


class HalfNamingSpace(DartsSpace):
    """DARTS, but naming an edge of the reduction cell fails."""

    def choice_label(self, choice, *, options=None):
        if choice.startswith("reduce/"):
            raise RuntimeError(f"cannot name {choice}")
        return super().choice_label(choice, options=options)


def test_choice_labels_keep_the_names_the_space_cannot_give():
    choices = ["normal/edge_4", "reduce/edge_4", "cell/edge_0"]
    assert choice_labels(None, choices) == {c: c for c in choices}
    assert choice_labels(HalfNamingSpace(), choices) == {
        "normal/edge_4": "normal n1 <- n0",
        "reduce/edge_4": "reduce/edge_4",
        "cell/edge_0": "cell/edge_0",
    }
    assert choice_labels(get_space("darts"), []) == {}
    stages = [[1, 8, 1, 1], [6, 8, 1, 2], [6, 16, 3, 1]]
    assert choice_labels(get_space("mobilenet"), ["block_1"], {"stages": stages}) == {
        "block_1": "stage 2 block 0"
    }


def test_model_options_are_the_model_keys_but_its_name():
    assert model_options({"model": {"name": "darts", "init_channels": 4}}) == {"init_channels": 4}
    for config in (None, [], "model: x", {"seed": 1}, {"model": "darts"}, {"model": None}):
        assert model_options(config) == {}, config
