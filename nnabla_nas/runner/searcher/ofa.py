"""`OFASearcher`: Once-for-All's progressive shrinking (Cai et al., ICLR 2020): the
supernet trained at its largest first, then on sub-networks of ever more sizes, each
distilled from the largest."""

from __future__ import annotations

import json
import logging
import os
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ...contrib.model import Model
from ...contrib.ofa import ElasticBatchNormalization, OFANet, OFASupernet
from ...contrib.ofa.arch import DEPTHS, EXPAND_RATIOS, KERNELS
from ...module import BatchNormalization, Dropout, collect_noise, recompute_activations
from ...module.graph import used_parameters
from ...module.module import Module
from ...optimizer import Optimizer
from ...utils.checkpoint import CheckpointError
from ...utils.fields import choice, limited
from ...utils.io import atomic_path
from ..algorithm import Batch, Graph, Transform, cross_entropy
from .search import Searcher, SearchParts

__all__ = ["PHASES", "OFASearcher", "OFASettings", "Phase", "Stage", "schedule"]

logger = logging.getLogger("nnabla_nas")

#: The phases of progressive shrinking, in the paper's order: the largest network, then
#: elastic kernel size, elastic depth, elastic expansion ratio (width).
PHASES = ("full", "kernel", "depth", "expand")
#: The supernet option (``model:`` key) whose sizes each elastic phase opens.
DIMENSIONS = {"kernel": "kernels", "depth": "depths", "expand": "expand_ratios"}
#: The sizes a supernet offers when its options do not say (the space's defaults).
OFFERED = {"kernels": KERNELS, "depths": DEPTHS, "expand_ratios": EXPAND_RATIOS}
#: Sub-network graphs kept for reuse: each step draws new sub-networks, so most are built
#: once; the largest and the smallest (evaluated every epoch) come back.
GRAPH_CACHE = 8
_NORMS = (BatchNormalization, ElasticBatchNormalization)


@dataclass(frozen=True)
class Phase:
    """One phase of progressive shrinking: ``{name: depth, epochs: 2, depths: [3, 4]}``.

    An elastic phase may list the sizes of its own dimension it trains (all the supernet
    offers when left out); a phase repeated with more sizes is the paper's two sub-stages
    (depth {4, 3} then {4, 3, 2}).
    """

    name: str = choice("full", PHASES)  # full, kernel, depth or expand
    epochs: int = limited(1, minimum=1)  # how long the phase trains
    kernels: list[int] | None = None  # kernel phase: the kernel sizes (None: all offered)
    depths: list[int] | None = None  # depth phase: the stage depths (None: all offered)
    expand_ratios: list[int] | None = None  # expand phase: the ratios (None: all offered)

    def __post_init__(self) -> None:
        own = DIMENSIONS.get(self.name)
        for key in DIMENSIONS.values():
            if key != own and getattr(self, key) is not None:
                what = f"takes {own} only" if own else "trains the largest network: no sizes"
                raise ValueError(f"{key}: a {self.name} phase {what}")


def _default_phases() -> list[Phase]:
    # The paper's order, one phase per dimension; the largest network gets the most epochs
    # (the paper: 180 of 605 ImageNet epochs) as it is the teacher of the rest. Their sum,
    # 10, is the default `epochs`, so ``searcher: ofa`` alone is a consistent config.
    return [Phase("full", 4), Phase("kernel", 2), Phase("depth", 2), Phase("expand", 2)]


@dataclass(frozen=True)
class OFASettings:
    """The ``ofa:`` section: the phases of progressive shrinking and their training.

    The run's `epochs` must be the sum of the phases' epochs; the learning-rate schedule
    of ``optimizer:`` spans the whole run, or with `restart_lr` restarts at each phase and
    spans it (as the paper gives each phase its own schedule).
    """

    # in order: full first, then kernel, depth, expand (each may be left out or repeated)
    phases: list[Phase] = field(default_factory=_default_phases)
    # weight of the soft cross entropy to the frozen largest network's predictions (the
    # paper's 1.0); 0 trains on the labels only
    distill: float = limited(1.0, minimum=0.0)
    # sub-networks whose gradients add up to each update (the paper: 1 in the kernel
    # phase, 2 in the depth, 4 in the expand phase); the full phase trains the largest once
    subnets_per_step: int = limited(2, minimum=1)
    # restart the optimizer's schedule at each phase, spanning the phase (the paper's
    # per-phase schedules); false: one schedule over the whole run
    restart_lr: bool = False
    # sub-networks drawn at random after the last epoch, scored with their inherited
    # weights and priced by the calibrated latency estimator: the accuracy-latency front
    # of the run's report (the run's subnets/ folder); 0: none
    front: int = limited(32, minimum=0)

    def __post_init__(self) -> None:
        if not self.phases:
            raise ValueError("phases: give at least one phase, the first of them full")
        if self.phases[0].name != "full":
            raise ValueError(
                f"phases: the first phase is {self.phases[0].name!r}; progressive shrinking "
                "starts with the largest network: begin with {name: full, epochs: N}"
            )
        ranks = [PHASES.index(p.name) for p in self.phases]
        for i in range(1, len(ranks)):
            if ranks[i] < ranks[i - 1]:
                raise ValueError(
                    f"phases[{i}]: {self.phases[i].name} after {self.phases[i - 1].name}; "
                    f"the phases go {', '.join(PHASES)} (a phase may repeat)"
                )
        if self.distill > 0 and all(p.name == "full" for p in self.phases):
            raise ValueError(
                "distill: the full phase has no sub-network to distil into; set distill: 0 "
                "or add a kernel, depth or expand phase"
            )


@dataclass(frozen=True)
class Stage:
    """A phase placed in the run: its epochs (from 0) and the sizes its sub-networks draw
    from (each dimension's sizes opened so far; the largest size only before its phase)."""

    index: int
    name: str
    first: int  # its first epoch, from 0
    epochs: int
    kernels: tuple[int, ...]
    depths: tuple[int, ...]
    expand_ratios: tuple[int, ...]

    @property
    def end(self) -> int:
        """The epoch after its last."""
        return self.first + self.epochs

    def sizes(self) -> dict[str, tuple[int, ...]]:
        """The allowed sizes as `OFASupernet.sample_active` takes them."""
        return {k: getattr(self, k) for k in DIMENSIONS.values()}


def schedule(phases: Sequence[Phase], offered: Mapping[str, Sequence[int]]) -> list[Stage]:
    """The `Stage` of each phase for a supernet offering the sizes `offered` (by option).

    Raises:
        ValueError: a phase lists a size not offered, leaves out the largest, or drops a
            size an earlier phase of its dimension trained (a phase only widens).
    """
    offer = {k: tuple(sorted(offered.get(k, OFFERED[k]))) for k in OFFERED}
    allowed: dict[str, tuple[int, ...]] = {k: (v[-1],) for k, v in offer.items()}
    stages, first = [], 0
    for i, phase in enumerate(phases):
        key = DIMENSIONS.get(phase.name)
        if key is not None:
            given = getattr(phase, key)
            sizes = offer[key] if given is None else tuple(sorted(set(given)))
            where = f"phases[{i}].{key}"
            if not set(sizes) <= set(offer[key]):
                raise ValueError(
                    f"{where}: {list(sizes)} not all offered; the supernet offers "
                    f"{list(offer[key])} (model.{key})"
                )
            if not set(allowed[key]) <= set(sizes):
                raise ValueError(
                    f"{where}: {list(sizes)} drops sizes an earlier phase trains "
                    f"({list(allowed[key])}); a phase only adds sizes"
                )
            allowed[key] = sizes
        stages.append(Stage(i, phase.name, first, phase.epochs, **allowed))
        first += phase.epochs
    return stages


def _soft_cross_entropy(logits: nn.Variable, soft: nn.Variable) -> nn.Variable:
    """Mean over the batch of ``-sum(soft * log_softmax(logits))``: the KL divergence to
    `soft` up to its (constant) entropy, as Once-for-All distils."""
    return F.mean(F.sum(-soft * F.log_softmax(logits, axis=1), axis=1))


@contextmanager
def batch_statistics(module: Module) -> Iterator[None]:
    """Within the block, graphs of `module` normalise by each batch's own statistics and
    leave the running statistics as they are (decay 1), with dropout off.

    How the searcher evaluates and distils: the running statistics a supernet shares
    belong to no single sub-network (each training step blends in another's), and a
    short full phase leaves them behind its weights, so inference mode would score them
    rather than the weights. Once-for-All recalibrates them per sub-network before
    scoring; a batch of the evaluation is its own calibration here.
    """
    norms = [m for _, m in module.get_modules() if isinstance(m, _NORMS)]
    decays = [m._decay_rate for m in norms]
    try:
        with module.modes(training=True):
            for _, m in module.get_modules():
                if isinstance(m, Dropout):
                    m.training = False
            for m in norms:
                m._decay_rate = 1.0
            yield
    finally:
        for m, decay in zip(norms, decays, strict=True):
            m._decay_rate = decay


@dataclass
class DistilledGraph(Graph):
    """A training graph with its distillation term (None without a teacher)."""

    distill: nn.Variable | None = None


class OFASearcher(Searcher):
    """Trains an `OFASupernet` by progressive shrinking (Once-for-All).

    Cai et al., "Once-for-All: Train One Network and Specialize it for Efficient
    Deployment", ICLR 2020. The run is a sequence of phases (`OFASettings.phases`): the
    largest network alone (``full``), then sub-networks of any kernel size (``kernel``),
    then of any depth too (``depth``), then of any expansion ratio too (``expand``);
    each phase's epochs follow the previous one's, so the phase is a function of the epoch.
    Each step of an elastic phase draws `subnets_per_step` sub-networks uniformly from the
    sizes opened so far, adds their gradients on the same batch and makes one update of
    the weights they read. A supernet offering input resolutions (elastic resolution)
    draws one per sub-network in every phase, the full one included, as the paper trains
    at a random image size per batch: the network resizes the batch to it (`Mo.Resize`).

    Distillation: when the full phase ends, a frozen copy of the largest network
    (`OFASupernet.to_static` of the max arch, its weights and BatchNorm statistics as
    they are then) becomes the teacher, run on the same (transformed) inputs, at the
    largest resolution, with the batch's statistics (`batch_statistics`); a sub-network's
    loss is its cross entropy
    plus ``distill`` times the soft cross entropy to the teacher's softmax. The paper
    distils from the full network it trained first, as here, rather than from the
    supernet's current largest, which drifts as the smaller sub-networks train the
    shared weights.

    Phase boundaries: when an elastic phase starts, the solver state (momentum) is reset
    (`Optimizer.reset_states`), as a fresh optimizer per phase would start. The first
    expand phase's first epoch also sorts each block's expanded channels by importance
    (`ElasticMBConv.sort_channels`), once, so that the narrow widths keep the most
    important channels; the full network computes the same function afterwards, and the
    reset keeps momentum from acting on permuted channels. The sorted order is in the
    weights of every checkpoint after it, and the teacher in ``teacher.npz``, so a resumed
    run repeats neither.

    Evaluation scores the largest network (``valid/error``) and the smallest one the
    supernet offers (``valid/min_error``), each batch by its own statistics
    (`batch_statistics`: the shared running statistics are no sub-network's). After the
    last epoch the largest network is the active one, so the search derives the max arch;
    picking a sub-network per latency budget is a later, separate step over the trained
    supernet.
    """

    # Draws and teacher copies are not made equal to one process's under data parallel;
    # the application refuses it under mpiexec.
    data_parallel = False

    Settings = OFASettings
    learns_alphas = False
    trains_subnets = True
    spaces = ("ofa",)

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer,
        *,
        settings: OFASettings | None = None,
        transform: Transform | None = None,
        context: nn.Context | None = None,
    ) -> None:
        if not isinstance(model, OFASupernet):
            raise ValueError(
                f"searcher 'ofa' trains a Once-for-All supernet, not a {type(model).__name__}; "
                "set model.name: ofa"
            )
        super().__init__(model, {"weights": optimizer}, transform=transform, context=context)
        self.supernet = model
        self.settings = OFASettings() if settings is None else settings
        offered = {k: getattr(model, k) for k in OFFERED}
        self.stages = schedule(self.settings.phases, offered)
        self.stage = self.stages[0]
        self.teacher: OFANet | None = None
        #: The architectures of the last step's sub-networks.
        self.sampled: list[dict[str, Any]] = []
        #: The epochs at whose start the channels were sorted (in this process).
        self.sorted_at: list[int] = []
        self._subnet_graphs: OrderedDict[tuple[Any, ...], DistilledGraph] = OrderedDict()

    @classmethod
    def create(cls, model: Model, parts: SearchParts, settings: OFASettings) -> OFASearcher:
        return cls(model, parts.optimizer, settings=settings, transform=parts.transform,
                   context=parts.context)  # fmt: skip

    @classmethod
    def schedule_segments(cls, settings: OFASettings, epochs: int) -> list[int] | None:
        """The phases' epochs when the schedule restarts per phase (`restart_lr`)."""
        return [p.epochs for p in settings.phases] if settings.restart_lr else None

    @classmethod
    def config_problem(
        cls, settings: Any, *, epochs: int, options: Mapping[str, Any]
    ) -> str | None:
        """The phases must fill the run's `epochs` and fit the supernet's sizes."""
        total = sum(p.epochs for p in settings.phases)
        if total != epochs:
            return (
                f"the phases last {total} epochs but epochs is {epochs}; set epochs: {total} "
                "(their sum), or change the phases' epochs"
            )
        try:
            schedule(settings.phases, {k: options[k] for k in OFFERED if k in options})
        except ValueError as err:
            return str(err)
        return None

    # -- phases ---------------------------------------------------------------------------
    def stage_at(self, epoch: int) -> Stage:
        """The stage `epoch` (from 0) belongs to; the last one past the end."""
        return next((s for s in self.stages if epoch < s.end), self.stages[-1])

    @property
    def distilling(self) -> bool:
        return self.settings.distill > 0 and self.stage.name != "full"

    def on_epoch_start(self, epoch: int) -> None:
        stage = self.stage_at(epoch)
        self.stage = stage
        if epoch == stage.first and stage.index > 0:
            self._enter(stage, epoch)
        if self.distilling and self.teacher is None:
            raise CheckpointError(
                f"epoch {epoch + 1} distils from the largest network of the end of the full "
                "phase, but the checkpoint holds no teacher.npz; resume from an earlier one"
            )
        sizes = ", ".join(f"{k} {list(v)}" for k, v in stage.sizes().items())
        logger.info(f"epoch {epoch + 1}: phase {stage.index + 1}/{len(self.stages)} "
                    f"({stage.name}), sizes: {sizes}")  # fmt: skip

    def _enter(self, stage: Stage, epoch: int) -> None:
        """The boundary before `stage`: teacher, channel order, solver state."""
        if self.settings.distill > 0 and self.teacher is None:
            self.teacher = self._snapshot()
        if stage is next((s for s in self.stages if s.name == "expand"), None):
            self.sort_channels()
            self.sorted_at.append(epoch)
            logger.info("sorted the expanded channels of every block by importance")
        self.optimizers["weights"].reset_states()
        self._subnet_graphs.clear()

    def sort_channels(self) -> None:
        """Sorts the expanded channels of every block (active or not) by importance."""
        for s in range(len(self.supernet.stages)):
            for block in self.supernet.blocks(s):
                block.sort_channels()

    def _snapshot(self) -> OFANet:
        """A frozen copy of the supernet's largest network."""
        active = self.supernet.active_arch()
        teacher = self.supernet.to_static(self.supernet.max_arch())
        self.supernet.set_active(active)
        for p in teacher.get_parameters().values():
            p.need_grad = False
        return teacher

    # -- graphs ---------------------------------------------------------------------------
    def build_graph(
        self, shape: tuple[int, ...], training: bool, choice: str | None = None
    ) -> DistilledGraph:
        """The graph of the active sub-network, in training mode or (`training` false) by
        `batch_statistics`; in training with a teacher, the loss adds ``distill`` times the
        soft cross entropy to the teacher's prediction (by `batch_statistics` too)."""
        recompute = recompute_activations(training and self.recompute)
        with self.in_context(), collect_noise() as noise, recompute:
            x, y = nn.Variable(shape), nn.Variable((shape[0], 1))
            inputs = self.transform(x, training=training) if self.transform else x
            with self.model.modes(training=True) if training else batch_statistics(self.model):
                logits = self.model(inputs)
            loss, distill = cross_entropy(logits, y), None
            if training and self.distilling:
                assert self.teacher is not None
                with batch_statistics(self.teacher):
                    soft = F.softmax(self.teacher(inputs), axis=1)
                distill = _soft_cross_entropy(logits, soft)
                loss = loss + self.settings.distill * distill
                distill.persistent = True
        logits.persistent = True
        loss.persistent = True
        params = used_parameters(self.model, loss)
        return DistilledGraph(x, y, logits, loss, noise, params, distill)

    def subnet_graph(
        self, arch: Mapping[str, Any], shape: tuple[int, ...], training: bool
    ) -> DistilledGraph:
        """The graph of sub-network `arch` (made active), built or reused."""
        key = (json.dumps(arch, sort_keys=True), tuple(shape), training)
        self.supernet.set_active(arch)
        graph = self._subnet_graphs.get(key)
        if graph is None:
            graph = self.build_graph(tuple(shape), training)
            self._subnet_graphs[key] = graph
            while len(self._subnet_graphs) > GRAPH_CACHE:
                self._subnet_graphs.popitem(last=False)
        self._subnet_graphs.move_to_end(key)
        return graph

    def step_archs(self) -> list[dict[str, Any]]:
        """The sub-networks of one step: the largest in the full phase, else
        `subnets_per_step` drawn uniformly from the stage's sizes; each at a resolution
        drawn from those the supernet offers, if any."""
        if self.stage.name == "full":
            arch = self.supernet.max_arch()
            if self.supernet.resolutions is not None:
                arch["resolution"] = int(self.rng.choice(self.supernet.resolutions))
            return [arch]
        return [
            self.supernet.sample_active(self.rng, **self.stage.sizes())
            for _ in range(self.settings.subnets_per_step)
        ]

    # -- the loop's interface -------------------------------------------------------------
    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        """One update of the sum of the gradients of `step_archs` on the ``'train'`` batch."""
        x = batch["train"]
        opt = self.optimizers["weights"]
        opt.zero_grad()
        active: set[str] = set()
        rows = []
        self.sampled = self.step_archs()
        for arch in self.sampled:
            graph = self.subnet_graph(arch, x[0].shape, training=True)
            self.feed(graph, x)
            graph.loss.forward(clear_no_need_grad=True)
            graph.loss.backward(clear_buffer=True)  # nnabla adds to the weights' gradients
            active.update(graph.params)
            row = self.metrics(graph)
            if graph.distill is not None:
                row["distill_loss"] = float(graph.distill.d)
            rows.append(row)
        opt.step(active=active)
        return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}

    def valid_on_batch(self, batch: Batch) -> dict[str, float]:
        """The largest network's loss and error, and the smallest's (``min_``)."""
        result = {}
        for prefix, arch in (("", self.supernet.max_arch()), ("min_", self.supernet.min_arch())):
            graph = self.subnet_graph(arch, batch[0].shape, training=False)
            self.feed(graph, batch)
            graph.loss.forward(clear_buffer=True)
            result.update(self.metrics(graph, prefix))
        return result

    def epoch_diagnostics(self) -> dict[str, float]:
        """The phase of the epoch, counted from 1."""
        return {"phase": float(self.stage.index + 1)}

    def finish(
        self,
        train: Iterable[Batch],
        valid: Iterable[Batch],
        *,
        rng: np.random.Generator,
        history: str | None = None,
    ) -> dict[str, float]:
        """Leaves the largest network active: the architecture the search derives."""
        self.supernet.set_active(self.supernet.max_arch())
        return {}

    # -- state ----------------------------------------------------------------------------
    def save(self, folder: str) -> None:
        """The weights and solver state, and the teacher's weights once there is one."""
        super().save(folder)
        if self.teacher is not None:
            arrays = {k: p.d for k, p in self.teacher.get_parameters().items()}
            with atomic_path(os.path.join(folder, "teacher.npz")) as tmp:
                np.savez(tmp, **arrays)

    def load(self, folder: str) -> None:
        super().load(folder)
        self._subnet_graphs.clear()
        path = os.path.join(folder, "teacher.npz")
        if not os.path.isfile(path):
            self.teacher = None
            return
        teacher = self._snapshot()  # the structure; the weights are the stored ones
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
        try:
            teacher.set_parameters(arrays, raise_if_missing=True)
        except (ValueError, KeyError) as err:
            raise CheckpointError(
                f"the teacher of checkpoint '{folder}' cannot be restored ({err}); delete the "
                "folder to resume from the checkpoint before it"
            ) from None
        self.teacher = teacher
