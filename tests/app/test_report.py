"""The HTML report of a run folder: self-contained, escaped, and complete; its header
comes from the run's run.json."""

import base64
import html
import json
import os
from html.parser import HTMLParser

import matplotlib
import nnabla as nn
import pytest
import yaml

from nnabla_nas import __version__
from nnabla_nas.app.config import SearchConfig, TrainConfig, parse_config
from nnabla_nas.app.report import render_report, write_report
from nnabla_nas.app.run import Manifest, RunError, RunFolder
from nnabla_nas.app.search import run_search
from nnabla_nas.app.train import run_train
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.visualize.plots import read_probabilities, write_probabilities

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TRAIN = {"seed": 1, "epochs": 1, "model": {"name": "darts", "init_channels": 4, "num_cells": 3}}
SCRIPT = "<script>alert('x')</script>"
METRICS = """epoch,train/loss,valid/error,cost/flops,test/error
0,2.5,0.8,1500000.0,
1,1.25,0.125,1250000.0,
2,0.75,0.25,1000000.0,0.0625
"""
ARCH = {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]], "normal_concat": [2]}
PARETO = """number,accuracy,latency,arch
3,71.5,1.25,|nor_conv_1x1~0|
7,88.25,2.5,|nor_conv_3x3~0|
"""
TRIALS = """number,state,arch,seconds,accuracy,latency,error
0,complete,|a|,0.5,71.5,1.25,
1,failed,|b|,0.25,,,boom
2,complete,|c|,0.5,88.25,2.5,
3,infeasible,|d|,0.5,90.0,9.0,
"""
PROFILE = {
    "input_shape": [1, 1, 8, 8],
    "measured_ms": {"median": 1.5, "min": 1.25, "max": 3.0},
    "predicted_ms": 1.75,
    "flops": 2_000_000,
    "params": 12345,
    "parameter_bytes": 49380,
    "peak_activation_bytes": 2 * 2**20,
    "layers": [{"layer": "conv<1>", "type": "Convolution", "ms": 0.5, "flops": 1e6, "params": 40}],
}
RESULT = {"trials": 4, "failed": 1, "best_accuracy": 88.25, "best_latency": 2.5}
HOST = "<b>lab&host</b>"
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'


class Page(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.images, self.hrefs, self.sections, self.headings = [], [], [], [], []
        self.cells, self.pres, self.text = [], [], []
        self._open = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs["src"])
        if "href" in attrs:
            self.hrefs.append(attrs["href"])
        if tag == "section":
            self.sections.append(attrs["id"])
        if tag in ("h2", "td", "th", "pre"):
            self._open = (tag, [])

    def handle_endtag(self, tag):
        if self._open and tag == self._open[0]:
            text = "".join(self._open[1])
            {"h2": self.headings, "pre": self.pres}.get(tag, self.cells).append(text)
            self._open = None

    def handle_data(self, data):
        self.text.append(data)
        if self._open:
            self._open[1].append(data)


def manifest(**fields):
    """A finished run's manifest; `fields` replace the defaults."""
    values = {"command": "train", "kind": "train", "space": "darts", "dataset": "digits"}
    values.update({"seed": 0, "status": "finished", "ended": "2026-01-01T00:00:00+00:00"})
    return Manifest(**{**values, **fields})


def png(path, color):
    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    ax.plot([0, 1], [1, 0], color=color)
    fig.savefig(path, format="png")
    plt.close(fig)
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "my-run"
    (run / "figures").mkdir(parents=True)
    RunFolder(str(run)).write_manifest(
        manifest(command="search", kind="multi-trial", searcher="random", space="nb201",
                 seed=7, host=HOST)
    )  # fmt: skip
    config = {
        "seed": 0,
        "epochs": 3,
        "dataset": {"name": "digits", "root": SCRIPT},
        "searcher": "random",
    }
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (run / "metrics.csv").write_text(METRICS)
    (run / "arch.json").write_text(json.dumps(ARCH))
    (run / "pareto.csv").write_text(PARETO)
    (run / "trials.csv").write_text(TRIALS)
    (run / "profile.json").write_text(json.dumps(PROFILE))
    (run / "result.json").write_text(json.dumps({**RESULT, "reference": [0.0, 9.0]}))
    (run / "figures" / "arch_normal.svg").write_text(SVG)
    (run / "figures" / "other.svg").write_text(SVG)
    images = {
        "arch_normal": png(run / "figures" / "arch_normal.png", "C0"),
        "probs": png(run / "figures" / "probs.png", "C1"),
        "pareto": png(run / "pareto.png", "C2"),
    }
    return str(run), images


def decoded(src):
    header, data = src.split(",", 1)
    return header, base64.b64decode(data)


def test_report_of_a_multitrial_run_folder(run_dir):
    run, images = run_dir
    path = write_report(run)
    assert path == os.path.join(run, "report.html")
    text = open(path, encoding="utf-8").read()
    page = Page(text)

    sections = "metrics test architecture plots cost multitrial figures run config"
    assert page.sections == sections.split()
    header = "search (random, multi-trial) run of the nb201 space on digits, seed 7"
    assert "my-run" in "".join(page.text) and f"{header} \u00b7 finished" in "".join(page.text)
    assert "the run failed" not in text
    assert "best accuracy 88.25 % at 2.5 ms" in "".join(page.text)

    # images: embedded, each figure once (the PNG of arch_normal, not its SVG)
    found = [decoded(src) for src in page.images]
    assert [h for h, _ in found] == ["data:image/png;base64"] * 3 + ["data:image/svg+xml;base64"]
    assert [d for _, d in found] == [
        images["arch_normal"],
        images["probs"],
        images["pareto"],
        SVG.encode(),
    ]

    # nothing loaded from elsewhere
    assert 'src="http' not in text and "<link" not in text and "script" not in page.tags
    assert all(href.startswith("#") for href in page.hrefs)
    assert set(page.hrefs) == {f"#{s}" for s in page.sections}

    # escaped config and manifest
    assert SCRIPT not in text and "&lt;script&gt;" in text
    assert any(SCRIPT in pre for pre in page.pres)
    assert HOST not in text and f"on {html.escape(HOST)}</p>" in text
    assert f"the run: nnabla-nas {__version__}, nnabla {nn.__version__}" in text

    # the last metrics row, the best valid error, the test metric and the costs
    cells = page.cells
    for name, value in [("train/loss", "0.75"), ("valid/error", "0.25"), ("test/error", "0.0625")]:
        assert cells[cells.index(name) + 1] == value
    assert "Best valid/error: 0.125 at epoch 1." in "".join(page.text)
    assert cells[cells.index("cost/flops") + 1] == "1000000"
    assert "1 MFLOPs" in cells

    # the architecture, pretty-printed
    assert any(json.loads(pre) == ARCH for pre in page.pres if pre.startswith("{"))

    # profile.json
    for label, value in [
        ("latency median (ms)", "1.5"),
        ("latency min (ms)", "1.25"),
        ("latency max (ms)", "3"),
        ("parameters", "12,345"),
        ("FLOPs", "2 M"),
        ("peak activation memory", "2 MiB"),
    ]:
        assert cells[cells.index(label) + 1] == value
    assert "conv<1>" in cells and "conv&lt;1&gt;" in text

    # trials.csv and pareto.csv
    for label, value in [
        ("trials", "4"),
        ("failed", "1"),
        ("infeasible", "1"),
        ("best trial", "2"),
    ]:
        assert cells[cells.index(label) + 1] == value
    assert cells[cells.index("best accuracy") + 1] == "88.25"
    assert cells[cells.index("best_accuracy") + 1] == "88.25"
    assert cells[cells.index("reference") + 1] == "[0.0, 9.0]"
    start = cells.index("number")
    table = [line.split(",") for line in PARETO.splitlines()]
    assert cells[start : start + 12] == [cell for row in table for cell in row]


def test_report_to_another_path_and_partial_folders(tmp_path):
    run = tmp_path / "train-run"
    run.mkdir()
    RunFolder(str(run)).write_manifest(manifest(seed=5))
    (run / "result.json").write_text(json.dumps({"test_accuracy": 0.975, "test_loss": 0.1}))
    out = write_report(str(run), str(tmp_path / "out" / "r.html"))
    assert out == str(tmp_path / "out" / "r.html") and not (run / "report.html").exists()
    page = Page(open(out, encoding="utf-8").read())
    assert page.sections == ["test", "run"] and page.images == []
    assert "test accuracy 97.50 %" in "".join(page.text)
    assert "train run of the darts space on digits, seed 5 \u00b7 finished" in "".join(page.text)

    (run / "arch.json").write_text("{not json <b>")
    page = Page(render_report(str(run)))
    assert "architecture" in page.sections and "{not json <b>" in page.pres


def test_missing_and_empty_run_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run folder '.*nowhere' does not exist"):
        write_report(str(tmp_path / "nowhere"))
    (tmp_path / "a-file").write_text("")
    with pytest.raises(NotADirectoryError, match="is a file, not a run folder"):
        write_report(str(tmp_path / "a-file"))
    (tmp_path / "empty" / "figures").mkdir(parents=True)
    (tmp_path / "empty" / "log.txt").write_text("")
    with pytest.raises(RunError, match=r"'.*empty' has no run\.json, so it is not a run folder"):
        write_report(str(tmp_path / "empty"))
    assert not (tmp_path / "empty" / "report.html").exists()


def test_a_folder_without_run_json_is_refused_whatever_it_holds(run_dir):
    run, _ = run_dir
    os.remove(os.path.join(run, "run.json"))
    with pytest.raises(RunError, match=r"has no run\.json"):
        write_report(run)
    with pytest.raises(RunError, match=r"has no run\.json"):
        render_report(run)
    assert not os.path.exists(os.path.join(run, "report.html"))


def test_a_run_json_that_is_not_a_manifest_is_refused(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps({"command": "search"}))
    with pytest.raises(RunError, match=r"is not a 'nnabla_nas\.run/1' manifest"):
        render_report(str(tmp_path))
    data = {**manifest().__dict__, "status": "done"}
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(RunError, match="bad status 'done'"):
        render_report(str(tmp_path))


def test_the_header_comes_from_run_json_not_the_config(tmp_path):
    # A config that names another searcher and seed: the manifest is what is shown.
    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"searcher": "random", "seed": 9}))
    RunFolder(str(tmp_path)).write_manifest(
        manifest(command="search", kind="one-shot", searcher="darts", space="mobilenet", seed=2)
    )
    page = Page(render_report(str(tmp_path)))
    text = "".join(page.text)
    assert "search (darts, one-shot) run of the mobilenet space on digits, seed 2" in text
    assert text.count("random") == sum(pre.count("random") for pre in page.pres) == 1


def test_a_run_json_alone_gives_the_header_only(tmp_path):
    RunFolder(str(tmp_path)).write_manifest(manifest(status="running", ended=None))
    page = Page(render_report(str(tmp_path)))
    assert page.sections == ["run"] and page.images == []
    assert "train run of the darts space on digits, seed 0 \u00b7 RUNNING" in "".join(page.text)


def test_report_of_a_failed_run_shows_its_status_and_error(tmp_path):
    run = RunFolder(str(tmp_path / "failed"))
    started = manifest(status="running", ended=None, seed=4)
    with pytest.raises(RuntimeError), run.session(started, "epochs: 3\n", resume=False):
        with open(run.file("metrics"), "w") as f:
            f.write("epoch,train/loss\n0,2.5\n")
        raise RuntimeError("diverged at <step 3>")
    assert run.manifest().status == "failed"
    text = render_report(run.path)
    page = Page(text)
    assert "train run of the darts space on digits, seed 4 \u00b7 FAILED" in "".join(page.text)
    assert "the run failed: RuntimeError: diverged at <step 3>" in "".join(page.text)
    assert "<step 3>" not in text and "diverged at &lt;step 3&gt;" in text
    assert page.sections == ["metrics", "run", "config"]
    assert page.cells[page.cells.index("train/loss") + 1] == "2.5"


def test_report_of_an_interrupted_run_shows_its_status(tmp_path):
    run = RunFolder(str(tmp_path / "stopped"))
    with pytest.raises(KeyboardInterrupt), run.session(manifest(), "epochs: 3\n", resume=False):
        raise KeyboardInterrupt
    text = "".join(Page(render_report(run.path)).text)
    assert "seed 0 \u00b7 INTERRUPTED" in text and "the run failed" not in text


@pytest.fixture(scope="module")
def real_runs(tmp_path_factory, tiny_darts_search):
    """A one-epoch tiny DARTS search and the one-epoch retraining of what it found."""
    folder = tmp_path_factory.mktemp("report_runs")
    search = str(folder / "search")
    run_search(
        parse_config(SearchConfig, {**tiny_darts_search, "epochs": 1}), search, progress=False
    )
    train = str(folder / "train")
    cfg = {**TRAIN, "dataset": tiny_darts_search["dataset"]}
    run_train(parse_config(TrainConfig, cfg), os.path.join(search, "arch.json"), train,
              progress=False)  # fmt: skip
    nn.clear_parameters()
    return search, train


def check_metrics(page, run):
    """The last row of the run's metrics.csv is in the page's cells."""
    with open(os.path.join(run, "metrics.csv")) as f:
        header, *_, last = f.read().splitlines()
    for name, value in zip(header.split(","), last.split(","), strict=True):
        if name != "epoch" and value:
            assert float(page.cells[page.cells.index(name) + 1]) == pytest.approx(
                float(value), rel=1e-5
            )


def check_figures(page, run):
    """Every PNG of the run's figures/ is embedded once, and nothing else is."""
    folder = os.path.join(run, "figures")
    names = [n for n in sorted(os.listdir(folder)) if n.endswith(".png")]
    pngs = [open(os.path.join(folder, n), "rb").read() for n in names]
    assert pngs and sorted(decoded(src)[1] for src in page.images) == sorted(pngs)
    assert all(src.startswith("data:image/png;base64,") for src in page.images)


def test_report_of_a_real_search(real_runs):
    out, _ = real_runs
    text = open(write_report(out), encoding="utf-8").read()
    page = Page(text)
    assert page.sections == ["metrics", "architecture", "plots", "cost", "run", "config"]
    check_metrics(page, out)
    with open(os.path.join(out, "arch.json")) as f:
        assert json.loads(page.pres[0]) == json.load(f)
    header = "search (darts, one-shot) run of the darts space on digits, seed 1 \u00b7 finished"
    assert header in "".join(page.text)
    check_figures(page, out)
    assert 'src="http' not in text and "<link" not in text and "script" not in page.tags
    # The decision: every edge of arch_probs.csv named by its nodes, its figure drawn.
    assert {"decision.png", "tradeoff.png"} <= set(os.listdir(os.path.join(out, "figures")))
    history = read_probabilities(os.path.join(out, "arch_probs.csv"))
    rows = decision_cells(text)
    assert [row[0] for row in rows] == [get_space("darts").choice_label(c) for c in history]
    assert rows[0][0] == "normal n0 <- c_{k-2}"
    for row, choice in zip(rows, history, strict=True):
        last = {name: points[-1][1] for name, points in history[choice].items()}
        assert row[1] == max(last, key=last.get)
        assert float(row[2]) == pytest.approx(last[row[1]], rel=1e-3)


def test_report_of_a_real_train_run(real_runs):
    search, out = real_runs
    page = Page(render_report(out))
    assert page.sections == ["metrics", "test", "architecture", "plots", "run", "config"]
    check_metrics(page, out)
    check_figures(page, out)
    result = json.load(open(os.path.join(out, "result.json")))
    text = "".join(page.text)
    assert f"test accuracy {100 * result['test_accuracy']:.2f} %" in text
    assert "train run of the darts space on digits, seed 1 \u00b7 finished" in text
    assert page.cells[page.cells.index("test_accuracy") + 1] == f"{result['test_accuracy']:.6g}"
    with open(os.path.join(search, "arch.json")) as f:
        assert json.loads(page.pres[0]) == json.load(f)


def test_a_train_run_links_its_search_and_records_where_it_ran(real_runs):
    search, out = real_runs
    m = RunFolder(out).manifest()
    assert m.search_run == os.path.abspath(search)
    assert m.arch_file == os.path.join(os.path.abspath(search), "arch.json")
    assert m.cpu and m.command_line and RunFolder(search).manifest().search_run is None
    text = render_report(out)
    page = Page(text)
    assert 'href="../search/report.html"' in text
    cells = dict(zip(page.cells[::2], page.cells[1::2], strict=False))
    assert cells["CPU"] == m.cpu and cells["command line"] == " ".join(m.command_line)
    assert cells["nnabla"] == nn.__version__ and cells["started"] == m.started
    assert cells["git commit"] == (m.git_commit or "- (not run from a clone)")
    # The header's times are run.json's, with the duration, not the files' mtimes.
    start = m.started[:16].replace("T", " ")
    assert f"{start} UTC to " in "".join(page.text)


def test_the_run_section_lists_exports_and_the_config_leaves_out_unused_sections(tmp_path):
    run = tmp_path / "t"
    run.mkdir()
    RunFolder(str(run)).write_manifest(
        manifest(started="2026-01-01T10:00:00+00:00", ended="2026-01-01T11:02:05+00:00")
    )
    (run / "model.onnx").write_bytes(b"x" * 1234)
    config = {"seed": 0, "cost": None, "export": [], "model": {"name": "darts"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    page = Page(render_report(str(run)))
    assert page.cells[page.cells.index("exported: model.onnx") + 1] == "1,234 bytes"
    assert "exported: model.nnp" not in page.cells
    assert yaml.safe_load(page.pres[-1]) == {"seed": 0, "model": {"name": "darts"}}
    assert "Not shown, as unused: cost, export." in "".join(page.text)
    assert "2026-01-01 10:00 UTC to 11:02 (1 h 2 min)" in "".join(page.text)


def test_a_profile_of_another_architecture_is_left_out_with_the_command(run_dir):
    run, _ = run_dir
    with open(os.path.join(run, "profile.json"), "w") as f:
        json.dump({**PROFILE, "arch": {"normal": [["skip_connect", 0]]}}, f)
    text = "".join(Page(render_report(run)).text)
    assert "profile.json was measured for another architecture than arch.json" in text
    assert f"nnabla-nas profile {run} --json" in text and "Profile (nnabla-nas" not in text
    with open(os.path.join(run, "profile.json"), "w") as f:
        json.dump({**PROFILE, "arch": ARCH}, f)
    assert "Profile (nnabla-nas profile)" in "".join(Page(render_report(run)).text)


# -- the decision -------------------------------------------------------------------------

# The last of two epochs decides; 0.123456 shows with 4 significant digits.
DECISION = {
    0: {
        "normal/edge_0": {"sep_conv_3x3": 0.25, "skip_connect": 0.75},
        "reduce/edge_4": {"max_pool_3x3": 0.5, "none": 0.5},
    },
    1: {
        "normal/edge_0": {"sep_conv_3x3": 0.625, "skip_connect": 0.25, "none": 0.125},
        "reduce/edge_4": {"max_pool_3x3": 0.123456, "none": 0.876544},
    },
}
DECISION_TABLE = [
    ["normal n0 <- c_{k-2}", "sep_conv_3x3", "0.625", "skip_connect", "0.375"],
    ["reduce n1 <- n0", "none", "0.8765", "max_pool_3x3", "0.7531"],
]


def search_run(folder, space="darts", probs=DECISION, config=None):
    """A one-shot search folder with arch_probs.csv, and decision.png and tradeoff.png
    between the other search plots."""
    (folder / "figures").mkdir(parents=True)
    RunFolder(str(folder)).write_manifest(
        manifest(command="search", kind="one-shot", searcher="darts", space=space)
    )
    for epoch, at in probs.items():
        write_probabilities(str(folder / "arch_probs.csv"), epoch, at)
    for stem, color in [("probs", "C0"), ("decision", "C1"), ("curves", "C2"), ("tradeoff", "C3")]:
        png(folder / "figures" / f"{stem}.png", color)
    if config is not None:
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return str(folder)


def decision_cells(text):
    """The rows of the decision table of the page `text`, found by its header."""
    start = text.index("<tr><th>choice</th><th>chosen</th><th>probability</th>")
    cells = Page(text[start : text.index("</table>", start)]).cells
    assert cells[:5] == ["choice", "chosen", "probability", "runner-up", "margin"]
    return [cells[i : i + 5] for i in range(5, len(cells), 5)]


def test_report_shows_the_decision_after_its_figure(tmp_path):
    run = search_run(tmp_path / "search")
    text = render_report(run)
    page = Page(text)
    assert page.sections == ["plots", "run"]
    assert decision_cells(text) == DECISION_TABLE
    assert "normal n0 &lt;- c_{k-2}" in text and "normal n0 <- c_{k-2}" not in text
    assert "The decision at epoch 1 (arch_probs.csv)" in "".join(page.text)
    # The figures in their order, the table right after the decision figure.
    images = [decoded(src)[1] for src in page.images]
    stems = ["probs", "decision", "curves", "tradeoff"]
    assert images == [open(os.path.join(run, "figures", f"{s}.png"), "rb").read() for s in stems]
    decision_caption = "The decision at the last epoch: each choice&#x27;s probabilities"
    marks = [decision_caption, "<th>choice</th>", "Training curves", "Valid accuracy against"]
    where = [text.index(mark) for mark in marks]
    assert where == sorted(where)


def test_the_decision_table_without_figures_and_with_the_configs_stages(tmp_path):
    # MobileNetV2 with the stages of config.yaml: block_1 is the first block of stage 2.
    probs = {0: {f"block_{i}": {"k3_e3": 0.25, "k5_e6": 0.75} for i in range(4)}}
    stages = [[1, 8, 1, 1], [6, 8, 1, 2], [6, 16, 3, 1]]
    config = {"model": {"name": "mobilenet", "stages": stages}}
    run = search_run(tmp_path / "mobilenet", "mobilenet", probs, config)
    for name in os.listdir(os.path.join(run, "figures")):
        os.remove(os.path.join(run, "figures", name))
    text = render_report(run)
    page = Page(text)
    assert page.sections == ["plots", "run", "config"] and page.images == []
    labels = ["stage 1 block 0", "stage 2 block 0", "stage 2 block 1", "stage 2 block 2"]
    assert decision_cells(text) == [[label, "k5_e6", "0.75", "k3_e3", "0.5"] for label in labels]


def test_a_space_that_is_not_registered_shows_the_choices_as_written(tmp_path):
    run = search_run(tmp_path / "search", space="no_such_space")
    text = render_report(run)
    page = Page(text)
    rows = decision_cells(text)
    assert [row[0] for row in rows] == ["normal/edge_0", "reduce/edge_4"]
    assert [row[1:] for row in rows] == [row[1:] for row in DECISION_TABLE]
    assert "search (darts, one-shot) run of the no_such_space space" in "".join(page.text)


@pytest.mark.parametrize(
    "content, message",
    [
        ("epoch,choice\n0,e\n", "lacks the columns"),
        ("epoch,choice,candidate,probability\n0,e,a,0.5\n1,e,a,much\n", "line 3: expected"),
    ],
)
def test_a_malformed_arch_probs_csv_gives_a_note(tmp_path, content, message):
    run = search_run(tmp_path / "search")
    with open(os.path.join(run, "arch_probs.csv"), "w") as f:
        f.write(content)
    text = render_report(run)
    page = Page(text)
    assert page.sections == ["plots", "run"] and len(page.images) == 4
    assert '<p class="note">arch_probs.csv not read: ' in text and message in text
    assert "<th>chosen</th>" not in text


def test_an_empty_arch_probs_csv_gives_no_table(tmp_path):
    run = search_run(tmp_path / "search")
    with open(os.path.join(run, "arch_probs.csv"), "w") as f:
        f.write("epoch,choice,candidate,probability\n")
    text = render_report(run)
    assert "<th>chosen</th>" not in text and "not read" not in text
    assert len(Page(text).images) == 4
