"""``nnabla-nas specialize``: a trained supernet's best sub-network under a latency (and/or
FLOPs) budget.

The multi-trial search it runs is an ordinary one (``evaluator: supernet``), written from
the supernet run's own config (`subnets.specialize_config`): regularized evolution over
the space's decisions, each candidate scored with the weights it inherits after its
BatchNorm statistics are recalibrated, priced by the latency estimator calibrated on this
machine, and those over the budget never evaluated. For an elastic supernet (Once-for-All)
the search also writes the best sub-network as a plain network (`multitrial.write_subnet`).
"""

from __future__ import annotations

from typing import Any

from .search import SearchResult, run_search
from .subnets import specialize_config

__all__ = ["run_specialize", "specialize_config"]


def run_specialize(
    run_dir: str, output_dir: str, *, resume: bool = False, **settings: Any
) -> SearchResult:
    """Specialises the supernet of `run_dir` into `output_dir` (a multi-trial run folder;
    see `specialize_config` for the budgets and settings)."""
    cfg = specialize_config(run_dir, **settings)
    return run_search(cfg, output_dir, resume=resume)
