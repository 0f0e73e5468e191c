"""The tiny model, data and cost stand-in shared by the searcher tests."""

import nnabla as nn
import nnabla.functions as F
import numpy as np

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model


class Choice(Model):
    """One choice between a path that erases the input (0) and two informative ones (1, 2)."""

    def __init__(self, seed=0):
        rs = np.random.RandomState(seed)
        self._mix = Mo.MixedOp(
            [Mo.Zero(), Mo.Identity(), Mo.Conv(4, 4, (1, 1), rng=rs)],
            rng=np.random.default_rng(seed),
        )
        self._head = Mo.Sequential(Mo.GlobalAvgPool(), Mo.Linear(4, 4, rng=rs))

    def call(self, x):
        return self._head(self._mix(x))


def batch(rng, n=32):
    """The label is the channel with the largest mean: learnable only through the input."""
    x = rng.normal(size=(n, 4, 3, 3)).astype(np.float32)
    x[np.arange(n), rng.integers(0, 4, n)] += 2.0
    return x, x.mean(axis=(2, 3)).argmax(axis=1)[:, None]


class ExpectedCost:
    """A stand-in estimator of `Choice`: the conv costs 10, the rest 1."""

    costs = np.array([1.0, 1.0, 10.0])

    def cost(self, model, input_shape=None):
        return float(self.costs[model._mix.index])

    def expected(self, model, input_shape=None):
        probs = F.softmax(F.reshape(model._mix.alpha, (3,)), axis=0)
        return F.sum(probs * nn.Variable.from_numpy_array(self.costs.astype(np.float32)))

    def choice_costs(self, model, input_shape=None):
        return 0.0, {id(model._mix): self.costs}
