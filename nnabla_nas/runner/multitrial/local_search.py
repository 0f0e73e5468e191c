"""Local search with restarts: White, Zela, Ru, Liu and Hutter, "Exploring the Loss
Landscape in Neural Architecture Search", UAI 2021."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...utils.fields import choice, limited
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

MOVES = ("first", "best")


@dataclass(frozen=True)
class LocalSearchSettings:
    """The ``local:`` section of a search config."""

    # A walk starts at the best of this many random feasible architectures.
    start_samples: int = limited(1, minimum=1)
    # first: move as soon as a neighbour improves; best: evaluate every neighbour, then move.
    move: str = choice("first", MOVES)


class LocalSearch(Strategy):
    """Hill climbing over one-decision neighbours, restarted at random at each local optimum.

    A walk starts at the best of `start_samples` random feasible trials (the centre). Its
    neighbours (`ChoiceSpace.neighbours`) that pass the prefilter are evaluated in random
    order; an architecture already told is not evaluated again, its known result counts.
    With ``move='first'`` the centre moves to a neighbour as soon as one is better on the
    first objective; with ``move='best'`` once every neighbour is known, to the best of them.
    A centre no feasible neighbour beats is a local optimum (`optima`): the next walk
    starts from fresh random architectures. Failed and infeasible trials never become a
    centre.

    The walk's state changes only when a trial is told, and proposals avoid architectures
    in flight, so parallel workers evaluate distinct neighbours and telling the logged
    trials (with or without asking) resumes exactly.

    Args:
        start_samples: random feasible architectures each walk starts from the best of.
        move: ``'first'`` or ``'best'`` improvement.

    The other arguments are those of `Strategy`.
    """

    Settings = LocalSearchSettings

    @classmethod
    def create(cls, parts: StrategyParts, settings: Any) -> LocalSearch:
        return cls(**parts.arguments(), start_samples=settings.start_samples, move=settings.move)

    def __init__(
        self,
        space: ChoiceSpace,
        objectives: Sequence[Objective],
        *,
        constraints: Sequence[Constraint] = (),
        seed: int = 0,
        prefilter: Prefilter | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        start_samples: int = 1,
        move: str = "first",
    ):
        super().__init__(
            space,
            objectives,
            constraints=constraints,
            seed=seed,
            prefilter=prefilter,
            max_retries=max_retries,
        )
        if start_samples < 1:
            raise ValueError(f"start_samples must be at least 1, got {start_samples}")
        if move not in MOVES:
            raise ValueError(f"move must be one of {MOVES}, got {move!r}")
        self.start_samples = start_samples
        self.move = move
        self.centre: Trial | None = None
        self.optima: list[Trial] = []
        self._starts: list[Trial] = []
        self._around: list[Arch] = []  # the centre's neighbours passing the prefilter
        self._known: dict[Arch, Trial] = {}

    def tell(self, trial: Trial) -> None:
        """Records `trial` and moves the walk: to a start, a better neighbour, or a restart."""
        super().tell(trial)
        self._known.setdefault(trial.arch, trial)
        if self.centre is None and self.feasible(trial):
            self._starts.append(trial)
            if len(self._starts) >= self.start_samples:
                self._go_to(max(self._starts, key=self._score))
                self._starts = []
        self._settle()

    def propose(self, rng: np.random.Generator) -> Arch:
        """A random unevaluated neighbour of the centre, else a random architecture."""
        taken = self.taken()
        if self.centre is not None:
            options = [arch for arch in self._around if arch not in taken]
            if options:
                return options[rng.integers(len(options))]
            # Every unevaluated neighbour is in flight: explore at random meanwhile.
        return self.draw(lambda: self.space.sample(rng), avoid=taken)

    def _score(self, trial: Trial) -> float:
        return self.objectives[0].score(trial.values)

    def _go_to(self, trial: Trial) -> None:
        self.centre = trial
        self._around = [a for a in self.space.neighbours(trial.arch) if self.passes(a)]

    def _settle(self) -> None:
        """Moves the centre while the known neighbours allow; ends a walk at an optimum."""
        while self.centre is not None:
            known = [self._known[a] for a in self._around if a in self._known]
            better = [
                t for t in known if self.feasible(t) and self._score(t) > self._score(self.centre)
            ]
            if better and (self.move == "first" or len(known) == len(self._around)):
                self._go_to(max(better, key=self._score))
            elif len(known) == len(self._around):
                self.optima.append(self.centre)
                self.centre, self._around = None, []
            else:
                return
