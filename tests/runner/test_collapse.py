"""Collapse diagnostics: choice entropy, parameter-free share, the Hessian eigenvalue of
DARTS and its early stop."""

import logging

import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.dataset import ArrayDataset, DataLoader
from nnabla_nas.module import find_choices
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.callbacks import CollapseCallback
from nnabla_nas.runner.loop import Loop
from nnabla_nas.runner.searcher import DartsSearcher

SHAPE = (16, 1, 8, 8)


def toy(seed=0):
    return get_space("toy").make_search_net(1, 10, seed=seed, options={"channels": 4})


def searcher(model, **kwargs):
    return DartsSearcher(
        model,
        Optimizer(model.get_net_parameters(grad_only=True), "sgd", 0.05),
        Optimizer(model.get_arch_parameters(grad_only=True), "adam", 0.05),
        **kwargs,
    )


def batch(seed=0):
    rng = np.random.default_rng(seed)
    return rng.random(SHAPE, dtype=np.float32), rng.integers(0, 10, (SHAPE[0], 1))


def test_entropy_is_one_when_uniform_and_near_zero_when_decided():
    model = toy()
    s = searcher(model)
    assert s.epoch_diagnostics()["entropy_mean"] == pytest.approx(1.0, abs=1e-5)
    for c in find_choices(model):
        c.alpha.d = np.array([30.0, 0.0, 0.0], np.float32)
    found = s.epoch_diagnostics()
    assert found["entropy_mean"] < 1e-6 and found["entropy_min"] < 1e-6


class Mixture(Model):
    """Three linear maps mixed by one choice: a valid loss clearly curved in the alphas."""

    def __init__(self):
        rs = np.random.RandomState(0)
        ops = [Mo.Linear(10, 10, w_init=3.0 * rs.standard_normal((10, 10))) for _ in range(3)]
        self._mix = Mo.MixedOp(ops, alpha=Mo.Parameter((3,), initializer=[0.5, -0.2, 0.1]))

    def call(self, x):
        return self._mix(x)


def test_lanczos_finds_the_largest_eigenvalue_of_the_hessian():
    model = Mixture()
    s = searcher(model)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 10)).astype(np.float32), rng.integers(0, 10, (32, 1))
    s.start_epoch(0, np.random.default_rng(0))
    found, vector = s.hessian_eigenvalue((x, y), iterations=30)
    # The whole Hessian by central differences of gradients, one alpha entry at a time.
    graph = s.graph("arch", x.shape)
    s.feed(graph, (x, y))
    alphas = model.get_arch_parameters(grad_only=True)
    keys = list(alphas)
    saved = {k: p.d.copy() for k, p in model.get_parameters().items()}
    flat = np.concatenate([alphas[k].d.reshape(-1) for k in keys]).astype(np.float64)
    sizes = [alphas[k].size for k in keys]

    def gradient(at):
        model.set_parameters(saved)
        offset = 0
        for k, n in zip(keys, sizes, strict=True):
            alphas[k].d = at[offset : offset + n].reshape(alphas[k].shape)
            offset += n
        grads = s._gradients(graph, alphas)
        return np.concatenate([grads[k].reshape(-1) for k in keys])

    eps = 1e-3
    columns = [(gradient(flat + eps * e) - gradient(flat - eps * e)) / (2 * eps)
               for e in np.eye(flat.size)]  # fmt: skip
    model.set_parameters(saved)
    hessian = np.array(columns)
    eigen = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    largest = eigen[-1]
    assert largest > 0.05  # a curvature well above the finite differences' noise
    assert found == pytest.approx(largest, rel=0.02)
    # Warm started from the last vector, one step is enough (as from epoch to epoch).
    again, _ = s.hessian_eigenvalue((x, y), iterations=1, start=vector)
    assert again == pytest.approx(largest, rel=0.02)
    cold, _ = s.hessian_eigenvalue((x, y), iterations=1)
    assert cold != pytest.approx(largest, rel=0.02)


def test_the_diagnostics_change_nothing_in_the_search():
    results = []
    for iterations in (0, 3):
        model = toy(seed=2)
        s = searcher(model, hessian_iterations=iterations)
        s.start_epoch(0, np.random.default_rng(0))
        for step in range(3):
            s.train_on_batch({"train": batch(step), "valid": batch(10 + step)})
            s.epoch_diagnostics()
        results.append({k: p.d.copy() for k, p in model.get_parameters().items()})
    assert all(np.array_equal(results[0][k], results[1][k]) for k in results[0])


def test_darts_es_stops_when_the_eigenvalue_rises_and_keeps_the_earlier_architecture(
    monkeypatch, caplog
):
    model = toy()
    s = searcher(model, hessian_iterations=1, early_stop=True, early_stop_window=2)
    rising = iter([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0])
    monkeypatch.setattr(s, "hessian_eigenvalue", lambda b, i, start: (next(rising), start))
    images = np.random.default_rng(0).random((64, 1, 8, 8), dtype=np.float32)
    data = ArrayDataset(images, np.arange(64) % 10, 10)
    loaders = {"train": DataLoader(data, 16, shuffle=True, seed=0),
               "valid": DataLoader(data, 16, shuffle=True, seed=1)}  # fmt: skip
    snapshots = []

    class Snapshot(CollapseCallback):
        def on_epoch_end(self, loop, epoch, metrics):
            snapshots.append([a.d.copy() for a in model.get_arch_parameters().values()])

    loop = Loop(s, loaders, epochs=10, callbacks=[Snapshot(lambda: {})], progress=False)
    with caplog.at_level(logging.WARNING, logger="nnabla_nas"):
        loop.run()
    # Epochs 2-3 at 1, epochs 4-5 at 1.5 on average: up by more than a third after epoch 5.
    assert len(loop.history) == 5
    assert "rose by more than a third" in caplog.text and "DARTS-ES" in caplog.text
    now = [a.d for a in model.get_arch_parameters().values()]
    assert all(np.allclose(a, b) for a, b in zip(now, snapshots[2], strict=True))
    assert not all(np.allclose(a, b) for a, b in zip(now, snapshots[4], strict=True))
    with pytest.raises(ValueError, match=r"set darts\.hessian_iterations"):
        searcher(toy(), early_stop=True)


def test_the_share_of_parameter_free_operations_of_the_derived_architecture(caplog):
    space = get_space("darts")
    model = space.make_search_net(1, 10, seed=0, options=space.quick_options)
    arch = space.derive(model)
    pools = {**arch, "normal": [["max_pool_3x3", i] for _, i in arch["normal"]],
             "reduce": [["skip_connect", i] for _, i in arch["reduce"]]}  # fmt: skip
    callback = CollapseCallback(lambda: pools)

    class Stub:
        algorithm = type("A", (), {"model": model})
        logger = logging.getLogger("nnabla_nas")

    callback.on_run_start(Stub)
    assert {"max_pool_3x3", "avg_pool_3x3", "skip_connect", "none"} <= callback.free
    assert "sep_conv_3x3" not in callback.free
    metrics = {}
    with caplog.at_level(logging.WARNING, logger="nnabla_nas"):
        callback.on_epoch_end(Stub, 0, metrics)
    assert metrics["diag/param_free_share"] == 1.0 and "parameter-free" in caplog.text
    convs = {**arch, "normal": [["sep_conv_3x3", i] for _, i in arch["normal"]],
             "reduce": [["max_pool_3x3", i] for _, i in arch["reduce"]]}  # fmt: skip
    callback.derive = lambda: convs
    callback.on_epoch_end(Stub, 1, metrics)
    assert metrics["diag/param_free_share"] == 0.5


def test_a_search_with_a_hardware_cost_is_told_why_skips_may_be_chosen(caplog):
    space = get_space("darts")
    model = space.make_search_net(1, 10, seed=0, options=space.quick_options)
    arch = space.derive(model)
    skips = {**arch, "normal": [["skip_connect", i] for _, i in arch["normal"]]}

    class Stub:
        algorithm = type("A", (), {"model": model})
        logger = logging.getLogger("nnabla_nas")

    for costed in (False, True):
        caplog.clear()
        callback = CollapseCallback(lambda: skips, costed=costed)
        callback.on_run_start(Stub)
        with caplog.at_level(logging.WARNING, logger="nnabla_nas"):
            callback.on_epoch_end(Stub, 0, {})
        assert "may be collapsing" in caplog.text
        assert ("hardware cost prefers them" in caplog.text) == costed
