"""``nnabla-nas profile``: measured latency next to every estimator's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..contrib.estimator import (
    FLOPsEstimator,
    LatencyEstimator,
    MemoryEstimator,
    ParamsEstimator,
)
from ..contrib.model import Model
from .build import latency_threads, make_dataset
from .config import (
    SearchConfig,
    TrainConfig,
    load_config,
    parse_config,
    read_config,
    space_of,
)
from .multitrial import candidate_config
from .run import RunFolder


@dataclass
class Target:
    """What `profile` measures: a network, the `MixedOp` mode to build it in (``'max'``:
    a supernet's most likely path), and the shape of one input."""

    model: Model
    choice: str | None
    sample_shape: tuple[int, int, int]


def _train_target(cfg: TrainConfig, arch_path: str) -> Target:
    dataset = make_dataset(cfg.dataset)
    space = space_of(cfg)
    model = space.make_train_net(
        dataset.sample_shape[0], dataset.classes, space.read(arch_path), seed=cfg.seed,
        options=cfg.model.options,
    )  # fmt: skip
    return Target(model, None, dataset.sample_shape)


def _search_target(cfg: SearchConfig) -> Target:
    dataset = make_dataset(cfg.dataset)
    model = space_of(cfg).make_search_net(
        dataset.sample_shape[0], dataset.classes, seed=cfg.seed, options=cfg.model.options
    )
    return Target(model, "max", dataset.sample_shape)


def target_of_run(run_dir: str) -> Target:
    """The network of a run folder, as its manifest says: a retraining's network, a
    multi-trial search's best architecture, or a one-shot supernet's most likely path
    (at the search's initial weights; the architecture is the same)."""
    run = RunFolder(run_dir)
    manifest = run.manifest()
    if manifest.command == "train":
        return _train_target(load_config(TrainConfig, run.file("config")), run.file("arch"))
    cfg = load_config(SearchConfig, run.file("config"))
    if manifest.kind == "multi-trial":
        train = parse_config(TrainConfig, candidate_config(cfg, space_of(cfg)))
        return _train_target(train, run.file("arch"))
    return _search_target(cfg)


def target_of_config(path: str | None, arch: str | None, overrides: Sequence[str]) -> Target:
    """The train network of `arch` (a train config), or without `arch` the search space's
    most likely path (a search config)."""
    data = read_config(path, overrides)
    if arch is not None:
        return _train_target(parse_config(TrainConfig, data), arch)
    return _search_target(parse_config(SearchConfig, data))


def profile(
    model: Model,
    input_shape: Sequence[int],
    *,
    choice: str | None = None,
    runs: int = 50,
    table_path: str | None = None,
) -> dict[str, Any]:
    """Measures `model` end to end and runs every estimator on it, in inference mode with
    its `MixedOp`s in `choice` mode (the tree's modes are restored afterwards)."""
    with model.modes(training=False, choice=choice):
        return _profile(model, input_shape, runs=runs, table_path=table_path)


def _profile(
    model: Model, input_shape: Sequence[int], *, runs: int, table_path: str | None
) -> dict[str, Any]:
    latency = LatencyEstimator(table_path, threads=latency_threads())
    measured = latency.measure_network(model, input_shape, runs=runs)
    rows: dict[str, dict[str, Any]] = {}
    named = {"ms": latency, "flops": FLOPsEstimator(), "params": ParamsEstimator()}
    for column, estimator in named.items():
        for path, kind, cost in estimator.table(model, input_shape):
            rows.setdefault(path, {"layer": path, "type": kind}).setdefault(column, cost)
    memory = MemoryEstimator()
    result = {
        "input_shape": list(input_shape),
        "measured_ms": measured,
        "predicted_ms": latency.cost(model, input_shape),
        "flops": FLOPsEstimator().cost(model, input_shape),
        "params": ParamsEstimator().cost(model, input_shape),
        "parameter_bytes": memory.parameter_bytes(model, input_shape),
        "peak_activation_bytes": memory.peak_activation_bytes(model, input_shape),
        "layers": list(rows.values()),
    }
    if table_path:
        latency.save()
    return result


def report(result: dict[str, Any]) -> str:
    """The profile as text: summary, then the per-layer table."""
    m, predicted = result["measured_ms"], result["predicted_ms"]
    error = 100.0 * (predicted - m["median"]) / m["median"]
    lines = [
        f"input {tuple(result['input_shape'])}",
        f"latency, measured end to end: median {m['median']:.3f} ms "
        f"(min {m['min']:.3f}, max {m['max']:.3f})",
        f"latency, sum of measured layers: {predicted:.3f} ms ({error:+.1f}% vs measured)",
        f"FLOPs: {result['flops'] / 1e6:.3f} M   parameters: {int(result['params']):,}",
        f"memory: parameters {result['parameter_bytes'] / 2**20:.3f} MiB, peak activations "
        f"{result['peak_activation_bytes'] / 2**20:.3f} MiB",
        "",
        f"{'layer':<48} {'type':<20} {'ms':>9} {'MFLOPs':>9} {'params':>9}",
    ]
    for row in result["layers"]:
        ms, flops, params = (row.get(k, 0.0) for k in ("ms", "flops", "params"))
        lines.append(
            f"{row['layer'][-48:]:<48} {row['type']:<20} {ms:>9.4f} {flops / 1e6:>9.4f} "
            f"{int(params):>9}"
        )
    return "\n".join(lines)
