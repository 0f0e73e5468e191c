"""`Optimizer`: an nnabla solver with a schedule, weight decay, global clipping, resumable state."""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

import h5py
import nnabla as nn
import nnabla.functions as F
import nnabla.solvers as S

from ..utils.distributed import Communicator
from ..utils.io import atomic_path
from .schedulers import ConstantScheduler, Scheduler

# Root attributes added to nnabla's own state file; nnabla ignores them on load.
_ITERATION_ATTR = "nnabla_nas_iteration"
_SOLVER_ATTR = "nnabla_nas_solver"


class SolverFactory(Protocol):
    """Builds an nnabla solver from the hyperparameters common to all solvers."""

    def __call__(
        self, lr: float, *, momentum: float, betas: tuple[float, float], eps: float
    ) -> Any: ...


def _sgd(lr: float, *, momentum: float, betas: tuple[float, float], eps: float) -> Any:
    return S.Sgd(lr=lr)


def _momentum(lr: float, *, momentum: float, betas: tuple[float, float], eps: float) -> Any:
    return S.Momentum(lr=lr, momentum=momentum)


def _nesterov(lr: float, *, momentum: float, betas: tuple[float, float], eps: float) -> Any:
    return S.Nesterov(lr=lr, momentum=momentum)


def _adam(lr: float, *, momentum: float, betas: tuple[float, float], eps: float) -> Any:
    return S.Adam(alpha=lr, beta1=betas[0], beta2=betas[1], eps=eps)


SOLVERS: dict[str, SolverFactory] = {
    "sgd": _sgd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "adam": _adam,
}


def _check_hyperparameters(
    momentum: float, betas: tuple[float, float], eps: float, weight_decay: float
) -> None:
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
    if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    if not eps > 0.0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    if not (math.isfinite(weight_decay) and weight_decay >= 0.0):
        raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")


def _as_scheduler(lr: float | Scheduler) -> Scheduler:
    return lr if isinstance(lr, Scheduler) else ConstantScheduler(float(lr))


def _check_h5_path(path: str) -> None:
    if not path.endswith(".h5"):
        raise ValueError(
            f"optimizer states are stored as HDF5; use a path ending in .h5, got {path!r}"
        )


class Optimizer:
    """Updates a dict of parameters with an nnabla solver.

    Each `step()` clips the global gradient norm to `grad_clip` (if set), adds the L2 weight
    decay ``weight_decay * w`` to the gradients, sets the learning rate of the current
    iteration from the schedule, updates, and counts the iteration. Gradients accumulate in
    nnabla's backward, so call `zero_grad()` before each backward.

    Args:
        params: the parameters to update, e.g. ``model.get_net_parameters(grad_only=True)``;
            every one is updated, whatever its ``need_grad``.
        name: one of `SOLVERS`: 'sgd', 'momentum', 'nesterov' or 'adam'.
        lr: a constant learning rate or a `Scheduler` of the iteration.
        momentum: the momentum of 'momentum' and 'nesterov'.
        betas: Adam's decay rates.
        eps: Adam's denominator offset.
        weight_decay: the L2 penalty coefficient (added to the gradient, also for Adam).
        grad_clip: the largest global L2 norm of all gradients together, or None.
        communicator: data parallel: each step first replaces the gradients by their mean
            over the processes (an allreduce), so every process makes the same update.

    Example:
        >>> import nnabla as nn
        >>> import numpy as np
        >>> from nnabla_nas.optimizer import Optimizer
        >>> w = nn.Variable.from_numpy_array(np.ones(3, np.float32), need_grad=True)
        >>> opt = Optimizer({"w": w}, "sgd", lr=0.5)
        >>> opt.zero_grad()
        >>> w.g = np.full(3, 2.0)
        >>> opt.step()
        >>> w.d.tolist(), opt.iteration
        ([0.0, 0.0, 0.0], 1)
    """

    def __init__(
        self,
        params: Mapping[str, nn.Variable],
        name: str = "sgd",
        lr: float | Scheduler = 0.1,
        *,
        momentum: float = 0.9,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        grad_clip: float | None = None,
        communicator: Communicator | None = None,
    ) -> None:
        if name not in SOLVERS:
            raise ValueError(f"unknown solver {name!r}; choose one of {sorted(SOLVERS)}")
        if not params:
            raise ValueError("Optimizer got no parameters; pass a non-empty dict of nn.Variable")
        if grad_clip is not None and not grad_clip > 0.0:
            raise ValueError(f"grad_clip must be > 0 or None, got {grad_clip!r}")
        _check_hyperparameters(momentum, betas, eps, weight_decay)
        self._params = dict(params)
        self._name = name
        self._scheduler = _as_scheduler(lr)
        self._weight_decay = weight_decay
        self._grad_clip = grad_clip
        self._comm = communicator
        self._averaged: list[nn.NdArray] = []
        self._iteration = 0
        self._grad_norm: float | None = None
        self._norm_graph: nn.Variable | None = None
        self._solver = SOLVERS[name](self._scheduler(0), momentum=momentum, betas=betas, eps=eps)
        self._solver.set_parameters(self._params)

    @property
    def name(self) -> str:
        """The solver's name in `SOLVERS`."""
        return self._name

    @property
    def iteration(self) -> int:
        """The number of steps taken so far."""
        return self._iteration

    @property
    def lr(self) -> float:
        """The learning rate the next `step()` uses."""
        return self._scheduler(self._iteration)

    @property
    def weight_decay(self) -> float:
        """The L2 coefficient added to the gradients as ``weight_decay * w`` in each step."""
        return self._weight_decay

    @property
    def grad_clip(self) -> float | None:
        """The largest global gradient norm a step uses, or None for no clipping."""
        return self._grad_clip

    @property
    def scheduler(self) -> Scheduler:
        """The learning-rate schedule."""
        return self._scheduler

    @property
    def params(self) -> dict[str, nn.Variable]:
        """The parameters this optimizer updates (a copy of the dict, same variables)."""
        return dict(self._params)

    def zero_grad(self) -> None:
        """Sets every parameter's gradient to zero."""
        self._solver.zero_grad()
        self._grad_norm = None

    def grad_norm(self) -> float:
        """The global L2 norm of all gradients (summed in float32).

        After a step with clipping (until the next `zero_grad()`) this is the norm that
        step clipped against, before clipping and weight decay; otherwise it is the norm
        of the current gradients.
        """
        if self._grad_norm is not None:
            return self._grad_norm
        return self._global_norm()

    def average_with_gradients(self, arrays: Sequence[nn.NdArray]) -> None:
        """Data parallel: each step also replaces `arrays` by their mean over the processes,
        in the gradients' allreduce (one message), e.g. batch normalization's running
        statistics under per-process batch statistics. No effect in one process."""
        self._averaged = list(arrays)

    def step(self, active: Collection[str] | None = None) -> None:
        """Clips, applies weight decay, sets the scheduled learning rate and updates once.

        Args:
            active: the keys of the parameters this step may change; the others keep
                their values and solver state (momentum, Adam moments), as if they were
                not registered. For sampled paths, where most weights had no part in the
                step. None updates every parameter.
        """
        frozen = [] if active is None else [k for k in self._params if k not in active]
        if self._comm is not None:
            self._comm.allreduce_mean([*(p.grad for p in self._params.values()), *self._averaged])
        saved = self._save(frozen)
        self._grad_norm = self._global_norm() if self._grad_clip is not None else None
        if self._grad_clip is not None:
            self._clip(self._grad_clip)
        if self._weight_decay > 0.0:
            self._solver.weight_decay(self._weight_decay)
        self._solver.set_learning_rate(self.lr)
        self._solver.update()
        self._restore(saved)
        self._iteration += 1

    def reset_states(self) -> None:
        """Zeroes the solver state (momentum, Adam's moments and step count) of every
        parameter, as a new solver would start; the iteration, and so the learning-rate
        schedule, goes on. For a change of the weights the state does not follow (e.g.
        channels permuted in place)."""
        states = self._solver.get_states()
        for state in states.values():
            for variable in state.pstate.values():
                variable.data.zero()
            state.t = 0
        self._solver.set_states(states)

    def _save(self, keys: list[str]) -> dict[str, tuple[Any, dict[str, Any], int]]:
        """Copies of the values and solver states of `keys`."""
        if not keys:
            return {}
        states = self._solver.get_states()
        return {
            k: (
                self._params[k].d.copy(),
                {name: v.d.copy() for name, v in states[k].pstate.items()},
                states[k].t,
            )
            for k in keys
            if k in states
        }

    def _restore(self, saved: dict[str, tuple[Any, dict[str, Any], int]]) -> None:
        if not saved:
            return
        states = self._solver.get_states()
        for key, (value, pstate, t) in saved.items():
            self._params[key].d = value
            for name, array in pstate.items():
                states[key].pstate[name].d = array  # the state variables are the solver's own
            states[key].t = t
        self._solver.set_states({k: states[k] for k in saved})

    def _global_norm(self) -> float:
        # One small nnabla graph over the gradient arrays, built once: reading each `.g`
        # from Python costs tens of microseconds per parameter in nnabla 1.39.
        if self._norm_graph is None:
            squares = []
            for p in self._params.values():
                g = nn.Variable(p.shape)
                g.data = p.grad  # shares the gradient array, no copy
                squares.append(F.sum(F.pow_scalar(g, 2.0)))
            self._norm_graph = F.add_n(*squares) if len(squares) > 1 else squares[0]
        self._norm_graph.forward(clear_buffer=True)
        return math.sqrt(max(float(self._norm_graph.d), 0.0))

    def _clip(self, max_norm: float) -> None:
        # nnabla's clip_grad_by_norm clips each parameter on its own; this clips them together.
        assert self._grad_norm is not None
        if self._grad_norm > max_norm:
            self._solver.scale_grad(max_norm / self._grad_norm)

    def save_states(self, path: str) -> None:
        """Writes the solver state and the iteration to the .h5 file `path`, atomically.

        The file is nnabla's own solver-state file (``Solver.save_states``) with the
        iteration and solver name as root attributes.
        """
        _check_h5_path(path)
        with atomic_path(path) as tmp:
            self._solver.save_states(tmp)
            with h5py.File(tmp, "a") as f:
                f.attrs[_ITERATION_ATTR] = self._iteration
                f.attrs[_SOLVER_ATTR] = self._name

    def load_states(self, path: str) -> None:
        """Restores what `save_states` wrote, so the next steps continue the saved run exactly."""
        _check_h5_path(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no optimizer states at {path!r}; write them with save_states")
        iteration = self._check_state_file(path)
        self._solver.load_states(path)
        self._iteration = iteration
        self._grad_norm = None

    def _check_state_file(self, path: str) -> int:
        with h5py.File(path, "r") as f:
            if _ITERATION_ATTR not in f.attrs or _SOLVER_ATTR not in f.attrs:
                raise ValueError(f"{path!r} was not written by Optimizer.save_states")
            saved_name = str(f.attrs[_SOLVER_ATTR])
            if saved_name != self._name:
                raise ValueError(
                    f"{path!r} holds {saved_name!r} solver states but this optimizer is "
                    f"{self._name!r}; build the Optimizer with name={saved_name!r}"
                )
            _check_state_shapes(path, _state_shapes(f), self._params)
            return int(f.attrs[_ITERATION_ATTR])


def _state_shapes(f: h5py.File) -> dict[str, set[tuple[int, ...]]]:
    """Maps each parameter key in an nnabla state file to the shapes of its state arrays."""
    shapes: dict[str, set[tuple[int, ...]]] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and "t" in obj:
            shapes[name] = {v.shape for k, v in obj.items() if k != "t"}

    f.visititems(visit)
    return shapes


def _check_state_shapes(
    path: str, shapes: Mapping[str, set[tuple[int, ...]]], params: Mapping[str, nn.Variable]
) -> None:
    missing, unexpected = sorted(set(params) - set(shapes)), sorted(set(shapes) - set(params))
    if missing or unexpected:
        raise ValueError(
            f"{path!r} does not match the optimizer's parameters: missing {missing}, "
            f"unexpected {unexpected}; build the Optimizer over the parameters that were saved"
        )
    for key, found in shapes.items():
        if found - {tuple(params[key].shape)}:
            raise ValueError(
                f"{path!r}: state of {key!r} has shapes {sorted(found)} but the parameter "
                f"has shape {tuple(params[key].shape)}"
            )
