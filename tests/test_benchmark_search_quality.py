"""benchmarks/search_quality.py: the statistics behind its verdicts (the retraining's
agreement with itself, the share of variance the architecture explains, how a search's
final probabilities rank the pool) and its argument checks."""

import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest

from nnabla_nas.visualize.plots import write_probabilities

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sq():
    spec = importlib.util.spec_from_file_location(
        "search_quality", ROOT / "benchmarks" / "search_quality.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["search_quality"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    del sys.modules["search_quality"]


def test_architecture_share_is_one_without_seed_noise_and_near_zero_without_signal(sq):
    assert sq.architecture_share([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noise_only = rng.normal(size=(400, 2)).tolist()
    assert abs(sq.architecture_share(noise_only)) < 0.1
    # architecture std 2, seed std 1: ICC = 4 / (4 + 1)
    signal = (rng.normal(scale=2.0, size=(2000, 1)) + rng.normal(size=(2000, 2))).tolist()
    assert sq.architecture_share(signal) == pytest.approx(0.8, abs=0.03)
    assert math.isnan(sq.architecture_share([[1.0, 2.0]]))  # one architecture
    assert math.isnan(sq.architecture_share([[1.0, 2.0], [3.0]]))  # unequal counts


def test_tau_and_log_probability(sq):
    assert sq.tau([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert sq.tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(sq.tau([1, 1, 1], [1, 2, 3]))
    probs = [{"a": 0.5, "b": 0.5}, {"a": 0.25, "b": 0.75}]
    assert sq.log_probability(probs, ["a", "b"]) == pytest.approx(math.log(0.5 * 0.75))


def test_final_probabilities_are_stored_or_read_from_the_last_epoch(sq, tmp_path):
    path = str(tmp_path / "arch_probs.csv")
    write_probabilities(path, 1, {"block_0": {"a": 0.5, "b": 0.5}, "block_1": {"a": 0.9, "b": 0.1}})
    write_probabilities(path, 2, {"block_0": {"a": 0.2, "b": 0.8}, "block_1": {"a": 0.6, "b": 0.4}})
    read = sq.final_probabilities({"folder": str(tmp_path)})
    assert read == [pytest.approx({"a": 0.2, "b": 0.8}), pytest.approx({"a": 0.6, "b": 0.4})]
    stored = [{"a": 1.0}]
    assert sq.final_probabilities({"probabilities": stored, "folder": str(tmp_path)}) == stored
    assert sq.final_probabilities({"folder": str(tmp_path / "gone")}) is None


def record(arch, accuracy, loss):
    return {"arch": arch, "blocks": [arch], "test_accuracy": accuracy, "test_loss": loss}


def test_a_search_whose_probabilities_follow_the_pool_ranks_it_at_tau_one(sq):
    pool = [record(a, acc, loss) for a, acc, loss in [("a", 0.97, 0.09), ("b", 0.98, 0.05),
                                                      ("c", 0.99, 0.02)]]  # fmt: skip
    follows = {"probabilities": [{"a": 0.1, "b": 0.3, "c": 0.6}]}
    against = {"probabilities": [{"a": 0.6, "b": 0.3, "c": 0.1}]}
    no_alphas = {"folder": "/nonexistent"}
    cell = sq.Cell("x", 1.0, [], [follows, no_alphas], pool, 2)
    assert cell.ranking() == (pytest.approx(1.0), pytest.approx(1.0), 1)
    cell = sq.Cell("x", 1.0, [], [follows, against], pool, 2)
    assert cell.ranking() == (pytest.approx(0.0), pytest.approx(0.0), 2)
    assert math.isnan(sq.Cell("x", 1.0, [], [no_alphas], pool, 1).ranking()[0])


def test_the_repeat_table_reports_a_setting_without_and_with_signal(sq, capsys):
    # retrainings that agree: tau 1, the top quarter again beats all but itself
    firsts = [record(f"a{i}", 0.90 + 0.01 * i, 0.5 - 0.01 * i) for i in range(8)]
    again = [[record(f"a{i}", 0.905 + 0.01 * i, 0.495 - 0.01 * i)] for i in range(8)]
    agreement = sq.repeat_table(1.0, firsts, again)
    assert agreement.tau == (pytest.approx(1.0), pytest.approx(1.0))
    assert agreement.top_again[0] == pytest.approx(100 * (8 + 7) / 2 / 8)
    # two retrainings 0.005 (accuracy) apart: a std over seeds of 0.005 / sqrt(2)
    assert agreement.seed_std[0] == pytest.approx(100 * 0.005 / 2**0.5)
    rows = {
        line.split()[0]: line.split()
        for line in capsys.readouterr().out.splitlines()
        if line.strip()
    }
    assert rows["accuracy"][4] == "1.000" and rows["loss"][3] == "1.000"
    # the top two (a7, a6) retrained again beat 8 and 7 of the 8 first retrainings
    assert float(rows["accuracy"][-1]) == pytest.approx(100 * (8 + 7) / 2 / 8, abs=0.05)
    # reversed retrainings: the best first is the worst again
    reverse = [[record(f"a{i}", 0.97 - 0.01 * i, 0.43 + 0.01 * i)] for i in range(8)]
    sq.repeat_table(1.0, firsts, reverse)
    rows = {
        line.split()[0]: line.split()
        for line in capsys.readouterr().out.splitlines()
        if line.strip()
    }
    assert rows["accuracy"][4] == "-1.000"
    # one architecture retrained again is too few
    assert sq.repeat_table(1.0, firsts, [again[0]] + [[]] * 7) is None
    assert "not retrained again yet" in capsys.readouterr().out


def test_repeat_needs_another_seed(sq, capsys):
    with pytest.raises(SystemExit) as exit_info:
        sq.parse_args(["--seeds", "1,2", "--repeat", "2"])
    assert exit_info.value.code == 2
    assert "--repeat must be 0 to 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sq.parse_args(["--seeds", "1,1"])
    assert "distinct seeds" in capsys.readouterr().err
    assert sq.parse_args(["--seeds", "1,2", "--repeat", "1"]).repeat == 1
    assert sq.parse_args([]).repeat == 1 and sq.parse_args(["--quick"]).repeat == 0


def test_screen_needs_the_repeat(sq, capsys):
    with pytest.raises(SystemExit):
        sq.parse_args(["--screen", "--repeat", "0"])
    assert "--screen needs --repeat 1 or more" in capsys.readouterr().err
    assert sq.parse_args(["--screen"]).screen
