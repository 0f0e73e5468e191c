"""``nnabla-nas specialize``: a trained supernet's best sub-network under a latency (and/or
FLOPs) budget.

The multi-trial search it runs is an ordinary one (``evaluator: supernet``), written from
the supernet run's own config: regularized evolution over the space's decisions, each
candidate scored with the weights it inherits after its BatchNorm statistics are
recalibrated, priced by the latency estimator calibrated on this machine, and those over
the budget never evaluated. For an elastic supernet (Once-for-All) the search also writes
the best sub-network as a plain network (`multitrial.write_subnet`).
"""

from __future__ import annotations

from typing import Any

from .config import SearchConfig, load_config, parse_config, to_dict
from .run import RunError, RunFolder
from .search import SearchResult, run_search

__all__ = ["run_specialize", "specialize_config"]


def specialize_config(
    run_dir: str,
    *,
    latency: float | None = None,
    flops: float | None = None,
    trials: int = 100,
    population: int = 16,
    sample_size: int | None = None,
    calib_batches: int | None = None,
    eval_batches: int | None = None,
    seed: int | None = None,
    latency_table: str | None = None,
) -> SearchConfig:
    """The multi-trial search config of specialising the supernet of `run_dir` to a
    budget of `latency` ms and/or `flops` FLOPs per input (at least one): the run's data,
    model, context and seed.
    The evolution's tournaments draw `sample_size` (default: 4, at most `population`).
    `latency_table` reuses and extends a latency table and its calibration (one machine's
    calibration for every budget), else the output folder gets its own.

    Raises:
        RunError: `run_dir` is not a run folder.
        ConfigError: a bad setting, or a run the supernet evaluator cannot score from
            (checked when the search starts, before anything is written).
    """
    if latency is None and flops is None:
        raise ValueError("specialize needs a budget: give --latency MS, --flops N or both")
    run = RunFolder(run_dir)
    manifest = run.manifest()
    if manifest.command != "search" or manifest.kind != "one-shot":
        raise RunError(
            f"'{run_dir}' holds a {manifest.kind if manifest.command == 'search' else 'training'}"
            ", not the one-shot search of a supernet: specialise the run of an ofa, spos or "
            "fairnas search"
        )
    source = load_config(SearchConfig, run.file("config"))
    data: dict[str, Any] = {
        "seed": source.seed if seed is None else seed,
        "context": source.context,
        "device_id": source.device_id,
        "searcher": "evolution",
        "evolution": {
            "population_size": population,
            "sample_size": min(4, population) if sample_size is None else sample_size,
        },
        "multitrial": {
            "trials": trials,
            "evaluator": "supernet",
            "supernet": run_dir,
            "max_latency": latency,
            "max_flops": flops,
            "calib_batches": calib_batches,
            "eval_batches": eval_batches,
            "latency_table": latency_table,
        },
        "dataset": to_dict(source.dataset),
        "model": to_dict(source.model),
    }
    return parse_config(SearchConfig, data)


def run_specialize(
    run_dir: str, output_dir: str, *, resume: bool = False, **settings: Any
) -> SearchResult:
    """Specialises the supernet of `run_dir` into `output_dir` (a multi-trial run folder;
    see `specialize_config` for the budgets and settings)."""
    cfg = specialize_config(run_dir, **settings)
    return run_search(cfg, output_dir, resume=resume)
