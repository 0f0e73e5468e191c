"""Optional extras: what is missing is one line with the one command that installs it."""

import sys
from importlib.metadata import version

import pytest

from nnabla_nas.cli import main
from nnabla_nas.utils.extras import MissingExtraError, onnx_export_problem, require

CONVERTER = f"pip install --no-deps nnabla-converter=={version('nnabla')}"


def test_require_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'nnabla-nas\[multitrial\]'$"):
        require("optuna", "the optuna strategy")


def test_onnx_export_is_complete_here():
    assert onnx_export_problem() is None


def test_without_the_converter_the_one_command_installs_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "nnabla.utils.converter.onnx", None)
    problem = onnx_export_problem()
    assert problem is not None and problem.endswith(f"never imports: {CONVERTER}")
    assert "nnabla-nas[export]" not in problem  # the extra is here already


def test_without_the_extra_one_command_line_installs_both(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    monkeypatch.setitem(sys.modules, "nnabla.utils.converter.onnx", None)
    problem = onnx_export_problem()
    assert problem is not None
    assert problem.endswith(f": pip install 'nnabla-nas[export]' && {CONVERTER}")


def test_export_says_so_before_reading_the_run(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "nnabla.utils.converter.onnx", None)
    output = tmp_path / "model.onnx"
    args = ["export", str(tmp_path / "no-run"), "--format", "onnx", "-o", str(output)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"nnabla-nas: error: {onnx_export_problem()}"
    assert not output.exists()
