"""The built-in configs: -c by name, `nnabla-nas configs`, and a search or train without -c."""

import os
import pathlib

import pytest

from nnabla_nas.app.builtin_configs import builtin_configs, config_file, config_summary
from nnabla_nas.app.config import ConfigError, SearchConfig, TrainConfig, load_config
from nnabla_nas.cli import main

CONFIGS = builtin_configs()
DARTS = CONFIGS["darts-digits-search"]


def one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnabla-nas: error: "), err
    assert out == ""
    return lines[0]


def test_a_name_is_the_file_stem_with_hyphens():
    assert pathlib.Path(DARTS).name == "darts_digits_search.yaml"
    assert config_file("darts-digits-search") == DARTS
    assert config_file("darts_digits_search") == DARTS  # the stem itself works too
    assert load_config(SearchConfig, "darts-digits-search").model.options["num_cells"] == 5


def test_a_path_is_a_path_even_where_a_name_matches(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pathlib.Path("darts-digits-search").write_text("model: {name: darts, num_cells: 3}\n")
    assert config_file("darts-digits-search") == "darts-digits-search"
    assert load_config(SearchConfig, "darts-digits-search").model.options["num_cells"] == 3
    assert config_file("runs/missing.yaml") == "runs/missing.yaml"  # a path: not looked up


def test_an_unknown_name_lists_the_names():
    with pytest.raises(ConfigError) as err:
        load_config(TrainConfig, "dart-digits-train")
    message = str(err.value)
    assert "config 'dart-digits-train' is neither a file nor a built-in config" in message
    assert ", ".join(CONFIGS) in message


def test_an_old_examples_path_points_to_its_name():
    with pytest.raises(ConfigError, match=r"built in: -c darts-digits-train$"):
        load_config(TrainConfig, "examples/darts_digits_train.yaml")


def test_configs_lists_each_name_with_its_first_comment_line(capsys):
    assert main(["configs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = dict(line.split(maxsplit=1) for line in lines)
    assert list(rows) == list(CONFIGS)
    first = pathlib.Path(DARTS).read_text().splitlines()[0].lstrip("# ")
    assert rows["darts-digits-search"] == config_summary(DARTS) == first
    columns = {line.index(rows[name]) for name, line in zip(rows, lines, strict=True)}
    assert len(columns) == 1  # the summaries start in one column


def test_configs_name_prints_the_file(capsys):
    assert main(["configs", "nb201-evolution"]) == 0
    assert capsys.readouterr().out == pathlib.Path(CONFIGS["nb201-evolution"]).read_text()


def test_configs_copies_one_out_and_never_over_a_file(tmp_path, capsys):
    target = tmp_path / "mine.yaml"
    assert main(["configs", "darts-digits-search", "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert target.read_bytes() == pathlib.Path(DARTS).read_bytes()
    target.write_text("edited\n")
    assert main(["configs", "darts-digits-train", "-o", str(target)]) == 2
    assert f"'{target}' already exists; give another -o" in one_error_line(capsys)
    assert target.read_text() == "edited\n"
    # Into a folder: the file's own name.
    assert main(["configs", "darts-digits-train", "-o", str(tmp_path)]) == 0
    copied = tmp_path / "darts_digits_train.yaml"
    assert capsys.readouterr().out.strip() == str(copied)
    assert copied.read_bytes() == pathlib.Path(CONFIGS["darts-digits-train"]).read_bytes()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["configs", "nope"], "no built-in config is named 'nope'; use one of: darts-cifar10"),
        (["configs", "nope", "-o", "x.yaml"], "no built-in config is named 'nope'"),
        (["configs", "-o", "x.yaml"], "configs -o copies one config: name it"),
        (["configs", "runs/mine.yaml"], "no built-in config is named 'runs/mine.yaml'"),
    ],
)
def test_configs_bad_input_is_one_line(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert message in one_error_line(capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("command", "example"),
    [(["search"], "darts-digits-search"), (["train", "--arch", "a.json"], "darts-digits-train")],
)
def test_a_new_run_without_a_config_is_refused(tmp_path, capsys, command, example):
    """The schema's defaults alone would start a long run nobody chose."""
    out = tmp_path / "run"
    assert main([*command, "-o", str(out), "epochs=1"]) == 2
    line = one_error_line(capsys)
    assert f"{command[0]} needs a config: -c FILE, or a built-in one by name such as " in line
    assert f"-c {example} ('nnabla-nas configs' lists them)" in line
    assert not out.exists()


def test_an_unknown_config_name_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", "-c", "darts-digit-search", "-o", str(out)]) == 2
    assert "or one of: darts-cifar10-search" in one_error_line(capsys)
    assert not out.exists()
