"""benchmarks/ofa.py: the Once-for-All benchmark's smoke run (``--quick``), its reuse of
finished run folders, and its refusal of a folder it did not write."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "ofa.py"


def bench(*args: str, timeout: int = 900) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip
    return done, time.perf_counter() - started


def table_rows(out: str) -> list[list[str]]:
    """The fields of the rows of the report's table, between its header and its note."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("budget ms"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("  pred:"))
    return [line.split() for line in lines[start + 1 : end]]


def accuracies(row: list[str]) -> list[float]:
    """Inherited, fine-tuned (mean) and from-scratch (mean) test accuracy, %."""
    return [float(field.split("±")[0]) for field in row[3:6]]


@pytest.mark.slow
def test_the_quick_run_reports_three_budgets_and_a_rerun_reuses_every_stage(tmp_path):
    out = str(tmp_path / "ofa")
    first, first_seconds = bench("--quick", "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    rows = table_rows(first.stdout)
    assert len(rows) == 3
    for row in rows:
        assert len(row) == 9
        assert all(0.0 <= a <= 100.0 for a in accuracies(row))
        assert float(row[1]) <= float(row[0])  # the predicted latency is within the budget
        assert float(row[2]) > 0  # measured end to end
    assert "reused (" not in first.stdout and "reused from" not in first.stdout
    assert first.stdout.count("points:") == 3  # a verdict per budget
    folders = sorted(os.listdir(out))
    assert [f for f in folders if f.startswith("spec_")] and "supernet" in folders

    again, again_seconds = bench("--quick", "--out", out)
    assert again.returncode == 0, again.stderr[-2000:]
    # the supernet, 3 specialisations, 3 fine-tunings, 3 trainings from scratch; the budgets
    assert again.stdout.count("reused (") == 10
    assert "reused from budgets.json" in again.stdout
    assert again_seconds < first_seconds / 3
    assert [accuracies(r) for r in table_rows(again.stdout)] == [accuracies(r) for r in rows]
    assert sorted(os.listdir(out)) == folders


def test_a_folder_the_benchmark_did_not_write_stops_it_untouched(tmp_path):
    mine = tmp_path / "ofa" / "supernet" / "mine.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("keep")
    done, _ = bench("--quick", "--out", str(tmp_path / "ofa"), timeout=300)
    assert done.returncode == 2
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("ofa.py: error: ") and "holds no nnabla-nas run" in error
    assert os.listdir(mine.parent) == ["mine.txt"] and mine.read_text() == "keep"


def test_the_retrainings_seeds_are_held_out_from_the_supernets(tmp_path):
    done, _ = bench("--quick", "--seeds", "0,1", "--out", str(tmp_path / "ofa"), timeout=300)
    assert done.returncode == 2
    assert "0 is the supernet's seed" in done.stderr
    assert not (tmp_path / "ofa").exists()
