"""`SposSearcher`: Single Path One-Shot (Guo et al., ECCV 2020): a supernet trained on
uniformly drawn paths, then an evolutionary search over its paths."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

import nnabla as nn
import numpy as np

from ...contrib.model import Model
from ...module.mixedop import find_choices
from ...optimizer import Optimizer
from ...utils.fields import limited
from ...utils.io import atomic_path
from .. import paths
from ..algorithm import Batch, Graph, Transform
from ..paths import DECIDED, Path
from .cost import Cost, CostModel
from .search import Searcher, SearchParts

__all__ = ["DECIDED", "Found", "NoFeasiblePath", "Path", "SposSearcher", "SposSettings", "evolve"]

logger = logging.getLogger("nnabla_nas")

#: Proposals per wanted new path before the evolution gives up filling a population (a
#: small space runs out of unseen paths; a tight budget rejects most proposals).
TRIES = 20


@dataclass(frozen=True)
class SposSettings:
    """The ``spos:`` (and ``fairnas:``) section: the evolutionary search after training.

    The paper (ImageNet) scores a population of 50 for 20 generations, breeding each from
    the 10 best paths found so far, half the children by mutation (probability 0.1 per
    choice) and half by crossover. The defaults score at most 100 paths, for a CPU.
    """

    population: int = limited(20, minimum=2)  # paths scored per generation
    parents: int = limited(5, minimum=1)  # the top-k paths found so far, the parents
    generations: int = limited(5, minimum=1)  # populations scored, the first one random
    mutation_prob: float = limited(0.1, above=0.0, maximum=1.0)  # per choice of a child
    calib_batches: int = limited(5, minimum=1)  # training batches recalibrating BN per path
    eval_batches: int | None = limited(None, minimum=1)  # validation batches scored; None: all

    def __post_init__(self) -> None:
        if self.parents > self.population:
            raise ValueError(
                f"parents ({self.parents}) must be at most the population ({self.population})"
            )


class NoFeasiblePath(ValueError):
    """The evolution drew no path that passes its feasibility test."""


@dataclass(frozen=True)
class Found:
    """The result of `evolve`: the best path, its score, and the paths scored."""

    path: Path
    score: float
    scored: int


def evolve(
    sizes: Sequence[int],
    score: Callable[[Path], float],
    feasible: Callable[[Path], bool],
    settings: SposSettings,
    rng: np.random.Generator,
    on_generation: Callable[[dict[str, Any]], None] = lambda row: None,
) -> Found:
    """SPOS's evolutionary search over paths of choices with `sizes` candidates.

    The first population is drawn uniformly; each later one is bred from the `parents`
    best paths scored so far: half by mutation (each choice redrawn uniformly with
    `mutation_prob`), half by crossover (each choice from one of two parents), the rest
    drawn uniformly. Only unseen paths that pass `feasible` are scored, so an infeasible
    path is never selected. `on_generation` receives one row per generation.

    Raises:
        NoFeasiblePath: no feasible path was found.
    """
    s = settings
    scores: dict[Path, float] = {}
    seen: set[Path] = set()

    parents: list[Path] = []

    def uniform() -> Path:
        return tuple(int(rng.integers(n)) for n in sizes)

    def top() -> list[Path]:
        return sorted(scores, key=lambda p: (-scores[p], p))[: s.parents]

    def mutate() -> Path:
        parent = parents[int(rng.integers(len(parents)))]
        redraw = rng.random(len(sizes)) < s.mutation_prob
        return tuple(
            int(rng.integers(n)) if r else i for n, r, i in zip(sizes, redraw, parent, strict=True)
        )

    def crossover() -> Path:
        pick = rng.choice(len(parents), 2, replace=len(parents) < 2)
        a, b = parents[int(pick[0])], parents[int(pick[1])]
        first = rng.random(len(sizes)) < 0.5
        return tuple(x if f else y for x, y, f in zip(a, b, first, strict=True))

    def fill(found: list[Path], wanted: int, propose: Callable[[], Path]) -> int:
        rejected = 0
        for _ in range(TRIES * wanted):
            if len(found) >= wanted:
                break
            path = propose()
            if path in seen:
                continue
            seen.add(path)
            if feasible(path):
                found.append(path)
            else:
                rejected += 1
        return rejected

    population: list[Path] = []
    for generation in range(s.generations):
        if generation == 0:
            rejected = fill(population, s.population, uniform)
        else:
            parents[:] = top()
            half = s.population // 2
            rejected = fill(population, half, mutate)
            rejected += fill(population, 2 * half, crossover)
            rejected += fill(population, s.population, uniform)
        if not scores and not population:
            raise NoFeasiblePath(f"no feasible path among the {len(seen)} drawn")
        for path in population:
            scores[path] = score(path)
        best = top()[0]
        on_generation(
            {"generation": generation, "scored": len(population), "infeasible": rejected,
             "best_score": scores[best], "best_path": best}
        )  # fmt: skip
        if not population:
            break  # no unseen feasible path is left to breed
        population = []
    best = top()[0]
    return Found(best, scores[best], len(scores))


class SposSearcher(Searcher):
    """Trains the weights on uniformly drawn single paths, then evolves paths (SPOS).

    Single Path One-Shot (Guo et al., "Single Path One-Shot Neural Architecture Search
    with Uniform Sampling", ECCV 2020) decouples the weights from the architecture: each
    step draws one candidate per choice uniformly (from the epoch's generator `rng`, never
    from softmax(alpha)), and only that path's weights learn. No architecture parameter
    is learned; the alphas stay at zero (uniform) during the epochs.

    After the last epoch, `finish` runs the paper's evolutionary search (`evolve`, sized
    by `SposSettings`): each candidate path inherits the supernet's weights and is scored
    by its validation accuracy, after its BatchNorm running statistics are recalibrated
    on `calib_batches` training batches (their exact mean, in training mode); the
    statistics of the supernet are those of no single path. The best path becomes the
    architecture: each choice's alpha gets a logit `DECIDED` above the others at it, so
    ``space.derive`` (argmax) gives it, and the BatchNorm statistics saved with the
    weights are the found path's. MixedOps sharing an alpha are one choice and always take
    one candidate together. (A space whose derivation is not the argmax of each choice,
    like the DARTS cells keeping two edges per node, derives less than the path scored.)

    Hardware cost (optional): a cost of mode ``'target'`` is a hard budget: a path whose
    cost (the estimator's `cost` of the path on one input) exceeds `cost_target` is
    infeasible, never scored and never selected. Its weight has no use here.

    Each `train_on_batch` uses the ``'train'`` batch; evaluation during the epochs scores
    one uniformly drawn path per batch. The evolution is not checkpointed: it draws from
    the generator `finish` receives and recalibrates every path from scratch, so a
    resumed run redoes it from the last epoch's checkpoint to the same result.

    Args:
        model: the supernet; its `MixedOp` choices are searched.
        optimizer: updates the weights of the drawn paths.
        settings: the evolution (`SposSettings`).
        estimator: prices a path for the budget, if any.
        cost_target: the budget, in the estimator's unit (one input).
    """

    # Its draws and per-path updates are not yet made equal to one process's under data
    # parallel; the application refuses it under mpiexec.
    data_parallel = False

    Settings = SposSettings
    cost_modes = ("target",)
    learns_alphas = False
    trains_subnets = True
    choice = "max"  # every graph builds the path its choices' alphas are set to
    eval_choice = "max"

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        *,
        settings: SposSettings | None = None,
        estimator: CostModel | None = None,
        cost_target: float | None = None,
        transform: Transform | None = None,
        context: nn.Context | None = None,
    ) -> None:
        super().__init__(model, {"weights": optimizer}, transform=transform, context=context)
        self.settings = SposSettings() if settings is None else settings
        self.choices = find_choices(model)
        if not self.choices:
            raise ValueError(f"{type(model).__name__} has no MixedOp to search")
        if estimator is not None:
            if not cost_target or cost_target <= 0:
                raise ValueError(f"{type(self).__name__}'s cost budget needs a positive target")
            self.cost = Cost(estimator, "target", 0.0, cost_target)
        for c in self.choices:
            c.alpha.d = np.zeros(c.alpha.shape)
        self.found: Path | None = None

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: SposSettings) -> SposSearcher:
        cost = parts.cost
        if cost is not None and cost.mode not in cls.cost_modes:
            raise ValueError(f"{cls.__name__} takes the cost modes {cls.cost_modes}, "
                             f"not {cost.mode!r}")  # fmt: skip
        return cls(
            model, parts.optimizer, settings=settings,
            estimator=None if cost is None else cost.estimator,
            cost_target=None if cost is None else cost.target,
            transform=parts.transform, context=parts.context,
        )  # fmt: skip

    @classmethod
    def cost_problem(cls, mode: str, weight: float, target: float | None) -> str | None:
        if not target:
            return "the cost is a hard budget here: give cost.target"
        if weight:
            return "cost.weight: the budget cost.target is a hard limit here; drop the weight"
        return None

    # -- paths ----------------------------------------------------------------------------
    @property
    def sizes(self) -> list[int]:
        """The number of candidates of each choice."""
        return [len(c.names) for c in self.choices]

    def draw_path(self) -> Path:
        """One candidate per choice, each uniformly, from `rng`."""
        return tuple(int(self.rng.integers(n)) for n in self.sizes)

    def step_paths(self) -> list[Path]:
        """The paths whose gradients one step adds up: one uniformly drawn path."""
        return [self.draw_path()]

    def set_path(self, path: Path) -> None:
        """Sets each choice's alpha to the logits of `path` (`DECIDED` ahead at it)."""
        paths.set_path(self.choices, path)

    @contextmanager
    def on_path(self, path: Path) -> Iterator[None]:
        """Within the block, graphs build `path`; the alphas are restored afterwards."""
        with paths.on_path(self.choices, path):
            yield

    def path_graph(self, path: Path, shape: tuple[int, ...], training: bool) -> Graph:
        return paths.path_graph(self, self.choices, path, shape, training=training)

    def path_cost(self, path: Path, shape: Sequence[int]) -> float:
        """The estimator's cost of `path` on one input of `shape`'s sample shape."""
        assert self.cost is not None
        one = (1, *(int(d) for d in shape[1:]))
        return paths.path_cost(self.model, self.choices, path, self.cost.estimator, one)

    # -- the epochs -----------------------------------------------------------------------
    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        """One update of the sum of the gradients of `step_paths` on the ``'train'`` batch;
        only the weights those paths read change."""
        x = batch["train"]
        opt = self.optimizers["weights"]
        opt.zero_grad()
        active: set[str] = set()
        rows = []
        for path in self.step_paths():
            graph = self.path_graph(path, x[0].shape, training=True)
            self.feed(graph, x)
            graph.loss.forward(clear_no_need_grad=True)
            graph.loss.backward(clear_buffer=True)  # nnabla adds to the weights' gradients
            active.update(graph.params)
            rows.append(self.metrics(graph))
        opt.step(active=active)
        return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}

    def valid_on_batch(self, batch: Batch) -> dict[str, float]:
        """Evaluates one uniformly drawn path in inference mode."""
        graph = self.path_graph(self.draw_path(), batch[0].shape, training=False)
        self.feed(graph, batch)
        graph.loss.forward(clear_buffer=True)
        return self.metrics(graph)

    # -- the evolution --------------------------------------------------------------------
    def recalibrate(self, path: Path, batches: Sequence[Batch]) -> None:
        """Sets the running statistics of the BatchNorms on `path` to the mean of their
        batch statistics over `batches` (`paths.recalibrate`)."""
        paths.recalibrate(self, self.choices, path, batches)

    def score_path(self, path: Path, calib: Sequence[Batch], valid: Sequence[Batch]) -> float:
        """The validation accuracy of `path` with the supernet's weights, its BatchNorm
        statistics recalibrated on `calib` (`paths.score_path`)."""
        return paths.score_path(self, self.choices, path, calib, valid)

    def describe(self, path: Path) -> str:
        """`path` as ``label=candidate`` pairs."""
        return " ".join(f"{c.label}={c.names[i]}" for c, i in zip(self.choices, path, strict=True))

    def finish(
        self,
        train: Iterable[Batch],
        valid: Iterable[Batch],
        *,
        rng: np.random.Generator,
        history: str | None = None,
    ) -> dict[str, float]:
        """The evolutionary search; sets the found path as the architecture."""
        s = self.settings
        self.rng = rng
        calib = list(islice(train, s.calib_batches))
        scored = list(valid if s.eval_batches is None else islice(valid, s.eval_batches))
        if not calib or not scored:
            raise ValueError("the evolution needs training batches and validation batches")
        shape = tuple(calib[0][0].shape)
        costs: dict[Path, float] = {}

        def cost(path: Path) -> float:
            if path not in costs:
                costs[path] = self.path_cost(path, shape)
            return costs[path]

        budget = None if self.cost is None else self.cost.target
        rows: list[dict[str, Any]] = []

        def record(row: dict[str, Any]) -> None:
            best = row.pop("best_path")
            row["best_cost"] = cost(best) if budget is not None else ""
            row["best_path"] = self.describe(best)
            rows.append(row)
            where = "" if budget is None else f", cost {row['best_cost']:.4g} (budget {budget:g})"
            logger.info(
                f"evolution generation {row['generation'] + 1}/{s.generations}: "
                f"{row['scored']} paths scored, {row['infeasible']} over budget; best accuracy "
                f"{row['best_score']:.4f}{where}: {row['best_path']}"
            )
            if history is not None:
                _write_rows(history, rows)

        try:
            found = evolve(
                self.sizes, lambda p: self.score_path(p, calib, scored),
                (lambda p: True) if budget is None else (lambda p: cost(p) <= budget),
                s, rng, record,
            )  # fmt: skip
        except NoFeasiblePath:
            cheapest = min(costs.values())
            raise ValueError(
                f"no path within the cost budget {budget:g}: the cheapest of the {len(costs)} "
                f"paths priced costs {cheapest:.4g}; raise cost.target"
            ) from None
        self.found = found.path
        self.recalibrate(found.path, calib)
        self.set_path(found.path)
        result = {"evolution/accuracy": found.score, "evolution/paths": float(found.scored)}
        if budget is not None:
            result["evolution/cost"] = cost(found.path)
        return result


def _write_rows(path: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Writes `rows` as a CSV file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
