"""Predictor-guided search in the spirit of BANANAS: White, Neiswanger and Savani, "BANANAS:
Bayesian Optimization with Neural Architectures for Neural Architecture Search", AAAI 2021.

As in BANANAS, each proposal fits a predictor with an uncertainty to the trials so far,
scores candidates made by mutating the best architecture and drawn at random, and proposes
the best by an acquisition function; a space may encode architectures by their paths.
What differs, each measured on NAS-Bench-201 (raspi4 latency at most its median, 100
queries, mean gap to the best feasible accuracy over the tuning seeds 100-119 of
benchmarks/nb201_search.py; the reported seeds are 0-19, benchmarks/README.md):

- the predictor is Bayesian linear regression (`LinearPredictor`) on the path encoding,
  with an exact posterior: a search takes 2-3 s. BANANAS's ensemble of neural networks
  (tried as 5 scikit-learn MLPs of 20x20 units) needed more than 8 CPU minutes for fewer
  than 20 searches, and was not compared further;
- the acquisition is an upper confidence bound, mean + `kappa` x std: gap 0.082 with
  kappa 4 against 0.244 for independent Thompson sampling, BANANAS's choice (kappa 2, 6,
  8, 12: 0.153, 0.097, 0.100, 0.124);
- every one-decision mutation of the best feasible trial is a candidate, not a few random
  ones (at kappa 6: 1000 random candidates 0.097, 300: 0.102; mutating the two best:
  0.104; 10 initial random trials 0.097, 5: 0.091, 20: 0.127).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import BayesianRidge

from ...utils.fields import limited
from .space import Arch, ChoiceSpace
from .strategy import (
    DEFAULT_MAX_RETRIES,
    Constraint,
    Encoder,
    Objective,
    Prefilter,
    Strategy,
    StrategyParts,
    Trial,
)

#: Targets below this quantile of the told values are raised to it before a fit. The worst
#: architectures (10 % accuracy, every path cut by 'none') otherwise dominate a squared loss
#: that should rank the good ones: without the floor the gap was 0.245, with it 0.082.
FLOOR_QUANTILE = 0.5


@dataclass(frozen=True)
class BananasSettings:
    """The ``bananas:`` section of a search config."""

    initial: int = limited(10, minimum=1)  # random proposals before the predictor is used
    parents: int = limited(1, minimum=0)  # best feasible trials whose mutations are scored
    random_candidates: int = limited(1000, minimum=0)  # uniform draws scored per proposal
    kappa: float = limited(4.0, minimum=0.0)  # the acquisition: mean + kappa x std

    def __post_init__(self) -> None:
        if self.parents == 0 and self.random_candidates == 0:
            raise ValueError("parents and random_candidates are both 0: nothing to score")


class LinearPredictor:
    """Bayesian linear regression of a target on a code of architectures.

    `predict` gives the posterior mean and the standard deviation of that mean, without
    the noise of a single evaluation: the uncertainty a new evaluation would reduce.
    """

    def __init__(self) -> None:
        self.model = BayesianRidge()

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearPredictor:
        """Fits `y` (one value per row of `x`)."""
        self.model.fit(x, y)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The mean and standard deviation of the prediction at each row of `x`."""
        # The posterior covariance is of the weights on centred features (the intercept
        # takes the mean): scikit-learn's return_std applies it to raw rows, which adds
        # the prior variance of every direction the centring removed.
        centred = x - self.model.X_offset_
        variance = np.einsum("ij,jk,ik->i", centred, self.model.sigma_, centred)
        return self.model.predict(x), np.sqrt(np.maximum(variance, 0.0))


class BananasSearch(Strategy):
    """Proposes the candidate a predictor of the first objective rates best.

    The first `initial` proposals are uniform random. After that each proposal fits a
    `LinearPredictor` to the trials told so far: the code of each architecture (`encode`)
    to its first objective, signed so that larger is better and floored at the median
    (`FLOOR_QUANTILE`). Failed trials have no value and are left out; infeasible ones enter
    at the floor, so the predictor learns to avoid what breaks a constraint the prefilter
    does not see. The candidates are every one-decision mutation of the `parents` best
    feasible trials and `random_candidates` uniform draws, less those failing the prefilter,
    already told or in flight; the proposal is the candidate of highest mean + `kappa` x
    std.

    Args:
        initial: random proposals before the predictor is used.
        parents: best feasible trials whose one-decision mutations are candidates.
        random_candidates: uniform draws per proposal (duplicates and rejects dropped).
        kappa: the weight of the predictor's uncertainty in the acquisition.
        encode: the code of a list of architectures, one row each (default: one-hot
            columns per decision, `ChoiceSpace.one_hot`); a space's `choice_encoding`.

    The other arguments are those of `Strategy`. Fitting is deterministic and randomness
    comes from the ask's generator, so a seed gives the same proposals; a proposal depends
    only on the trials told, so `replay` only tells.
    """

    Settings = BananasSettings

    @classmethod
    def create(cls, parts: StrategyParts, settings: Any) -> BananasSearch:
        return cls(**parts.arguments(), encode=parts.encode, **vars(settings))

    def __init__(
        self,
        space: ChoiceSpace,
        objectives: Sequence[Objective],
        *,
        constraints: Sequence[Constraint] = (),
        seed: int = 0,
        prefilter: Prefilter | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        initial: int = 10,
        parents: int = 1,
        random_candidates: int = 1000,
        kappa: float = 4.0,
        encode: Encoder | None = None,
    ):
        super().__init__(
            space,
            objectives,
            constraints=constraints,
            seed=seed,
            prefilter=prefilter,
            max_retries=max_retries,
        )
        for name, value, least in [
            ("initial", initial, 1), ("parents", parents, 0),
            ("random_candidates", random_candidates, 0), ("kappa", kappa, 0.0),
        ]:  # fmt: skip
            if value < least:
                raise ValueError(f"{name} must be at least {least}, got {value}")
        BananasSettings(initial, parents, random_candidates, kappa)  # the check across them
        self.initial, self.parents = initial, parents
        self.random_candidates, self.kappa = random_candidates, kappa
        self.encode: Encoder = encode or space.one_hot
        self._passing: dict[Arch, bool] = {}  # prefilter results: candidates recur

    def replay(self, trials: Iterable[Trial]) -> None:
        """Tells the logged `trials`: proposals depend on them alone, so no ask is needed."""
        for trial in trials:
            self.tell(trial)

    def propose(self, rng: np.random.Generator) -> Arch:
        """A random architecture for the first `initial` values, then the best candidate."""
        taken = self.taken()
        scored = [t for t in self.trials if self.objectives[0].name in t.values]
        pool = self.candidates(rng, taken) if len(scored) >= self.initial else []
        if not pool:
            return self.draw(lambda: self.space.sample(rng), avoid=taken)
        mean, std = self.fit(scored).predict(self.encode(pool))
        return pool[int(np.argmax(mean + self.kappa * std))]

    def fit(self, trials: Sequence[Trial]) -> LinearPredictor:
        """The predictor of the first objective fitted to `trials` (each with its value)."""
        values = np.array([self.objectives[0].score(t.values) for t in trials])
        floor = np.quantile(values, FLOOR_QUANTILE)
        feasible = np.array([self.feasible(t) for t in trials])
        target = np.where(feasible, np.maximum(values, floor), floor)
        return LinearPredictor().fit(self.encode([t.arch for t in trials]), target)

    def candidates(self, rng: np.random.Generator, taken: set[Arch]) -> list[Arch]:
        """The parents' one-decision mutations and the random draws that are new and pass
        the prefilter, each once, mutations first."""
        ranked = sorted(
            (t for t in self.trials if self.feasible(t)),
            key=lambda t: self.objectives[0].score(t.values),
            reverse=True,
        )
        mutations = [a for t in ranked[: self.parents] for a in self.space.neighbours(t.arch)]
        draws = [self.space.sample(rng) for _ in range(self.random_candidates)]
        fresh = (a for a in [*mutations, *draws] if a not in taken and self.passes(a))
        return list(dict.fromkeys(fresh))

    def passes(self, arch: Arch) -> bool:
        """Whether `arch` passes the prefilter, asked once per architecture: the same
        candidates recur from one proposal to the next."""
        if arch not in self._passing:
            self._passing[arch] = super().passes(arch)
        return self._passing[arch]
