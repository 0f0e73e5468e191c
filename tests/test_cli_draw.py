"""nnabla-nas draw: an architecture's diagrams in other formats and at a paper's width."""

import json
import os

from nnabla_nas.app.run import Manifest, RunFolder
from nnabla_nas.cli import main

NB201 = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"


def arch_file(folder):
    path = folder / "arch.json"
    path.write_text(json.dumps(NB201))
    return str(path)


def test_draw_an_arch_file_as_pdf_and_dot_at_a_column_s_width(tmp_path, capsys):
    out = tmp_path / "paper"
    argv = ["draw", "--arch", arch_file(tmp_path), "--space", "nb201", "-o", str(out)]
    assert main([*argv, "--format", "pdf", "dot", "--width", "3.3"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(out / "arch.pdf"), str(out / "arch.dot")]
    assert sorted(os.listdir(out)) == ["arch.dot", "arch.pdf"]  # nothing left aside
    pdf = (out / "arch.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"/MediaBox [ 0 0 237.6 " in pdf  # 3.3 in = 237.6 pt
    dot = (out / "arch.dot").read_text()
    assert dot.count(" -> ") == 4 and 'label="nor_conv_3x3"' in dot  # the none edges left out
    # Drawing again into the folder overwrites nothing: one line, exit 2.
    assert main([*argv, "--format", "dot", "svg"]) == 2
    assert "arch.dot' exists; choose another output folder" in capsys.readouterr().err
    assert sorted(os.listdir(out)) == ["arch.dot", "arch.pdf"]


def test_draw_a_run_folder_s_architecture(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    RunFolder(str(run)).write_manifest(Manifest("search", "multi-trial", "nb201", "digits", 0))
    arch_file(run)
    assert main(["draw", str(run), "-o", str(tmp_path / "d")]) == 0
    assert sorted(os.listdir(tmp_path / "d")) == ["arch.png", "arch.svg"]


def test_draw_refuses_what_it_cannot_draw(tmp_path, capsys):
    arch = arch_file(tmp_path)
    assert main(["draw", "--arch", arch, "-o", str(tmp_path / "x")]) == 2
    assert "give a run folder, or --arch and --space" in capsys.readouterr().err
    bad = ["draw", "--arch", arch, "--space", "nb201", "-o", str(tmp_path / "y"), "--width", "-1"]
    assert main(bad) == 2
    assert "positive number of inches, got -1.0" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()
