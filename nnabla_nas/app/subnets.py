"""The multi-trial searches over a trained supernet's sub-networks, written from the
supernet run's own config: a specialisation to a budget (``nnabla-nas specialize``) and
the random sample of an elastic supernet's accuracy-latency front (after an OFA search).

Both are ordinary multi-trial searches (``evaluator: supernet``): each candidate scored
with the weights it inherits after its BatchNorm statistics are recalibrated, and priced
by the latency estimator calibrated on this machine.
"""

from __future__ import annotations

from typing import Any

from .config import SearchConfig, load_config, parse_config, to_dict
from .run import RunError, RunFolder

__all__ = ["front_config", "specialize_config"]


def _subnet_search(
    source: SearchConfig,
    run_dir: str,
    searcher: str,
    strategy: dict[str, Any],
    multitrial: dict[str, Any],
    seed: int | None,
) -> SearchConfig:
    """A multi-trial search (`searcher`, its section `strategy`) scoring the sub-networks
    of the supernet `run_dir` trained with `source`: its data, model, context and seed."""
    data: dict[str, Any] = {
        "seed": source.seed if seed is None else seed,
        "context": source.context,
        "device_id": source.device_id,
        "searcher": searcher,
        "multitrial": {"evaluator": "supernet", "supernet": run_dir, **multitrial},
        "dataset": to_dict(source.dataset),
        "model": to_dict(source.model),
    }
    if strategy:
        data[searcher] = strategy
    return parse_config(SearchConfig, data)


def front_config(source: SearchConfig, run_dir: str, *, trials: int) -> SearchConfig:
    """The random search that scores `trials` sub-networks of the elastic supernet of
    `run_dir`, trained with `source`, for its accuracy-latency front (no budget)."""
    return _subnet_search(source, run_dir, "random", {}, {"trials": trials}, None)


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
    evolution = {
        "population_size": population,
        "sample_size": min(4, population) if sample_size is None else sample_size,
    }
    multitrial = {
        "trials": trials,
        "max_latency": latency,
        "max_flops": flops,
        "calib_batches": calib_batches,
        "eval_batches": eval_batches,
        "latency_table": latency_table,
    }
    return _subnet_search(source, run_dir, "evolution", evolution, multitrial, seed)
