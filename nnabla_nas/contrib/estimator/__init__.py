"""Hardware cost models: FLOPs, parameters, memory and measured latency.

Every estimator has the interface of `Estimator`: ``layer_cost``, ``cost``, ``expected``
and ``table``.
"""

from .base import Estimator
from .flops import FLOPsEstimator
from .latency import LatencyEstimator
from .memory import MemoryEstimator, graph_peak_bytes
from .params import ParamsEstimator

# The names configs use (``pnas.cost: latency``).
ESTIMATORS: dict[str, type[Estimator]] = {
    "latency": LatencyEstimator,
    "memory": MemoryEstimator,
    "flops": FLOPsEstimator,
    "params": ParamsEstimator,
}

__all__ = [
    "ESTIMATORS",
    "Estimator",
    "FLOPsEstimator",
    "LatencyEstimator",
    "MemoryEstimator",
    "ParamsEstimator",
    "graph_peak_bytes",
]
