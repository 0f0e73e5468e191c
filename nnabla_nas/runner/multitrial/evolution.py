"""Regularized (aging) evolution: Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...utils.fields import limited
from .space import Arch, ChoiceSpace
from .strategy import (
    DEFAULT_MAX_RETRIES,
    Constraint,
    Objective,
    Prefilter,
    Strategy,
    StrategyParts,
    Trial,
)


@dataclass(frozen=True)
class EvolutionSettings:
    """The ``evolution:`` section of a search config."""

    # The population: the newest trials kept. On NAS-Bench-201 with 300 trials, a population
    # of half the budget and a tournament of a fifth of it found better architectures than
    # Real et al.'s 100/25 scaled down (benchmarks/nb201_search.py); None applies those
    # ratios to the budget.
    population_size: int | None = limited(None, minimum=2)
    sample_size: int | None = limited(None, minimum=1)  # the tournament: members drawn


class RegularizedEvolution(Strategy):
    """Tournament selection and one-decision mutation over an aging population.

    The population is the last `population_size` feasible complete trials, in the order they
    were told: a new member pushes out the oldest, however good. Until the population is
    full (the first `population_size` asks when none fails), proposals are uniform random.
    After that each proposal mutates the best of `sample_size` members drawn without
    replacement, judged by the first objective only (other objectives are recorded and enter
    `front`, not selection). Failed and infeasible trials never join the population.

    If no mutation of the parent passes the prefilter in `max_retries` draws, a random
    architecture that passes it is proposed instead.
    """

    Settings = EvolutionSettings

    @classmethod
    def create(cls, parts: StrategyParts, settings: Any) -> RegularizedEvolution:
        population = settings.population_size or max(parts.budget // 2, 2)
        sample = settings.sample_size or max(population // 5, 1)
        return cls(**parts.arguments(), population_size=population, sample_size=sample)

    def __init__(
        self,
        space: ChoiceSpace,
        objectives: Sequence[Objective],
        *,
        constraints: Sequence[Constraint] = (),
        seed: int = 0,
        prefilter: Prefilter | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        population_size: int = 50,
        sample_size: int = 10,
    ):
        super().__init__(
            space,
            objectives,
            constraints=constraints,
            seed=seed,
            prefilter=prefilter,
            max_retries=max_retries,
        )
        if not 1 <= sample_size <= population_size:
            raise ValueError(
                f"need 1 <= sample_size <= population_size, got sample_size={sample_size}, "
                f"population_size={population_size}"
            )
        self.population_size = population_size
        self.sample_size = sample_size
        self.population: deque[Trial] = deque(maxlen=population_size)

    def tell(self, trial: Trial) -> None:
        """Records `trial`; a feasible complete one joins the population, ageing out the oldest."""
        super().tell(trial)
        if self.feasible(trial):
            self.population.append(trial)

    def propose(self, rng: np.random.Generator) -> Arch:
        """A random architecture while the population fills, then a mutated tournament winner."""
        # Re-evaluating a known architecture, or one in flight, spends budget for nothing.
        seen = self.taken()
        if len(self.population) < self.population_size:
            return self.draw(lambda: self.space.sample(rng), avoid=seen)
        parent = self.select(rng)
        try:
            return self.draw(lambda: self.space.mutate(parent.arch, rng), avoid=seen)
        except RuntimeError:
            return self.draw(lambda: self.space.sample(rng), avoid=seen)

    def select(self, rng: np.random.Generator) -> Trial:
        """The best of `sample_size` distinct random members on the first objective."""
        members = list(self.population)
        picked = rng.choice(len(members), size=self.sample_size, replace=False)
        objective = self.objectives[0]
        return max((members[i] for i in sorted(picked)), key=lambda t: objective.score(t.values))
