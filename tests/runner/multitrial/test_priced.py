"""PricedExecutor: values priced in this process join each evaluation's; a candidate
that cannot be priced is a failed trial and is not evaluated."""

from nnabla_nas.runner.multitrial import Constraint, RandomSearch
from nnabla_nas.runner.multitrial.driver import run_trials
from nnabla_nas.runner.multitrial.executors import SerialExecutor
from nnabla_nas.runner.multitrial.priced import PricedExecutor
from nnabla_nas.runner.multitrial.trials import TrialLog

from .synthetic import ACCURACY, LATENCY, SPACE, accuracy, latency


class Accuracy:
    """Evaluates the accuracy only; records what it was given."""

    def __init__(self):
        self.seen = []

    def evaluate(self, decoded):
        self.seen.append(decoded)
        arch = decoded[1:]
        if arch[1] == "pool":
            raise RuntimeError("out of memory")
        return {"accuracy": accuracy(arch)}


def price(arch):
    if arch[0] == "none":
        raise ValueError("no path")
    return {"latency": latency(arch)}


def test_prices_join_the_evaluations_and_unpriced_candidates_fail_unevaluated(tmp_path):
    evaluator = Accuracy()
    executor = PricedExecutor(SerialExecutor(evaluator), price, decode=lambda a: ("x", *a))
    strategy = RandomSearch(
        SPACE, [ACCURACY, LATENCY], constraints=[Constraint("latency", 12.0)], seed=0
    )
    trials = run_trials(strategy, executor, TrialLog(str(tmp_path / "t.csv")), budget=60)
    assert len(trials) == 60
    for t in trials:
        if t.arch[0] == "none":
            assert t.state == "failed" and t.error == "ValueError: no path"
        elif t.arch[1] == "pool":
            assert t.state == "failed" and "out of memory" in t.error and not t.values
        else:
            assert t.values == {"accuracy": accuracy(t.arch), "latency": latency(t.arch)}
            assert t.state == ("complete" if latency(t.arch) <= 12.0 else "infeasible")
    assert [a[1:] for a in evaluator.seen] == [t.arch for t in trials if t.arch[0] != "none"]
    assert all(a[0] == "x" for a in evaluator.seen)  # what the evaluator gets is decoded
    assert {t.arch[0] for t in trials} >= {"none", "skip"}  # both kinds were drawn
