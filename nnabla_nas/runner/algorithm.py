"""`Algorithm`: what the run loop drives. Static graphs per phase, evaluation, state."""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar

import nnabla as nn
import nnabla.functions as F
import numpy as np

from ..contrib.model import Model
from ..module import Noise, Parameter, collect_noise, recompute_activations
from ..module.batchnorm import synced_statistics
from ..module.graph import no_gradient, used_parameters
from ..optimizer import Optimizer
from ..utils.checkpoint import CheckpointError
from ..utils.distributed import Communicator
from ..utils.io import atomic_path

Batch = tuple[np.ndarray, np.ndarray]
Transform = Callable[..., Any]


@dataclass
class Graph:
    """A static graph of one phase: inputs, logits, the loss to minimise, its noise inputs
    and the model parameters it reads (the active path of a sampled supernet)."""

    x: nn.Variable
    y: nn.Variable
    logits: nn.Variable
    loss: nn.Variable
    noise: Noise = field(default_factory=Noise)
    params: OrderedDict[str, Parameter] = field(default_factory=OrderedDict)

    def feed(
        self, batch: Batch, rng: np.random.Generator | None = None, shard: tuple[int, int] = (0, 1)
    ) -> None:
        """Sets the batch and draws the graph's noise inputs from `rng` (the `shard` of the
        whole batch's noise; see `Noise.fill`)."""
        self.x.d, self.y.d = batch[0], batch[1]
        if len(self.noise):
            if rng is None:
                raise ValueError("this graph has noise inputs; feed it a generator to draw them")
            self.noise.fill(rng, shard)

    def inputs(self) -> list[np.ndarray]:
        """A copy of what `feed` set: the batch and the noise, for `restore`."""
        return [v.d.copy() for v in (self.x, self.y, *self.noise.variables)]

    def restore(self, inputs: list[np.ndarray]) -> None:
        """Sets the batch and noise `inputs` saved from this graph back."""
        for variable, data in zip((self.x, self.y, *self.noise.variables), inputs, strict=True):
            variable.d = data

    def differentiating(self, params: Iterable[nn.Variable]) -> AbstractContextManager[None]:
        """A block in which a pass over this graph differentiates `params` only: the
        graph's other parameters are left out (`no_gradient`), so the backward skips their
        products and the forward frees the inputs only they would need."""
        own = {id(p) for p in params}
        return no_gradient(p for p in self.params.values() if id(p) not in own)


def cross_entropy(logits: nn.Variable, y: nn.Variable) -> nn.Variable:
    """Mean softmax cross entropy of `logits` against integer labels of shape (N, 1)."""
    return F.mean(F.softmax_cross_entropy(logits, y))


def top1_error(logits: np.ndarray, labels: np.ndarray) -> float:
    """The share of samples whose largest logit is not at their label."""
    return float(np.mean(np.argmax(logits, axis=1) != labels.reshape(-1)))


class Algorithm:
    """Base of searchers and trainers: builds one static graph per phase and input shape.

    Subclasses implement `train_on_batch`; `valid_on_batch` evaluates in inference mode.
    Graphs are built on first use and reused: each step only sets input data and draws
    the graph's noise (drop path, dropout, augmentation) from `rng`, the generator the
    loop gives each epoch (`start_epoch`). Graphs are built inside
    ``model.modes(training=..., choice=...)``, which leaves the model's modes as they were.

    Args:
        model: the network to learn.
        optimizers: named optimizers, saved and restored with the checkpoints.
        transform: graph-level input transform called as ``transform(x, training=...)``.
        context: the nnabla context graphs are built in (the current one when None).
        communicator: data parallel: this process's batches are its shard of each batch,
            and the optimizers average the gradients over the processes (they hold the
            same communicator).
        sync_batch_norm: under data parallel, batch normalization uses the statistics of
            the whole batch (one allreduce per layer in the forward and in the backward),
            so the processes compute what one process computes. Otherwise (the default)
            each process normalises by its shard's statistics, and the running statistics
            are averaged over the processes with the gradients at every update, so every
            process keeps the same model.
    """

    #: Whether data parallel computes what one process computes for this algorithm.
    data_parallel: ClassVar[bool] = True

    #: The `MixedOp` mode of the training graphs (None: as the model was built).
    choice: ClassVar[str | None] = None
    #: The `MixedOp` mode of the evaluation graph.
    eval_choice: ClassVar[str | None] = None

    def __init__(
        self,
        model: Model,
        optimizers: Mapping[str, Optimizer],
        *,
        transform: Transform | None = None,
        context: nn.Context | None = None,
        communicator: Communicator | None = None,
        sync_batch_norm: bool = False,
    ) -> None:
        self.model = model
        self.comm = communicator or Communicator()
        self.sync_batch_norm = sync_batch_norm
        #: Whether training graphs recompute cheap activations in the backward instead of
        #: keeping them (`recompute_activations`): less memory, more time. Set it before
        #: the first graph is built.
        self.recompute = False
        self.optimizers = dict(optimizers)
        if self.comm.size > 1 and not sync_batch_norm:
            running = [p.data for p in model.get_parameters().values() if not p.need_grad]
            for optimizer in self.optimizers.values():
                optimizer.average_with_gradients(running)
        self.transform = transform
        self.context = context
        self.rng = np.random.default_rng(0)
        self._graphs: dict[tuple[str, tuple[int, ...]], Graph] = {}

    # -- graphs ---------------------------------------------------------------
    @contextmanager
    def in_context(self) -> Iterator[None]:
        """Within the block, nnabla builds in this algorithm's context."""
        if self.context is None:
            yield
            return
        with nn.context_scope(self.context):
            yield

    def graph(
        self, phase: str, shape: tuple[int, ...], training: bool = True, choice: str | None = None
    ) -> Graph:
        """Returns the graph of `phase` for inputs of `shape`, building it once."""
        key = (phase, tuple(shape))
        if key not in self._graphs:
            self._graphs[key] = self.build_graph(tuple(shape), training, choice)
        return self._graphs[key]

    def build_graph(
        self, shape: tuple[int, ...], training: bool, choice: str | None = None
    ) -> Graph:
        """Builds the model's graph on new input variables of `shape`.

        `choice` is the `MixedOp` mode of this build; by default `self.choice`.
        """
        choice = self.choice if choice is None else choice
        synced = synced_statistics(self.comm) if self.sync_batch_norm else nullcontext()
        with (
            self.in_context(),
            collect_noise() as noise,
            synced,
            recompute_activations(training and self.recompute),
        ):
            x, y = nn.Variable(shape), nn.Variable((shape[0], 1))
            with self.model.modes(training=training, choice=choice):
                inputs = self.transform(x, training=training) if self.transform else x
                logits, loss = self.loss(self.model(inputs), y)
        logits.persistent = True
        loss.persistent = True
        return Graph(x, y, logits, loss, noise, used_parameters(self.model, loss))

    def loss(self, output: Any, y: nn.Variable) -> tuple[nn.Variable, nn.Variable]:
        """Returns ``(logits, loss)`` for the model's output; override for extra heads."""
        return output, cross_entropy(output, y)

    def feed(self, graph: Graph, batch: Batch) -> None:
        """Sets `batch` as the graph's input and draws its noise from `rng`."""
        graph.feed(batch, self.rng, (self.comm.rank, self.comm.size))

    @staticmethod
    def metrics(graph: Graph, prefix: str = "") -> dict[str, float]:
        """Loss and top-1 error of the batch last run through `graph`."""
        return {
            f"{prefix}loss": float(graph.loss.d),
            f"{prefix}error": top1_error(graph.logits.d, graph.y.d),
        }

    @staticmethod
    def backward(graph: Graph, optimizer: Optimizer) -> None:
        """Zeroes `optimizer`'s gradients, then the forward and backward of the loss,
        differentiating `optimizer`'s parameters only: the graph's others (the weights in
        a search's architecture half-step, the alphas in its weights' half-step) are left
        out, so the backward skips their products and the forward frees the inputs only
        they would need."""
        optimizer.zero_grad()
        with graph.differentiating(optimizer.params.values()):
            graph.loss.forward(clear_no_need_grad=True)
            graph.loss.backward(clear_buffer=True)

    @classmethod
    def minimize(
        cls, graph: Graph, optimizer: Optimizer, *, active: Collection[str] | None = None
    ) -> None:
        """Forward, backward and one update of `optimizer`'s parameters (of those in
        `active` only, if given; see `Optimizer.step`)."""
        cls.backward(graph, optimizer)
        optimizer.step(active=active)

    # -- the loop's interface ---------------------------------------------------
    def start_epoch(self, epoch: int, rng: np.random.Generator) -> None:
        """Called by the loop before each epoch with the generator of that epoch's noise;
        then calls `on_epoch_start`."""
        self.rng = rng
        self.on_epoch_start(epoch)

    def on_epoch_start(self, epoch: int) -> None:
        """Called before each epoch; schedules live here."""

    def train_on_batch(self, batch: Mapping[str, Batch]) -> dict[str, float]:
        """Runs one learning step; `batch` maps loader names to ``(x, y)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement train_on_batch()")

    def valid_on_batch(self, batch: Batch) -> dict[str, float]:
        """Evaluates the model in inference mode on one batch."""
        graph = self.graph("eval", batch[0].shape, training=False, choice=self.eval_choice)
        self.feed(graph, batch)
        graph.loss.forward(clear_buffer=True)
        return self.metrics(graph)

    def epoch_diagnostics(self) -> dict[str, float]:
        """Numbers telling how the epoch went beyond its losses (logged as ``diag/<name>``);
        none here."""
        return {}

    def stop_reason(self) -> str | None:
        """Why the run should stop after this epoch (e.g. a search collapsing), or None."""
        return None

    def learning_rates(self) -> dict[str, float]:
        return {f"lr/{name}": opt.lr for name, opt in self.optimizers.items()}

    # -- state ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state beyond parameters (baselines, RNG states); saved in
        each checkpoint's ``state.json``."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""

    def save(self, folder: str) -> None:
        """Writes the model parameters and every optimizer's state into `folder`.

        The parameters go to one ``model.npz`` (a checkpoint is written every epoch; one
        array file is about 20x faster to write than an HDF5 dataset per parameter).
        """
        arrays = {key: p.d for key, p in self.model.get_parameters().items()}
        with atomic_path(os.path.join(folder, "model.npz")) as tmp:
            np.savez(tmp, **arrays)
        for name, opt in self.optimizers.items():
            opt.save_states(os.path.join(folder, f"optimizer_{name}.h5"))

    def load(self, folder: str) -> None:
        """Restores what `save` wrote."""
        path = os.path.join(folder, "model.npz")
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
            self.model.set_parameters(arrays, raise_if_missing=True)
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(
                f"the parameters of checkpoint '{folder}' cannot be restored ({err}); delete "
                "the folder to resume from the checkpoint before it"
            ) from None
        for name, opt in self.optimizers.items():
            opt.load_states(os.path.join(folder, f"optimizer_{name}.h5"))
