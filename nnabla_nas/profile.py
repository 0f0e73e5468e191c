"""``nnabla-nas profile``: measured latency next to every estimator's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .config import RunConfig
from .contrib.estimator import (
    FLOPsEstimator,
    LatencyEstimator,
    MemoryEstimator,
    ParamsEstimator,
)
from .contrib.model import Model
from .module import MixedOp


def build_model(
    cfg: RunConfig, arch_path: str | None, sample_shape: Sequence[int], classes: int
) -> Model:
    """The fixed network of `arch_path`, or the search space at its most likely choices."""
    from .experiment import model_options

    space, options = model_options(cfg, "train" if arch_path else "search")
    if arch_path:
        arch = space.load_arch(arch_path)
        return space.train_net(sample_shape[0], num_classes=classes, genotype=arch, **options)
    model = space.search_net(sample_shape[0], num_classes=classes, rng=cfg.seed, **options)
    for _, module in model.get_modules():
        if isinstance(module, MixedOp):
            module.mode = "max"
    return model


def profile(
    model: Model, input_shape: Sequence[int], *, runs: int = 50, table_path: str | None = None
) -> dict[str, Any]:
    """Measures `model` end to end and runs every estimator on it (inference mode)."""
    model.apply(training=False)
    latency = LatencyEstimator(table_path)
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
