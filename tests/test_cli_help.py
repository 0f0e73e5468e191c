"""The command's conventions: --version, python -m, help with examples, shell completion."""

import subprocess
import sys

import nnabla
import pytest

from nnabla_nas import __version__
from nnabla_nas.cli import EXAMPLES, build_parser, main

COMMANDS = ["search", "train", "profile", "report", "draw", "export", "configs", "completion"]


def test_version_names_the_package_nnabla_and_python(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"nnabla-nas {__version__} (nnabla {nnabla.__version__}, Python 3.")


def test_python_dash_m_runs_the_command_without_nnabla_s_banner():
    done = subprocess.run([sys.executable, "-m", "nnabla_nas", "--version"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.startswith(f"nnabla-nas {__version__}")
    assert "Initializing CPU extension" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_s_help_has_examples_and_marks_required_options(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert EXAMPLES[command] in text
    assert EXAMPLES[command].splitlines()[1].startswith("  nnabla-nas " + command)
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    for action in sub._actions:
        if action.required and action.option_strings:
            assert f"{action.help} (required)" in " ".join(text.split())


def test_help_shows_defaults_but_not_empty_ones(capsys):
    with pytest.raises(SystemExit):
        main(["profile", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "end-to-end runs to time (default: 50)" in text
    assert "batch size (default: 1)" in text
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_knows_the_commands_and_their_options(shell, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ["search", "train", "--latency-table", "--calibrate", "--format"]:
        assert word in script
    assert "nnabla-nas" in script


def test_an_unknown_shell_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["completion", "cmd"])
    assert stop.value.code == 2
    assert "invalid choice: 'cmd'" in capsys.readouterr().err
