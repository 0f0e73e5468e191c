"""``nnabla-nas profile``: measured latency next to every estimator's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..contrib.estimator import (
    FLOPsEstimator,
    LatencyEstimator,
    MemoryEstimator,
    ParamsEstimator,
)
from ..contrib.model import Model
from .build import latency_scope, latency_threads, make_dataset
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
    a supernet's most likely path), the shape of one input, and the space and model
    options it was built from (the scope of its latency calibration)."""

    model: Model
    choice: str | None
    sample_shape: tuple[int, int, int]
    space: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    arch: Any = None  # the architecture measured, as JSON data (None: a fresh supernet)

    @property
    def supernet(self) -> bool:
        return self.choice == "max"

    def scope(self, batch: int) -> str:
        """The latency calibration's scope of this network at `batch` inputs."""
        return latency_scope(self.space, self.options, (batch, *self.sample_shape))


def _train_target(cfg: TrainConfig, arch_path: str) -> Target:
    dataset = make_dataset(cfg.dataset)
    space = space_of(cfg)
    arch = space.read(arch_path)
    model = space.make_train_net(
        dataset.sample_shape[0], dataset.classes, arch, seed=cfg.seed, options=cfg.model.options
    )
    return Target(model, None, dataset.sample_shape, space.name, dict(cfg.model.options), arch)


def _search_target(cfg: SearchConfig) -> Target:
    dataset = make_dataset(cfg.dataset)
    space = space_of(cfg)
    model = space.make_search_net(
        dataset.sample_shape[0], dataset.classes, seed=cfg.seed, options=cfg.model.options
    )
    return Target(model, "max", dataset.sample_shape, space.name, dict(cfg.model.options))


def target_of_run(run_dir: str) -> Target:
    """The network of a run folder, as its manifest says: a retraining's network, a
    multi-trial search's best architecture, or a one-shot supernet's most likely path
    (with the search's final weights and alphas, so the path is the architecture found)."""
    run = RunFolder(run_dir)
    manifest = run.manifest()
    if manifest.command == "train":
        return _train_target(load_config(TrainConfig, run.file("config")), run.file("arch"))
    cfg = load_config(SearchConfig, run.file("config"))
    if manifest.kind == "multi-trial":
        train = parse_config(TrainConfig, candidate_config(cfg, space_of(cfg)))
        return _train_target(train, run.file("arch"))
    target = _search_target(cfg)
    if run.has("weights"):
        target.model.load_parameters(run.file("weights"))
        target.arch = space_of(cfg).derive(target.model)
    return target


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
    scope: str | None = None,
    calibrate: int = 0,
    import_table: bool = False,
) -> dict[str, Any]:
    """Measures `model` end to end and runs every estimator on it, in inference mode with
    its `MixedOp`s in `choice` mode (the tree's modes are restored afterwards).

    The latency prediction is calibrated for `scope` when the table holds that calibration;
    with `calibrate` > 0 (a supernet only) it is first fitted on that many paths measured
    end to end and stored with the table. `import_table` accepts a table of another
    setting (`LatencyEstimator`).
    """
    latency = LatencyEstimator(
        table_path, threads=latency_threads(), scope=scope, import_table=import_table
    )
    if calibrate:
        if scope is None:
            raise ValueError("profile --calibrate needs the scope of the network")
        latency.calibrate(model, input_shape, paths=calibrate)
    with model.modes(training=False, choice=choice):
        return _profile(model, input_shape, runs=runs, latency=latency, save=bool(table_path))


def _profile(
    model: Model, input_shape: Sequence[int], *, runs: int, latency: LatencyEstimator, save: bool
) -> dict[str, Any]:
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
        "layer_sum_ms": latency.layer_sum(model, input_shape),
        "predictor": latency.predictor,
        "calibration": latency.calibration,
        "flops": FLOPsEstimator().cost(model, input_shape),
        "params": ParamsEstimator().cost(model, input_shape),
        "parameter_bytes": memory.parameter_bytes(model, input_shape),
        "peak_activation_bytes": memory.peak_activation_bytes(model, input_shape),
        "layers": list(rows.values()),
    }
    if save:
        latency.save()
    return result


def report(result: dict[str, Any]) -> str:
    """The profile as text: summary, then the per-layer table."""
    m, predicted = result["measured_ms"], result["predicted_ms"]
    measured = m.get("latency", m["median"])  # profiles written before the percentile
    error = 100.0 * (predicted - measured) / measured
    lines = [
        f"input {tuple(result['input_shape'])}",
        f"latency, measured end to end: {measured:.3f} ms (25th percentile of the runs; "
        f"median {m['median']:.3f}, min {m['min']:.3f}, max {m['max']:.3f})",
        f"latency, predicted: {predicted:.3f} ms ({error:+.1f}% vs measured) by the "
        f"{result['predictor']}",
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
