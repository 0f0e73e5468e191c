"""The Optuna adapter: samplers, the state mapping into the study, logging and resuming."""

import logging

import optuna
import pytest
from optuna.samplers import NSGAIISampler, RandomSampler, TPESampler
from optuna.trial import TrialState

from nnabla_nas.runner.multitrial import Objective, OptunaStrategy, Trial

from .synthetic import ACCURACY, LATENCY, SPACE, budget_constraint, evaluate, run, under_budget


def small_nsga2(seed: int) -> NSGAIISampler:
    return NSGAIISampler(seed=seed, population_size=10)


def test_default_samplers_and_directions():
    single = OptunaStrategy(SPACE, [ACCURACY])
    assert isinstance(single.study.sampler, TPESampler)
    assert single.study.directions == [optuna.study.StudyDirection.MAXIMIZE]
    double = OptunaStrategy(SPACE, [LATENCY, ACCURACY])
    assert isinstance(double.study.sampler, NSGAIISampler)
    assert [d.name for d in double.study.directions] == ["MINIMIZE", "MAXIMIZE"]


def test_a_sampler_instance_is_used_as_is():
    sampler = RandomSampler(seed=0)
    search = OptunaStrategy(SPACE, [ACCURACY], sampler=sampler)
    run(search, 5)
    assert search.study.sampler is sampler
    assert len(search.study.trials) == 5


def test_trial_states_map_into_the_study():
    search = OptunaStrategy(SPACE, [LATENCY, ACCURACY], constraints=[budget_constraint()])
    told = [
        Trial(0, search.ask(), "complete", {"accuracy": 90.0, "latency": 8.0}),
        Trial(1, search.ask(), "failed", error="out of memory"),
        Trial(2, search.ask(), "infeasible", {"latency": 15.0}),
        Trial(3, search.ask(), "complete", {"accuracy": 95.0, "latency": 13.0}),
        Trial(4, search.ask(), "infeasible"),
    ]
    for trial in told:
        search.tell(trial)
    study = search.study.trials
    assert [t.state for t in study] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.PRUNED,
        TrialState.PRUNED,
        TrialState.PRUNED,
    ]
    assert study[0].values == [8.0, 90.0]
    assert study[0].constraints == {"latency": -4.0}
    assert study[2].constraints == {"latency": 3.0}
    assert study[3].constraints == {"latency": 1.0}
    assert study[4].constraints == {"infeasible": 1.0}
    assert [SPACE.from_dict(t.params) for t in study] == [t.arch for t in told]


def test_failed_trials_do_not_stop_the_study():
    search = OptunaStrategy(SPACE, [ACCURACY], seed=1)
    for number in range(15):
        search.tell(Trial(number, search.ask(), "failed", error="boom"))
    trials = run(search, 15)
    assert len(search.study.trials) == 30
    assert search.best() in trials
    assert sum(t.state == TrialState.FAIL for t in search.study.trials) == 15


def test_prefilter_rejections_are_told_infeasible_and_never_proposed():
    search = OptunaStrategy(SPACE, [ACCURACY], seed=2, prefilter=under_budget)
    trials = run(search, 30)
    assert all(under_budget(t.arch) for t in trials)
    rejected = [t for t in search.study.trials if t.state == TrialState.PRUNED]
    assert rejected, "the budget rejects about 70 % of the space"
    assert all(t.constraints == {"prefilter": 1.0} for t in rejected)
    assert not any(under_budget(SPACE.from_dict(t.params)) for t in rejected)


@pytest.mark.parametrize(
    ("objectives", "sampler"),
    [([ACCURACY], None), ([ACCURACY, LATENCY], small_nsga2)],
    ids=["tpe", "nsga2"],
)
@pytest.mark.parametrize("prefilter", [None, under_budget], ids=["open", "prefiltered"])
def test_replay_continues_exactly_past_generations(objectives, sampler, prefilter):
    def make():
        return OptunaStrategy(SPACE, objectives, seed=7, sampler=sampler, prefilter=prefilter)

    trials = run(make(), 40)
    resumed = make()
    resumed.replay(trials[:32])
    assert [t.arch for t in run(resumed, 8)] == [t.arch for t in trials[32:]]


def test_telling_without_asking_accounts_for_every_trial():
    trials = run(OptunaStrategy(SPACE, [ACCURACY, LATENCY], seed=3, sampler=small_nsga2), 30)
    resumed = OptunaStrategy(SPACE, [ACCURACY, LATENCY], seed=3, sampler=small_nsga2)
    for trial in trials:
        resumed.tell(trial)
    study = resumed.study.trials
    assert [SPACE.from_dict(t.params) for t in study] == [t.arch for t in trials]
    assert [t.values for t in study] == [
        [t.values["accuracy"], t.values["latency"]] for t in trials
    ]
    key = small_nsga2(0)._get_generation_key()
    assert [t.system_attrs[key] for t in study] == [0] * 10 + [1] * 10 + [2] * 10
    assert resumed.n_asked == 30
    SPACE.validate(resumed.ask())


def test_a_sampler_instance_resumes_with_all_trials():
    trials = run(OptunaStrategy(SPACE, [ACCURACY], sampler=TPESampler(seed=0)), 20)
    resumed = OptunaStrategy(SPACE, [ACCURACY], sampler=TPESampler(seed=0))
    resumed.replay(trials)
    finished = [t for t in resumed.study.trials if t.state == TrialState.COMPLETE]
    assert [SPACE.from_dict(t.params) for t in finished] == [t.arch for t in trials]
    assert resumed.best() == max(trials, key=lambda t: t.values["accuracy"])


def test_a_replayed_trial_abandons_proposals_still_pending():
    search = OptunaStrategy(SPACE, [ACCURACY], seed=4)
    first, second = search.ask(), search.ask()
    logged = evaluate(0, ("skip",) * 6)
    search.tell(logged)
    states = [t.state for t in search.study.trials]
    assert states == [TrialState.FAIL, TrialState.FAIL, TrialState.COMPLETE]
    search.tell(evaluate(1, first))
    assert search.study.trials[-1].state == TrialState.COMPLETE
    assert SPACE.from_dict(search.study.trials[-1].params) == first
    assert second not in [t.arch for t in search.trials]


def test_optuna_info_logging_is_silenced_and_restored(capfd):
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.INFO)
    try:
        search = OptunaStrategy(SPACE, [ACCURACY])
        run(search, 3)
        assert optuna.logging.get_verbosity() == logging.INFO
    finally:
        optuna.logging.set_verbosity(previous)
    err = capfd.readouterr().err
    assert "Trial" not in err and "A new study" not in err


def test_objective_order_is_kept_for_several_objectives():
    search = OptunaStrategy(SPACE, [Objective("latency", "minimize"), ACCURACY], seed=0)
    trial = evaluate(0, search.ask())
    search.tell(trial)
    assert search.study.trials[0].values == [trial.values["latency"], trial.values["accuracy"]]
