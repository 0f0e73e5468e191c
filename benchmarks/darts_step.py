"""One first-order DARTS search step: NnablaNAS's `DartsSearcher` against raw nnabla.

Run from the repository root::

    .venv/bin/python benchmarks/darts_step.py        # or: make bench
    .venv/bin/python benchmarks/darts_step.py --channels 16 --steps 5 --profile

A step is an architecture step (Adam with weight decay on the alphas, valid batch) then a
weight step (Momentum with weight decay and global gradient-norm clipping, train batch),
each on a static graph built once and run with ``forward(clear_no_need_grad=True)`` /
``backward(clear_buffer=True)``. The DARTS supernet (stem, cells whose 14 edges each mix
8 candidates in 'full' mode, reduction cells at 1/3 and 2/3, classifier) is built twice:
through `nnabla_nas`, and written directly with `nnabla.functions`,
`nnabla.parametric_functions` and `nnabla.solvers`. The raw side starts from the
framework's initial parameter values; the script checks that both give the same losses and
parameters for two steps, then prints:

- time per step: median and min-max of `--steps` steps after warm-up, the two sides
  alternating step by step (ABBA) in one process, and the framework/raw ratio;
  the same figures from the fresh processes below serve as a cross-check;
- peak memory: each side in a fresh subprocess (``--side framework|raw``): the peak RSS
  (``VmHWM``) and its increase over the RSS just before the side is built (its
  parameters, solvers, graphs and buffers; imports and input data come before), and the
  framework/raw ratios.

``--profile`` adds a cProfile of both sides' steps; ``--mix sum`` times the raw side with
the weighted sum as a broadcast multiply and ``F.sum`` instead of MixedOp's product.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple, Protocol

import nnabla as nn
import nnabla.functions as F
import nnabla.initializer as I
import nnabla.parametric_functions as PF
import nnabla.solvers as S
import numpy as np

# The DARTS paper's search hyperparameters (Liu et al., 2019).
WEIGHT_LR, WEIGHT_MOMENTUM, WEIGHT_DECAY, GRAD_CLIP = 0.025, 0.9, 3e-4, 5.0
ARCH_LR, ARCH_BETAS, ARCH_DECAY, ARCH_EPS = 3e-4, (0.5, 0.999), 1e-3, 1e-8
TARGET_OVERHEAD = 0.05
IN_CHANNELS, NUM_NODES, MULTIPLIER, STEM_MULTIPLIER = 3, 4, 4, 3
CANDIDATES = (
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "none",
)  # fmt: skip

PHASES = (("arch", "valid"), ("train", "train"))  # (graph, its batch) of the two half-steps
Batch = tuple[np.ndarray, np.ndarray]
Values = dict[str, list[np.ndarray]]  # {"arch": [...], "net": [...]}, framework order


@dataclass(frozen=True)
class Setup:
    """The network and batch sizes, shared by both sides."""

    channels: int = 8
    cells: int = 5
    batch: int = 16
    size: int = 16
    classes: int = 10
    seed: int = 0
    mix: str = "affine"
    recompute: bool = False  # the framework's training graphs recompute cheap activations
    unrolled: bool = False  # the second-order step (darts.unrolled: true) on both sides


class StepResult(NamedTuple):
    """What a step reports: the loss and top-1 error of each half-step's batch."""

    arch_loss: float
    arch_error: float
    loss: float
    error: float


class Side(Protocol):
    name: str

    def step(self) -> StepResult: ...

    def values(self) -> Values: ...

    def function_counts(self) -> Counter[str]: ...


def make_batches(setup: Setup) -> dict[str, Batch]:
    """A train and a valid batch of random images and labels (the same on both sides)."""
    rng = np.random.default_rng(setup.seed)

    def one() -> Batch:
        x = rng.standard_normal((setup.batch, IN_CHANNELS, setup.size, setup.size))
        return x.astype(np.float32), rng.integers(0, setup.classes, (setup.batch, 1))

    return {"train": one(), "valid": one()}


def top1_error(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) != labels.reshape(-1)))


def function_counts(*outputs: nn.Variable) -> Counter[str]:
    """The number of functions of each type in the graphs of `outputs`."""
    counts: Counter[str] = Counter()
    for out in outputs:
        out.visit(lambda f: counts.update([f.info.type_name]))
    return counts


# -- the framework side -----------------------------------------------------------------
def framework_net(setup: Setup) -> Any:
    from nnabla_nas.contrib.darts import SearchNet
    from nnabla_nas.utils.rng import parameter_seed

    with parameter_seed(setup.seed):  # the layers' default initializers draw from it
        return SearchNet(IN_CHANNELS, setup.channels, setup.cells, setup.classes, rng=setup.seed)


def framework_values(net: Any) -> Values:
    arch, params = net.get_arch_parameters(), net.get_net_parameters()
    return {
        "arch": [p.d.copy() for p in arch.values()],
        "net": [p.d.copy() for p in params.values()],
    }


class FrameworkSide:
    """`SearchNet` + `Optimizer`s + `DartsSearcher.train_on_batch`, as a user runs them."""

    name = "framework"

    def __init__(self, setup: Setup, values: Values, batches: dict[str, Batch]) -> None:
        from nnabla_nas.optimizer import Optimizer
        from nnabla_nas.runner.searcher import DartsSearcher

        self.model = framework_net(setup)
        if tuple(self.model.candidate_names) != CANDIDATES:
            raise RuntimeError(f"SearchNet candidates changed: {self.model.candidate_names}")
        self._load(values)
        weights = Optimizer(
            self.model.get_net_parameters(grad_only=True), "momentum", WEIGHT_LR,
            momentum=WEIGHT_MOMENTUM, weight_decay=WEIGHT_DECAY, grad_clip=GRAD_CLIP,
        )  # fmt: skip
        arch = Optimizer(
            self.model.get_arch_parameters(grad_only=True), "adam", ARCH_LR,
            betas=ARCH_BETAS, eps=ARCH_EPS, weight_decay=ARCH_DECAY,
        )  # fmt: skip
        self.searcher = DartsSearcher(self.model, weights, arch)
        self.searcher.recompute = setup.recompute
        self.searcher.unrolled = setup.unrolled
        self.batches = batches

    def _load(self, values: Values) -> None:
        for kind, params in (
            ("arch", self.model.get_arch_parameters()),
            ("net", self.model.get_net_parameters()),
        ):
            self.model.set_parameters(dict(zip(params, values[kind], strict=True)))

    def step(self) -> StepResult:
        m = self.searcher.train_on_batch(self.batches)
        return StepResult(m["arch_loss"], m["arch_error"], m["loss"], m["error"])

    def values(self) -> Values:
        return framework_values(self.model)

    def graph(self, phase: str, batch: str) -> Any:
        """The searcher's graph of a half-step (one graph serves both)."""
        return self.searcher.graph("train", self.batches[batch][0].shape)

    def function_counts(self) -> Counter[str]:
        graphs = [self.graph(p, b) for p, b in PHASES]
        return function_counts(*[g.loss for g in graphs])


# -- the raw side: the same supernet in nnabla.functions / parametric_functions ----------
FIXED_BN = (("beta", 0.0), ("gamma", 1.0), ("mean", 0.0), ("var", 1.0))


def bn(x: nn.Variable, affine: bool) -> nn.Variable:
    """BatchNormalization over the channels; without `affine`, beta and gamma stay fixed.

    Not ``PF.batch_normalization(fix_parameters=True)``: it registers beta and gamma with
    ``need_grad=True`` (the graph gets ``need_grad=False`` views), so the solver, which
    takes ``nn.get_parameters(grad_only=True)``, would decay and update them.
    """
    if affine:
        return PF.batch_normalization(x)
    shape = (1, x.shape[1], 1, 1)
    with nn.parameter_scope("bn"):
        beta, gamma, mean, var = (
            nn.parameter.get_parameter_or_create(n, shape, I.ConstantInitializer(v), False)
            for n, v in FIXED_BN
        )
    return F.batch_normalization(x, beta, gamma, mean, var, axes=[1], batch_stat=True)


def relu_conv_bn(x: nn.Variable, channels: int) -> nn.Variable:
    h = PF.convolution(F.relu(x), channels, (1, 1), pad=(0, 0), stride=(1, 1), with_bias=False)
    return bn(h, affine=False)


def dil_conv(x: nn.Variable, kernel: int, pad: int, stride: int, dilation: int) -> nn.Variable:
    h = PF.depthwise_convolution(
        F.relu(x), (kernel, kernel), pad=(pad, pad), stride=(stride, stride),
        dilation=(dilation, dilation), with_bias=False,
    )  # fmt: skip
    h = PF.convolution(h, x.shape[1], (1, 1), with_bias=False)
    return bn(h, affine=False)


def sep_conv(x: nn.Variable, kernel: int, pad: int, stride: int) -> nn.Variable:
    with nn.parameter_scope("first"):
        h = dil_conv(x, kernel, pad, stride, 1)
    with nn.parameter_scope("second"):
        return dil_conv(h, kernel, pad, 1, 1)


def factorized_reduce(x: nn.Variable, channels: int) -> nn.Variable:
    h = F.relu(x)
    shifted = F.pad(h[:, :, 1:, 1:], (0, 1, 0, 1))
    half = channels // 2
    a = PF.convolution(h, half, (1, 1), stride=(2, 2), with_bias=False, name="conv1")
    b = PF.convolution(shifted, half, (1, 1), stride=(2, 2), with_bias=False, name="conv2")
    return bn(F.concatenate(a, b, axis=1), affine=False)


def pool(x: nn.Variable, stride: int, kind: str) -> nn.Variable:
    window, step, pad = (3, 3), (stride, stride), (1, 1)
    if kind == "max":
        return bn(F.max_pooling(x, window, step, True, pad), affine=False)
    return bn(F.average_pooling(x, window, step, True, pad, including_pad=False), affine=False)


def zero(x: nn.Variable, stride: int) -> nn.Variable:
    return F.mul_scalar(x[:, :, ::stride, ::stride] if stride > 1 else x, 0.0)


OPS: dict[str, Callable[[nn.Variable, int], nn.Variable]] = {
    "sep_conv_3x3": lambda x, s: sep_conv(x, 3, 1, s),
    "sep_conv_5x5": lambda x, s: sep_conv(x, 5, 2, s),
    "dil_conv_3x3": lambda x, s: dil_conv(x, 3, 2, s, 2),
    "dil_conv_5x5": lambda x, s: dil_conv(x, 5, 4, s, 2),
    "max_pool_3x3": lambda x, s: pool(x, s, "max"),
    "avg_pool_3x3": lambda x, s: pool(x, s, "avg"),
    "skip_connect": lambda x, s: x if s == 1 else factorized_reduce(x, x.shape[1]),
    "none": zero,
}


def weighted_sum(outs: Sequence[nn.Variable], alpha: nn.Variable, mix: str) -> nn.Variable:
    """softmax(alpha)-weighted sum of the candidates' outputs.

    'affine': a (1, n) x (n, size) product, as MixedOp forms it; 'sum': a broadcast
    multiply of the stacked outputs and `F.sum`.
    """
    n, shape = len(outs), outs[0].shape
    probs = F.softmax(alpha, axis=0)
    if mix == "sum":
        weights = F.reshape(probs, (n,) + (1,) * len(shape))
        return F.sum(F.stack(*outs, axis=0) * weights, axis=0)
    stacked = F.reshape(F.stack(*outs, axis=0), (n, -1))
    return F.reshape(F.affine(F.reshape(probs, (1, n)), stacked), shape)


def mixed_op(x: nn.Variable, alpha: nn.Variable, stride: int, mix: str) -> nn.Variable:
    outs = []
    for k, name in enumerate(CANDIDATES):
        with nn.parameter_scope(f"op{k}"):
            outs.append(OPS[name](x, stride))
    return weighted_sum(outs, alpha, mix)


def cell(
    s0: nn.Variable, s1: nn.Variable, channels: int, alphas: Sequence[nn.Variable],
    *, reduction: bool, reduction_prev: bool, mix: str,
) -> nn.Variable:  # fmt: skip
    with nn.parameter_scope("pre0"):
        h0 = factorized_reduce(s0, channels) if reduction_prev else relu_conv_bn(s0, channels)
    with nn.parameter_scope("pre1"):
        states = [h0, relu_conv_bn(s1, channels)]
    edge = 0
    for _ in range(NUM_NODES):
        outs = []
        for j, h in enumerate(states):
            with nn.parameter_scope(f"edge{edge}"):
                outs.append(mixed_op(h, alphas[edge], 2 if reduction and j < 2 else 1, mix))
            edge += 1
        states.append(F.add_n(*outs))
    return F.concatenate(*states[-MULTIPLIER:], axis=1)


def arch_parameters(kind: str) -> list[nn.Variable]:
    edges = NUM_NODES * (NUM_NODES + 3) // 2
    init = I.NormalInitializer(1e-3)
    with nn.parameter_scope("arch"), nn.parameter_scope(kind):
        return [
            nn.parameter.get_parameter_or_create(str(e), (len(CANDIDATES),), init)
            for e in range(edges)
        ]


def supernet(x: nn.Variable, setup: Setup) -> nn.Variable:
    """The DARTS supernet's logits; parameters go to scopes 'net' and 'arch'."""
    with nn.parameter_scope("net"), nn.parameter_scope("stem"):
        stem_out = PF.convolution(
            x, STEM_MULTIPLIER * setup.channels, (3, 3), pad=(1, 1), with_bias=False
        )
        s0 = s1 = bn(stem_out, affine=True)
    alphas = {False: arch_parameters("normal"), True: arch_parameters("reduce")}
    channels, reduction_prev = setup.channels, False
    for i in range(setup.cells):
        reduction = i in (setup.cells // 3, 2 * setup.cells // 3)
        channels *= 2 if reduction else 1
        with nn.parameter_scope("net"), nn.parameter_scope(f"cell{i}"):
            s0, s1 = s1, cell(
                s0, s1, channels, alphas[reduction],
                reduction=reduction, reduction_prev=reduction_prev, mix=setup.mix,
            )  # fmt: skip
        reduction_prev = reduction
    with nn.parameter_scope("net"):
        return PF.affine(F.global_average_pooling(s1), setup.classes)


@dataclass
class RawGraph:
    x: nn.Variable
    y: nn.Variable
    logits: nn.Variable
    loss: nn.Variable

    def minimize(self, batch: Batch, solver: Any) -> None:
        self.x.d, self.y.d = batch
        solver.zero_grad()
        self.loss.forward(clear_no_need_grad=True)
        self.loss.backward(clear_buffer=True)

    def error(self) -> float:
        return top1_error(self.logits.d, self.y.d)


def clip_by_global_norm(solver: Any, params: Sequence[nn.Variable], max_norm: float) -> None:
    norm = math.sqrt(sum(float(np.sum(np.square(p.g))) for p in params))
    if norm > max_norm:
        solver.scale_grad(max_norm / norm)


class RawSide:
    """The same step written directly in nnabla; parameters live in a local scope dict."""

    name = "raw"

    def __init__(self, setup: Setup, values: Values, batches: dict[str, Batch]) -> None:
        self.setup, self.batches = setup, batches
        self.scope: OrderedDict[str, Any] = OrderedDict()
        self.graphs = {phase: self._graph(batches[b][0].shape) for phase, b in PHASES}
        for kind, arrays in values.items():
            for (key, p), value in zip(self._params(kind, False).items(), arrays, strict=True):
                if p.shape != value.shape:
                    raise ValueError(f"raw {key}: shape {p.shape}, value {value.shape}")
                p.d = value
        self.weights = list(self._params("net", True).values())
        self.weight_solver = S.Momentum(lr=WEIGHT_LR, momentum=WEIGHT_MOMENTUM)
        self.weight_solver.set_parameters(self._params("net", True))
        self.arch_solver = S.Adam(ARCH_LR, ARCH_BETAS[0], ARCH_BETAS[1], ARCH_EPS)
        self.arch_solver.set_parameters(self._params("arch", True))

    def _graph(self, shape: tuple[int, ...]) -> RawGraph:
        x, y = nn.Variable(shape), nn.Variable((shape[0], 1))
        with nn.parameter_scope("", self.scope):
            logits = supernet(x, self.setup)
        loss = F.mean(F.softmax_cross_entropy(logits, y))
        logits.persistent = loss.persistent = True
        return RawGraph(x, y, logits, loss)

    def _params(self, kind: str, grad_only: bool) -> OrderedDict[str, nn.Variable]:
        with nn.parameter_scope("", self.scope), nn.parameter_scope(kind):
            return nn.get_parameters(grad_only=grad_only)

    def step(self) -> StepResult:
        arch, train = self.graphs["arch"], self.graphs["train"]
        if self.setup.unrolled:
            arch_loss, arch_error = self._unrolled_arch_gradient()
        else:
            arch.minimize(self.batches["valid"], self.arch_solver)
            arch_loss, arch_error = float(arch.loss.d), arch.error()
        self.arch_solver.weight_decay(ARCH_DECAY)
        self.arch_solver.update()
        train.minimize(self.batches["train"], self.weight_solver)
        clip_by_global_norm(self.weight_solver, self.weights, GRAD_CLIP)
        self.weight_solver.weight_decay(WEIGHT_DECAY)
        self.weight_solver.update()
        return StepResult(arch_loss, arch_error, float(train.loss.d), train.error())

    def _gradients(self, graph: RawGraph, batch: Batch) -> dict[str, np.ndarray]:
        """Every parameter's gradient of `graph`'s loss on `batch`, at the current values."""
        everything = {**self._params("net", True), **self._params("arch", True)}
        for p in everything.values():
            p.grad.zero()
        graph.x.d, graph.y.d = batch
        graph.loss.forward(clear_no_need_grad=True)
        graph.loss.backward(clear_buffer=True)
        return {k: p.g.copy() for k, p in everything.items()}

    def _unrolled_arch_gradient(self) -> tuple[float, float]:
        """The second-order DARTS gradient of the alphas, set as their grads: the valid
        gradient at w' = w - xi * (g_train + wd * w), less xi times the central finite
        difference of the train gradient at w +- eps * dL_valid/dw' (xi the weights' lr,
        eps 0.01 / the norm, as the framework's defaults). Returns the valid batch's loss and
        error at w'."""
        arch, train = self.graphs["arch"], self.graphs["train"]
        weights, alphas = self._params("net", True), self._params("arch", True)
        saved = {k: p.d.copy() for k, p in self._params("net", False).items()}
        g_train = self._gradients(train, self.batches["train"])
        for k, p in weights.items():
            p.d = saved[k] - WEIGHT_LR * (g_train[k] + WEIGHT_DECAY * saved[k])
        g_valid = self._gradients(arch, self.batches["valid"])
        shown = float(arch.loss.d), arch.error()
        norm = math.sqrt(sum(float(np.sum(np.square(g_valid[k]))) for k in weights))
        eps = 0.01 / max(norm, 1e-12)
        terms = []
        for sign in (1.0, -1.0):
            for k, p in weights.items():
                p.d = saved[k] + sign * eps * g_valid[k]
            terms.append(self._gradients(train, self.batches["train"]))
        for k, p in self._params("net", False).items():
            p.d = saved[k]
        for k, a in alphas.items():
            a.g = g_valid[k] - WEIGHT_LR * (terms[0][k] - terms[1][k]) / (2 * eps)
        return shown

    def values(self) -> Values:
        return {k: [p.d.copy() for p in self._params(k, False).values()] for k in ("arch", "net")}

    def function_counts(self) -> Counter[str]:
        return function_counts(*[g.loss for g in self.graphs.values()])


SIDES: dict[str, Callable[[Setup, Values, dict[str, Batch]], Side]] = {
    "framework": FrameworkSide,
    "raw": RawSide,
}


# -- equivalence ---------------------------------------------------------------------------
def max_value_difference(a: Values, b: Values) -> float:
    pairs = [(u, v) for k in ("arch", "net") for u, v in zip(a[k], b[k], strict=True)]
    return max(float(np.max(np.abs(u - v))) for u, v in pairs)


def check_equivalence(framework: Side, raw: Side, steps: int = 2, unrolled: bool = False) -> None:
    """Runs `steps` steps on both sides from the same values; their losses must agree (to
    1e-5). Second order, to 5e-3 and the alphas to 2 x Adam's lr a step: its finite
    difference divides the two sides' rounding differences of the gradients by a small
    step, and Adam's first steps move each alpha by about its lr whatever the size of its
    gradient, so an alpha whose gradient is near 0 may go either way on the two sides."""
    rtol, limit = (5e-3, 2 * ARCH_LR * steps) if unrolled else (1e-5, 1e-4)
    ok = True
    for i in range(steps):
        fw, rw = framework.step(), raw.step()
        for name, u, v in (("arch loss", fw.arch_loss, rw.arch_loss), ("loss", fw.loss, rw.loss)):
            print(
                f"  step {i + 1} {name:9}: framework {u:.7f}  raw {v:.7f}  |diff| {abs(u - v):.1e}"
            )
            ok = ok and bool(np.allclose(u, v, rtol=rtol, atol=1e-6))
    diff = max_value_difference(framework.values(), raw.values())
    print(f"  parameters after {steps} steps: max |framework - raw| = {diff:.1e}")
    assert ok and diff < limit, "the raw graph does not compute what the framework computes"


def describe_graphs(framework: Side, raw: Side) -> None:
    fw, rw = framework.function_counts(), raw.function_counts()
    extra = {k: fw[k] - rw[k] for k in sorted(set(fw) | set(rw)) if fw[k] != rw[k]}
    detail = ", ".join(f"{k} {v:+d}" for k, v in extra.items()) or "same types and counts"
    print(f"  graph functions (both phases): framework {fw.total()}, raw {rw.total()} ({detail})")


# -- timing and memory ---------------------------------------------------------------------
def timed(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def time_alternating(sides: Sequence[Side], warmup: int, steps: int) -> dict[str, list[float]]:
    """Step times of each side, alternating ABBA so that neither side always runs first."""
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    gc.collect()
    for i in range(warmup + steps):
        for side in sides if i % 2 == 0 else sides[::-1]:
            seconds = timed(side.step)
            if i >= warmup:
                times[side.name].append(seconds)
    return times


def status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (Linux), e.g. ``VmRSS``."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def current_rss_kib() -> int:
    return status_kib("VmRSS")


def peak_rss_kib() -> int:
    """This process's peak RSS: ``VmHWM``, the high-water mark of its own address space.
    Not ``ru_maxrss``, which Linux carries over ``fork`` and ``exec``: a child started by
    a parent of 2.5 GB reports at least 2.5 GB, whatever it uses itself."""
    return status_kib("VmHWM")


def run_side(setup: Setup, side: str, values_path: str, warmup: int, steps: int) -> dict:
    """In a fresh process: build one side, run it, report its RSS and step times."""
    if side == "framework":  # imports are not the network's memory
        import nnabla_nas.contrib.darts
        import nnabla_nas.optimizer
        import nnabla_nas.runner.searcher  # noqa: F401
    values = load_values(values_path)
    batches = make_batches(setup)
    gc.collect()
    start = current_rss_kib()
    runner = SIDES[side](setup, values, batches)
    times = [timed(runner.step) for _ in range(warmup + steps)]
    return {"side": side, "start_kib": start, "peak_kib": peak_rss_kib(), "times": times[warmup:]}


# Below this size glibc serves an allocation from its heap, which keeps freed memory; above
# it from mmap, which returns it. With it small (and nnabla's array cache off) the RSS of
# the breakdown's process follows the memory in use.
LIVE_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072"}


def held_outputs(loss: nn.Variable) -> Counter[str]:
    """Bytes of the function outputs of `loss`'s graph whose buffers are allocated, by the
    function's type (a `Reshape`, which shares its input's buffer, is left out)."""
    held: Counter[str] = Counter()
    seen: dict[int, nn.Variable] = {}  # kept alive so that no id is reused

    def visit(f: Any) -> None:
        for v in f.outputs:
            if id(v) in seen or f.info.type_name == "Reshape":
                continue
            seen[id(v)] = v
            if not v.data.clear_called:
                held[f.info.type_name] += int(np.prod(v.shape)) * 4

    loss.visit(visit)
    return held


def run_breakdown(setup: Setup) -> dict:
    """In a fresh process started with `LIVE_ENV`: two of the framework side's steps, each
    half-step's forward and backward as the searcher runs them (its `backward` wrapped to
    read the RSS around them), and what the first step's forwards leave allocated."""
    nn.prefer_cached_array(False)
    batches = make_batches(setup)
    side = FrameworkSide(setup, framework_values(framework_net(setup)), batches)
    searcher = side.searcher
    rows: list[dict] = []

    def backward(graph: Any, optimizer: Any) -> None:  # Algorithm.backward, measured
        optimizer.zero_grad()
        before = current_rss_kib()
        with graph.differentiating(optimizer.params.values()):
            graph.loss.forward(clear_no_need_grad=True)
            forward = current_rss_kib()
            held = held_outputs(graph.loss) if len(rows) < len(PHASES) else Counter()
            graph.loss.backward(clear_buffer=True)
        phase = PHASES[len(rows) % len(PHASES)][0]
        rows.append({"step": len(rows) // len(PHASES), "phase": phase, "before_kib": before,
                     "forward_kib": forward, "backward_kib": current_rss_kib(),
                     "held": dict(held)})  # fmt: skip

    searcher.backward = backward  # type: ignore[method-assign]
    start = current_rss_kib()
    for _ in range(2):
        side.step()
    return {"start_kib": start, "peak_kib": peak_rss_kib(), "rows": rows}


def print_breakdown(setup: Setup) -> None:
    """What the framework's step holds (`run_breakdown`, in a fresh process)."""
    flags = [f"--{k}={v}" for k, v in asdict(setup).items()]
    command = [sys.executable, os.path.abspath(__file__), "--side=breakdown", *flags]
    env = {**os.environ, **LIVE_ENV}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    mib = 1 / 1024
    print(
        f"\nmemory breakdown of the framework's step (MiB; a fresh process whose RSS follows "
        f"the memory in use: {' '.join(f'{k}={v}' for k, v in LIVE_ENV.items())}, nnabla's "
        f"array cache off)\n  after building: {result['start_kib'] * mib:.0f}, peak "
        f"{result['peak_kib'] * mib:.0f}"
    )
    print(f"  {'step phase':<12} {'before':>8} {'forward':>8} {'backward':>9}  kept after backward")
    for r in result["rows"]:
        kept = (r["backward_kib"] - r["before_kib"]) * mib
        before, forward, backward = (r[k] * mib for k in ("before_kib", "forward_kib",
                                                            "backward_kib"))  # fmt: skip
        print(f"  {r['step']} {r['phase']:<10} {before:8.0f} {forward:8.0f} {backward:9.0f}  "
              f"{kept:+.0f}")  # fmt: skip
    for r in result["rows"]:
        if r["held"]:
            total = sum(r["held"].values())
            parts = sorted(r["held"].items(), key=lambda kv: -kv[1])
            text = ", ".join(f"{k} {v / 2**20:.0f}" for k, v in parts if v >= 2**20)
            print(f"  outputs allocated at the end of the {r['phase']} forward: "
                  f"{total / 2**20:.0f} ({text})")  # fmt: skip
    print(
        "  kept after backward: memory the phase's graph keeps between steps (nothing of "
        "its outputs: buffers inside its functions, e.g. DepthwiseConvolution's)"
    )


def in_subprocess(setup: Setup, side: str, values_path: str, warmup: int, steps: int) -> dict:
    flags = [f"--{k}={v}" for k, v in asdict(setup).items()]
    command = [sys.executable, os.path.abspath(__file__), f"--side={side}", *flags]
    command += [f"--values={values_path}", f"--warmup={warmup}", f"--steps={steps}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def save_values(path: str, values: Values) -> None:
    np.savez(
        path, **{f"{k}_{i:05d}": v for k, arrays in values.items() for i, v in enumerate(arrays)}
    )


def load_values(path: str) -> Values:
    with np.load(path) as f:
        keys = sorted(f.files)
        return {k: [f[n] for n in keys if n.startswith(k + "_")] for k in ("arch", "net")}


# -- report --------------------------------------------------------------------------------
def machine() -> str:
    uname, cpu = platform.uname(), platform.processor() or "unknown cpu"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    return (
        f"{uname.system} {uname.release} {uname.machine}, {cpu}, {os.cpu_count()} cores; "
        f"Python {platform.python_version()}, nnabla {nn.__version__}, "
        f"context {nn.get_current_context().backend}"
    )


def print_times(title: str, times: dict[str, list[float]]) -> tuple[float, float]:
    """Prints median, min and max per side; returns the framework/raw ratios of median, min."""
    print(f"\n{title}\n  {'':<12} {'median':>8} {'min':>8} {'max':>8}")
    for name, t in times.items():
        print(f"  {name:<12} {statistics.median(t):8.3f} {min(t):8.3f} {max(t):8.3f}")
    fw, rw = times["framework"], times["raw"]
    ratios = (statistics.median(fw) / statistics.median(rw), min(fw) / min(rw))
    print(f"  {'ratio fw/raw':<12} {ratios[0]:8.3f} {ratios[1]:8.3f}")
    return ratios


def print_memory(results: dict[str, dict]) -> float:
    """Prints RSS before building, peak and increase per side; returns the increase ratio."""
    print("\npeak memory (MiB), each side in a fresh process")
    print(f"  {'':<12} {'before':>8} {'peak':>8} {'increase':>9}")
    mib = {k: (r["start_kib"] / 1024, r["peak_kib"] / 1024) for k, r in results.items()}
    for name, (before, peak) in mib.items():
        print(f"  {name:<12} {before:8.1f} {peak:8.1f} {peak - before:9.1f}")
    (fw_before, fw_peak), (rw_before, rw_peak) = mib["framework"], mib["raw"]
    ratio = (fw_peak - fw_before) / (rw_peak - rw_before)
    print(f"  {'ratio fw/raw':<12} {'':>8} {fw_peak / rw_peak:8.3f} {ratio:9.3f}")
    return ratio


def verdict(metric: str, ratio: float, note: str) -> str:
    overhead = ratio - 1.0
    status = "met" if overhead <= TARGET_OVERHEAD else "NOT met"
    return f"{metric} overhead: {overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%}: {status}); {note}"


def profile(sides: Sequence[Side], steps: int) -> None:
    """Prints each side's costliest Python-visible functions over `steps` steps."""
    for side in sides:
        profiler = cProfile.Profile()
        for _ in range(steps):
            profiler.runcall(side.step)
        print(f"\ncProfile, {side.name}, {steps} steps, by own time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(8)


# -- main ----------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--channels", type=int, default=Setup.channels, help="init_channels")
    p.add_argument("--cells", type=int, default=Setup.cells, help="num_cells (>= 3)")
    p.add_argument("--batch", type=int, default=Setup.batch, help="train and valid batch size")
    p.add_argument("--size", type=int, default=Setup.size, help="input height and width")
    p.add_argument("--classes", type=int, default=Setup.classes)
    p.add_argument("--seed", type=int, default=Setup.seed)
    p.add_argument("--steps", type=int, default=10, help="timed steps per side")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    p.add_argument(
        "--mix", choices=("affine", "sum"), default=Setup.mix,
        help="the raw graph's weighted sum: 'affine' as MixedOp, 'sum' as broadcast * and F.sum",
    )  # fmt: skip
    p.add_argument(
        "--recompute", type=lambda text: text.lower() in ("1", "true", "yes"), default=False,
        help="true: the framework side recomputes ReLU and pointwise convolution outputs in "
        "the backward (recompute: true of a search config); the raw side keeps them",
    )  # fmt: skip
    p.add_argument(
        "--unrolled", type=lambda text: text.lower() in ("1", "true", "yes"), default=False,
        help="true: the second-order step (darts.unrolled: true) on both sides, the raw side "
        "with its two graphs and every gradient in each of its four terms",
    )  # fmt: skip
    p.add_argument("--profile", action="store_true", help="also cProfile both sides' steps")
    p.add_argument(
        "--breakdown", action="store_true",
        help="also break the framework step's memory down by phase and function type",
    )  # fmt: skip
    p.add_argument("--side", choices=(*SIDES, "breakdown"), help=argparse.SUPPRESS)
    p.add_argument("--values", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def setup_of(args: argparse.Namespace) -> Setup:
    fields = (
        "channels", "cells", "batch", "size", "classes", "seed", "mix", "recompute", "unrolled",
    )  # fmt: skip
    return Setup(**{k: getattr(args, k) for k in fields})


def describe(setup: Setup, values: Values) -> None:
    count = sum(int(np.prod(v.shape)) for v in values["net"])
    print(
        f"machine: {machine()}\n"
        f"network: SearchNet(in_channels={IN_CHANNELS}, init_channels={setup.channels}, "
        f"num_cells={setup.cells}, num_classes={setup.classes}), mode 'full', "
        f"{len(CANDIDATES)} candidates on 14 edges per cell, {count} weights\n"
        f"batch: {setup.batch} x {IN_CHANNELS}x{setup.size}x{setup.size} (train and valid); "
        f"raw weighted sum: {setup.mix}; framework recomputes activations: {setup.recompute}; "
        f"second order: {setup.unrolled}"
    )


def in_process(setup: Setup, values: Values, args: argparse.Namespace) -> tuple[float, float]:
    """Equivalence, then alternating timing; returns the time ratios (median, min)."""
    batches = make_batches(setup)
    framework, raw = FrameworkSide(setup, values, batches), RawSide(setup, values, batches)
    sides: list[Side] = [framework, raw]
    print("\nequivalence: same initial values, same batches")
    check_equivalence(framework, raw, unrolled=setup.unrolled)
    describe_graphs(framework, raw)
    times = time_alternating(sides, args.warmup, args.steps)
    warm = args.warmup + 2  # the equivalence steps warm up too
    title = f"time per step (s): {args.steps} steps after {warm} warm-up, sides alternating"
    ratios = print_times(title, times)
    if args.profile:
        profile(sides, args.steps)
    return ratios


def compare(setup: Setup, args: argparse.Namespace) -> None:
    values = framework_values(framework_net(setup))
    describe(setup, values)
    median, low = in_process(setup, values, args)
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "values.npz")
        save_values(path, values)
        runs = {s: in_subprocess(setup, s, path, args.warmup, args.steps) for s in SIDES}
    title = "time per step (s), cross-check: each side alone in a fresh process"
    print_times(title, {s: r["times"] for s, r in runs.items()})
    memory = print_memory(runs)
    if args.breakdown:
        print_breakdown(setup)
    print()
    print(verdict("time", median, f"medians, alternating; on minima {low - 1:+.1%}"))
    print(verdict("memory", memory, "peak RSS increase over the RSS before building"))


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    setup = setup_of(args)
    if args.side == "breakdown":
        print(json.dumps(run_breakdown(setup)))
    elif args.side:
        print(json.dumps(run_side(setup, args.side, args.values, args.warmup, args.steps)))
    else:
        compare(setup, args)


if __name__ == "__main__":
    main()
