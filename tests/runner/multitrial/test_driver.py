"""The trial driver and log: budget, failed trials, resume by replay."""

import numpy as np
import pytest

from nnabla_nas.runner.multitrial import Constraint, Objective, RandomSearch, RegularizedEvolution
from nnabla_nas.runner.multitrial.driver import run_trials, trial_state
from nnabla_nas.runner.multitrial.executors import Outcome, SerialExecutor, run_evaluation
from nnabla_nas.runner.multitrial.trials import TrialLog

from .synthetic import SPACE, accuracy, latency

OBJECTIVES = [Objective("accuracy", "maximize"), Objective("latency", "minimize")]


class Synthetic:
    """Evaluates the synthetic problem; architectures starting with 'pool' crash."""

    def evaluate(self, arch):
        if arch[0] == "pool":
            raise RuntimeError("out of memory")
        return {"accuracy": accuracy(arch), "latency": latency(arch)}


def evolution(seed=0):
    return RegularizedEvolution(
        SPACE,
        OBJECTIVES,
        constraints=[Constraint("latency", 12.0)],
        seed=seed,
        population_size=10,
        sample_size=3,
    )


def test_budget_counts_every_finished_trial_and_failures_are_kept(tmp_path):
    log = TrialLog(str(tmp_path / "trials.csv"))
    trials = run_trials(evolution(), SerialExecutor(Synthetic()), log, budget=40)
    assert [t.number for t in trials] == list(range(40))
    failed = [t for t in trials if t.arch[0] == "pool"]
    assert failed and all(t.state == "failed" and "out of memory" in t.error for t in failed)
    assert all(t.state == "failed" for t in trials if not t.values)
    infeasible = [t for t in trials if t.state == "infeasible"]
    assert all(t.values["latency"] > 12.0 for t in infeasible)
    again = TrialLog(str(tmp_path / "trials.csv")).load()
    assert [(t.number, t.arch, t.state, t.values, t.error) for t in again] == [
        (t.number, t.arch, t.state, t.values, t.error) for t in trials
    ]


@pytest.mark.parametrize("make", [evolution, lambda: RandomSearch(SPACE, OBJECTIVES, seed=3)])
def test_a_killed_search_resumes_to_the_same_trials(tmp_path, make):
    full = run_trials(
        make(), SerialExecutor(Synthetic()), TrialLog(str(tmp_path / "a.csv")), budget=30
    )
    log_path = str(tmp_path / "b.csv")
    run_trials(make(), SerialExecutor(Synthetic()), TrialLog(log_path), budget=12)  # "killed"
    resumed = run_trials(make(), SerialExecutor(Synthetic()), TrialLog(log_path), budget=30)
    assert [t.arch for t in resumed] == [t.arch for t in full]


def test_trial_state_and_evaluation_errors():
    ok = run_evaluation(Synthetic(), 0, ("conv3",) * 6)
    assert ok.error == "" and ok.values["accuracy"] == pytest.approx(accuracy(("conv3",) * 6))
    bad = run_evaluation(Synthetic(), 1, ("pool",) * 6)
    assert bad.values == {} and bad.error.startswith("RuntimeError: out of memory (at ")
    budget = [Constraint("latency", 1.0)]
    assert trial_state(bad, budget) == "failed"
    assert trial_state(Outcome(2, {"latency": 0.5, "accuracy": 1.0}, "", 0.0), budget) == "complete"
    assert (
        trial_state(Outcome(3, {"latency": 2.0, "accuracy": 1.0}, "", 0.0), budget) == "infeasible"
    )


def test_log_writes_values_as_columns(tmp_path):
    log = TrialLog(str(tmp_path / "t.csv"))
    run_trials(RandomSearch(SPACE, OBJECTIVES, seed=0), SerialExecutor(Synthetic()), log, budget=5)
    header = (tmp_path / "t.csv").read_text().splitlines()[0].split(",")
    assert header == ["number", "state", "arch", "seconds", "accuracy", "latency", "error"]
    assert np.isfinite([t.values.get("accuracy", 0.0) for t in log.trials]).all()
