"""Data parallel over MPI behind one small interface: `Communicator`.

Under ``mpiexec -n N`` (detected from the environment MPI launchers set: Open MPI's
``OMPI_COMM_WORLD_SIZE``, MPICH's and Intel MPI's ``PMI_SIZE``), `world` returns the
communicator of the run: mpi4py's on CPU (the ``nnabla-nas[mpi]`` extra), nnabla's NCCL
one with the ``cudnn`` context. Otherwise a single process (size 1, every call a no-op).

Example:
    >>> comm = world("cpu")  # not under mpiexec: one process
    >>> comm.rank, comm.size
    (0, 1)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import nnabla as nn
import numpy as np

#: The environment variables an MPI launcher sets to the number of processes.
SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")


class Communicator:
    """The collectives of data parallel: the process's `rank` among `size` processes.

    This base is one process alone: every collective leaves the arrays as they are.
    """

    rank: int = 0
    size: int = 1
    #: The GPU of this process on its machine (NCCL); 0 elsewhere.
    local_rank: int = 0

    def allreduce_mean(self, arrays: Sequence[nn.NdArray]) -> None:
        """Replaces each array by its mean over the processes, in place (e.g. gradients)."""

    def broadcast(self, arrays: Sequence[nn.NdArray], root: int = 0) -> None:
        """Replaces each array by `root`'s, in place (e.g. the initial weights)."""

    def barrier(self) -> None:
        """Returns when every process has called it."""

    def abort(self, code: int = 1) -> NoReturn:
        """Ends every process of the run with exit status `code` (one process failed)."""
        sys.exit(code)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """The mean of each value over the processes (metrics of equal shards)."""
        if self.size == 1 or not values:
            return values
        keys = list(values)  # every process has the same keys in the same order
        array = nn.NdArray.from_numpy_array(np.array([values[k] for k in keys], np.float64))
        self.allreduce_mean([array])
        return dict(zip(keys, (float(v) for v in array.data), strict=True))


class MpiCommunicator(Communicator):
    """mpi4py's ``COMM_WORLD``: one allreduce of all arrays packed in one buffer."""

    def __init__(self) -> None:
        from mpi4py import MPI

        self._mpi = MPI
        self._comm = MPI.COMM_WORLD
        self.rank, self.size = self._comm.Get_rank(), self._comm.Get_size()

    def allreduce_mean(self, arrays: Sequence[nn.NdArray]) -> None:
        if self.size == 1 or not arrays:
            return
        values = [a.data for a in arrays]
        buffer = np.concatenate([v.reshape(-1).astype(np.float64) for v in values])
        self._comm.Allreduce(self._mpi.IN_PLACE, buffer, op=self._mpi.SUM)
        buffer /= self.size
        offset = 0
        for array, value in zip(arrays, values, strict=True):
            part = buffer[offset : offset + value.size]
            array.data = part.reshape(value.shape).astype(value.dtype)
            offset += value.size

    def broadcast(self, arrays: Sequence[nn.NdArray], root: int = 0) -> None:
        if self.size == 1 or not arrays:
            return
        values = [a.data for a in arrays]
        buffer = np.concatenate([v.reshape(-1).astype(np.float64) for v in values])
        self._comm.Bcast(buffer, root=root)
        offset = 0
        for array, value in zip(arrays, values, strict=True):
            array.data = (
                buffer[offset : offset + value.size].reshape(value.shape).astype(value.dtype)
            )
            offset += value.size

    def barrier(self) -> None:
        self._comm.Barrier()

    def abort(self, code: int = 1) -> NoReturn:
        sys.stderr.flush()
        self._comm.Abort(code)
        raise SystemExit(code)  # Abort does not return; for the type checker


class NcclCommunicator(Communicator):
    """nnabla's ``MultiProcessDataParalellCommunicator`` (NCCL) in the `context` (cudnn);
    each process uses the GPU of its `local_rank`."""

    def __init__(self, context: nn.Context) -> None:
        import nnabla.communicators as C

        self._comm: Any = C.MultiProcessDataParalellCommunicator(context)
        self._comm.init()
        self.rank, self.size = int(self._comm.rank), int(self._comm.size)
        self.local_rank = int(self._comm.local_rank)

    def allreduce_mean(self, arrays: Sequence[nn.NdArray]) -> None:
        if self.size > 1 and arrays:
            self._comm.all_reduce(list(arrays), division=True, inplace=False)

    def broadcast(self, arrays: Sequence[nn.NdArray], root: int = 0) -> None:
        if self.size > 1 and arrays:
            self._comm.bcast(list(arrays), src=root, inplace=False)

    def barrier(self) -> None:
        self._comm.barrier()

    def abort(self, code: int = 1) -> NoReturn:
        sys.stderr.flush()
        self._comm.abort()
        raise SystemExit(code)


def launched_size(environ: dict[str, str] | None = None) -> int:
    """The number of processes an MPI launcher started this one among (1 outside one)."""
    env = os.environ if environ is None else environ
    for name in SIZE_VARIABLES:
        if env.get(name, "").isdigit():
            return int(env[name])
    return 1


#: The environment variables an MPI launcher sets to the rank of the process.
RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")


def launched_rank(environ: dict[str, str] | None = None) -> int:
    """The rank an MPI launcher gave this process (0 outside one), before `world`."""
    env = os.environ if environ is None else environ
    for name in RANK_VARIABLES:
        if env.get(name, "").isdigit():
            return int(env[name])
    return 0


_WORLD: Communicator | None = None


def world(backend: str = "cpu", context: nn.Context | None = None) -> Communicator:
    """The run's communicator, made once per process: a single process outside MPI, else
    mpi4py's (`backend` ``'cpu'``) or NCCL's (``'cudnn'``, in `context`).

    Raises:
        ImportError: under mpiexec without mpi4py (``pip install nnabla-nas[mpi]``).
    """
    global _WORLD
    if _WORLD is None:
        _WORLD = _make(backend, context)
    return _WORLD


def current() -> Communicator | None:
    """The communicator `world` made, if it did (to abort the run on an error)."""
    return _WORLD


def _make(backend: str, context: nn.Context | None) -> Communicator:
    if launched_size() <= 1:
        return Communicator()
    if backend == "cudnn":
        if context is None:
            raise ValueError("the NCCL communicator needs the cudnn context")
        return NcclCommunicator(context)
    try:
        return MpiCommunicator()
    except ImportError:
        raise ImportError(
            "running under mpiexec needs mpi4py: pip install 'nnabla-nas[mpi]'"
        ) from None
