"""The documentation site's generated reference and its tutorials.

The configuration reference lists every key of `SearchConfig` and `TrainConfig` (and of
every searcher's, strategy's, space's and dataset's section) with its meaning, so a new key
without one fails here as it fails `make docs`. The file formats page names every key and
column the code writes. The tutorials run as written, the long runs with a smaller budget
(overrides appended to their commands).
"""

import dataclasses
import importlib.util
import json
import re
import shlex
import sys
import typing
from pathlib import Path

import pytest

from nnabla_nas.app.schema import (
    CostConfig,
    DatasetConfig,
    ModelConfig,
    MultiTrialConfig,
    OptimizerConfig,
    RunConfig,
    SearchConfig,
    TrainConfig,
)
from nnabla_nas.cli import main
from nnabla_nas.contrib.registry import SPACES
from nnabla_nas.runner.multitrial import STRATEGIES
from nnabla_nas.runner.searcher import SEARCHERS
from nnabla_nas.utils.fields import limited

DOCS = Path(__file__).resolve().parents[1] / "docs"
# Where the reference documents each section's keys ("arch_optimizer" shares "optimizer").
PREFIX = {
    RunConfig: "", SearchConfig: "", TrainConfig: "", DatasetConfig: "dataset.",
    ModelConfig: "model.", OptimizerConfig: "optimizer.", CostConfig: "cost.",
    MultiTrialConfig: "multitrial.",
}  # fmt: skip


def _load_generators():
    spec = importlib.util.spec_from_file_location("reference_pages", DOCS / "reference_pages.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pages = _load_generators()


@pytest.fixture(scope="module")
def config_page():
    ref = pages.Reference()
    return ref, pages.config_reference(ref)


def sections(cls):
    """`cls` and the dataclasses of its sections, recursively."""
    yield cls
    for hint in typing.get_type_hints(cls).values():
        for section in (hint, *typing.get_args(hint)):
            if dataclasses.is_dataclass(section):
                yield from sections(section)


@pytest.mark.parametrize("command", [SearchConfig, TrainConfig])
def test_the_reference_gives_every_key_of_a_command_with_a_meaning(config_page, command):
    ref, text = config_page
    for cls in sections(command):
        for f in dataclasses.fields(cls):
            if f.metadata.get("extra"):
                continue  # the dataset's and the space's own keys, listed per component
            key = PREFIX[cls] + f.name
            assert ref.keys.get(key), f"config reference: {key} has no meaning"
            shown = "`<searcher>:`" if f.name == "settings" else f"`{f.name}`"
            assert f"| {shown} " in text, f"config reference: no row of {key}"


def test_the_reference_gives_every_component_key_with_a_meaning(config_page):
    ref, text = config_page
    assert ref.missing == []
    for name, cls in [*SEARCHERS.items(), *STRATEGIES.items()]:
        assert f"### `{name}:`" in text
        for f in dataclasses.fields(cls.Settings):
            assert ref.keys.get(f"{name}.{f.name}"), f"{name}.{f.name} has no meaning"
    for name, space in SPACES.items():
        assert f"### `name: {name}`" in text
        for key in {**space.options("search"), **space.options("train")}:
            assert ref.keys.get(f"model[{name}].{key}"), f"model.{key} of {name}: no meaning"


def test_a_field_without_a_comment_is_reported():
    @dataclasses.dataclass
    class Section:
        documented: int = limited(1, minimum=0)  # how many
        bare: str = "x"

    ref = pages.Reference()
    text = pages.Reference.dataclass_table(ref, Section, "section.")
    assert ref.keys["section.documented"] == "how many"
    assert ref.missing == ["section.bare"]
    assert "| `documented` | int (≥ 0) | `1` | how many |" in text


def test_every_space_has_an_architecture_example():
    ref = pages.Reference()
    text = pages.architecture_files(ref)
    assert ref.missing == []
    examples = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(examples) == len(SPACES)
    for (name, space), example in zip(SPACES.items(), examples, strict=True):
        assert f"## {name}\n" in text
        assert space.validate(json.loads(example)) == json.loads(example)


def test_the_formats_page_names_what_the_code_writes(tmp_path):
    from nnabla_nas.app.build import write_cost_model
    from nnabla_nas.app.exporting import run_metadata
    from nnabla_nas.app.multitrial import OBJECTIVES, summarize
    from nnabla_nas.app.schema import from_dict
    from nnabla_nas.contrib.estimator import LatencyEstimator, latency
    from nnabla_nas.export import file_metadata
    from nnabla_nas.runner.multitrial import ChoiceSpace, RandomSearch, Trial
    from nnabla_nas.runner.multitrial.trials import TrialLog
    from nnabla_nas.visualize.plots import PROBS_COLUMNS

    text = (DOCS / "reference" / "formats.md").read_text(encoding="utf-8")
    space = SPACES["nb201"]
    arch = space.derive(space.make_search_net(1, 10, seed=0, options=space.quick_options))
    train = from_dict(TrainConfig, {"model": {"name": "nb201"}})
    write_cost_model(str(tmp_path / "cost_model.json"), LatencyEstimator())
    search = RandomSearch(ChoiceSpace([["a", "b"]]), OBJECTIVES)
    search.tell(Trial(0, search.ask(), "complete", {"accuracy": 1.0, "latency": 1.0}))
    names = [
        latency.TABLE_FORMAT, "imported_from", *latency.SETTING_KEYS, *latency._FIELDS,
        *latency._CALIBRATION_FIELDS, *latency.FEATURES, *TrialLog.FIXED, *PROBS_COLUMNS,
        *file_metadata((1, 1, 8, 8), extra=None),
        *run_metadata(train, space, arch, (1, 8, 8), 10),
        *json.loads((tmp_path / "cost_model.json").read_text()),
        *summarize(search.trials, search, None), "latency_predictor", "best_arch",
    ]  # fmt: skip
    missing = [name for name in names if f"`{name}`" not in text]
    assert missing == [], f"docs/reference/formats.md does not name {missing}"


# -- the tutorials ------------------------------------------------------------------------


def blocks(page, kind):
    """The code blocks of language `kind` of a tutorial page, in order."""
    text = (DOCS / "tutorials" / page).read_text(encoding="utf-8")
    return re.findall(rf"```{kind}\n(.*?)```", text, re.S)


def run_commands(page, extra=()):
    """Runs each ``nnabla-nas`` command of the page's bash blocks, `extra` appended to
    those that take config overrides (search and train)."""
    for block in blocks(page, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("nnabla-nas "):
                args = shlex.split(line, comments=True)[1:]
                more = [*extra, "--no-progress"] if args[0] in ("search", "train") else []
                assert main([*args, *more]) == 0, line


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("myspace", "warmup"):
        sys.modules.pop(name, None)


def test_search_space_tutorial(workdir, capsys):
    model, search, space, run = blocks("search-space.md", "python")
    exec(compile(model + search, "tutorial.py", "exec"), {})
    (workdir / "myspace.py").write_text(space)
    try:
        exec(compile(run, "run.py", "exec"), {})
    finally:
        SPACES.remove("myspace")
    assert "_block/_alpha" in capsys.readouterr().out
    arch = json.loads((workdir / "runs/myspace-search/arch.json").read_text())
    assert sorted(arch) == ["block_0", "block_1"]
    assert (workdir / "runs/myspace-train/result.json").exists()
    assert (workdir / "runs/myspace-search/figures/arch.svg").exists()


def test_searcher_tutorial(workdir, capsys):
    searcher, run, strategy = blocks("searcher.md", "python")
    (workdir / "warmup.py").write_text(searcher)
    try:
        exec(compile(run, "run.py", "exec"), {})
        exec(compile(strategy, "strategy.py", "exec"), {})
    finally:
        SEARCHERS.remove("warmup")
        STRATEGIES.remove("mutate-best")
    assert "('b', 'b', 'b', 'b', 'b', 'b') {'score': 6}" in capsys.readouterr().out
    rows = (workdir / "runs/warmup-search/arch_probs.csv").read_text().splitlines()[1:]
    first = [float(r.split(",")[3]) for r in rows if r.startswith("1,block_0,")]
    second = [float(r.split(",")[3]) for r in rows if r.startswith("2,block_0,")]
    assert max(first) - min(first) < 0.01  # the initial alphas, close to uniform
    assert max(abs(a - b) for a, b in zip(first, second, strict=True)) > 1e-3  # learnt


def test_latency_budget_tutorial(workdir):
    run_commands("latency-budget.md")
    assert (workdir / "runs/budget-search/cost_model.json").exists()
    assert (workdir / "runs/budget-2/run.json").exists()
    (python,) = blocks("latency-budget.md", "python")
    exec(compile(python, "tutorial.py", "exec"), {})
    assert (workdir / "runs/my_latency_table.json").exists()


def test_multitrial_tutorial(workdir, capsys):
    run_commands("multitrial-nb201.md", ["multitrial.trials=50"])  # of 300
    (python,) = blocks("multitrial-nb201.md", "python")
    exec(compile(python, "tutorial.py", "exec"), {})
    assert "93.3704" in capsys.readouterr().out  # the table's best cell within the budget


def test_deploy_tutorial(workdir, capsys):
    (arch,) = blocks("deploy-onnx.md", "json")
    (workdir / "arch.json").write_text(arch)
    run_commands("deploy-onnx.md", ["epochs=1"])
    capsys.readouterr()  # the commands' own output
    metadata, inference = blocks("deploy-onnx.md", "python")
    exec(compile(metadata, "metadata.py", "exec"), {})
    exec(compile(inference, "inference.py", "exec"), {})
    out = capsys.readouterr().out
    (expected,) = blocks("deploy-onnx.md", "text")
    assert [line.split() for line in expected.splitlines()] == [
        line.split() for line in out.splitlines()[:9]
    ]
    ours, theirs = out.splitlines()[-1].split()
    assert float(ours) == pytest.approx(float(theirs), abs=1e-9)
