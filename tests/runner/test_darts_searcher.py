"""DartsSearcher: first- and second-order architecture gradients against finite differences."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import DartsSearcher

XI = 0.5  # a large virtual step makes the second-order term clearly visible


class Tiny(Model):
    def __init__(self):
        rs = np.random.RandomState(3)
        self._mix = Mo.MixedOp(
            [
                Mo.Conv(2, 2, (3, 3), pad=(1, 1), rng=rs),
                Mo.Conv(2, 2, (1, 1), rng=rs),
                Mo.Identity(),
            ],
            rng=np.random.default_rng(0),
        )
        self._mix.alpha.d = np.array([0.3, -0.2, 0.1])
        # tanh, not ReLU: the finite-difference reference needs a smooth loss.
        self._head = Mo.Sequential(Mo.Lambda(F.tanh), Mo.GlobalAvgPool(), Mo.Linear(2, 3, rng=rs))

    def call(self, x):
        return self._head(self._mix(x))


def batches():
    rng = np.random.default_rng(1)

    def make():
        return rng.normal(size=(4, 2, 5, 5)).astype(np.float32), rng.integers(0, 3, (4, 1))

    return {"train": make(), "valid": make()}


def searcher(model, unrolled):
    weights = Optimizer(model.get_net_parameters(grad_only=True), "sgd", XI, weight_decay=1e-3)
    arch = Optimizer(model.get_arch_parameters(grad_only=True), "sgd", 1.0)
    return DartsSearcher(model, weights, arch, unrolled=unrolled)


def arch_gradient(unrolled):
    """The gradient the searcher applied to alpha, read back from an SGD step of lr 1."""
    model = Tiny()
    before = model._mix.alpha.d.copy()
    searcher(model, unrolled).train_on_batch(batches())
    return before - model._mix.alpha.d


def unrolled_valid_loss(alpha):
    """L_valid(w - xi * (dL_train/dw + wd * w), alpha), computed directly."""
    model = Tiny()
    model._mix.alpha.d = alpha
    s = searcher(model, True)
    data = batches()
    train = s.graph("train", data["train"][0].shape)
    valid = s.graph("arch", data["valid"][0].shape)
    train.feed(data["train"])
    weights = model.get_net_parameters(grad_only=True)
    for p in model.get_parameters().values():
        p.grad.zero()
    train.loss.forward()
    train.loss.backward()
    for p in weights.values():
        p.d = p.d - XI * (p.g + 1e-3 * p.d)
    valid.feed(data["valid"])
    valid.loss.forward()
    return float(valid.loss.d)


def finite_difference(h=1e-2):
    alpha = np.array([0.3, -0.2, 0.1])
    grad = np.zeros(3)
    for i in range(3):
        step = np.eye(3)[i] * h
        grad[i] = (unrolled_valid_loss(alpha + step) - unrolled_valid_loss(alpha - step)) / (2 * h)
    return grad


def test_second_order_gradient_matches_finite_differences():
    reference = finite_difference()
    second = arch_gradient(unrolled=True)
    first = arch_gradient(unrolled=False)
    np.testing.assert_allclose(second, reference, rtol=0.01, atol=5e-5)
    # The check is sharp: the first-order gradient misses the reference by far more.
    assert np.abs(first - reference).max() > 10 * np.abs(second - reference).max()


def test_unrolled_step_restores_weights_and_batch_statistics():
    model = Tiny()
    s = searcher(model, True)
    data = batches()
    before = {k: p.d.copy() for k, p in model.get_net_parameters().items()}
    s.optimizers["weights"] = Optimizer(  # lr 0: the weight step leaves the weights as they are
        model.get_net_parameters(grad_only=True), "sgd", 0.0
    )
    s.train_on_batch(data)
    for k, p in model.get_net_parameters().items():
        np.testing.assert_array_equal(p.d, before[k], err_msg=k)


def final_losses(unrolled, arch_lr):
    nn.seed(0)
    model = Tiny()
    s = searcher(model, unrolled)
    s.optimizers["weights"] = Optimizer(model.get_net_parameters(grad_only=True), "sgd", 0.05)
    s.optimizers["arch"] = Optimizer(model.get_arch_parameters(grad_only=True), "sgd", arch_lr)
    data = batches()
    first = s.train_on_batch(data)
    for _ in range(30):
        last = s.train_on_batch(data)
    return first, last


@pytest.mark.parametrize("unrolled", [False, True])
def test_architecture_steps_lower_the_valid_loss(unrolled):
    first, last = final_losses(unrolled, arch_lr=2.0)
    _, frozen = final_losses(unrolled, arch_lr=0.0)
    assert last["loss"] < first["loss"]
    assert last["arch_loss"] < frozen["arch_loss"] - 0.01


def test_first_order_step_runs_both_half_steps_on_one_graph_with_their_own_gradients():
    model, data = Tiny(), batches()
    s = searcher(model, False)
    alpha, weights = model._mix.alpha, model.get_net_parameters(grad_only=True)
    start = {k: p.d.copy() for k, p in model.get_parameters().items()}
    s.train_on_batch(data)
    assert len(s._graphs) == 1  # the valid half-step ran on the train graph
    # By hand, two graphs: alpha steps by the valid loss's gradient, then the weights by
    # the train loss's at the new alpha (SGD, lr 1 and XI, weight decay 1e-3 on weights).
    ref = Tiny()
    ref.set_parameters(start)
    grads = []
    for split in ("valid", "train"):
        x, y = (nn.Variable.from_numpy_array(a) for a in data[split])
        for p in ref.get_parameters().values():
            p.grad.zero()
        with ref.modes(training=True):
            loss = F.mean(F.softmax_cross_entropy(ref(x), y))
        loss.forward()
        loss.backward()
        grads.append({k: p.g.copy() for k, p in ref.get_parameters().items()})
        if split == "valid":
            ref._mix.alpha.d = ref._mix.alpha.d - grads[0]["_mix/_alpha"]
    np.testing.assert_allclose(alpha.d, ref._mix.alpha.d, rtol=1e-5, atol=1e-6)
    for key, p in weights.items():
        expected = start[key] - XI * (grads[1][key] + 1e-3 * start[key])
        np.testing.assert_allclose(p.d, expected, rtol=1e-4, atol=1e-6, err_msg=key)
    # Each half-step computed only what it updates: the weights' half-step, which ran
    # last, added nothing to the alphas' gradient of the valid loss.
    np.testing.assert_allclose(alpha.g, grads[0]["_mix/_alpha"], rtol=1e-5, atol=1e-7)


class Noisy(Tiny):
    def __init__(self):
        super().__init__()
        self._drop = Mo.Dropout(0.5)

    def call(self, x):
        return self._head(self._drop(self._mix(x)))


def test_second_order_terms_share_one_graph_each_with_its_own_batch_and_noise():
    model = Noisy()
    s = searcher(model, True)
    s.start_epoch(0, np.random.default_rng(5))
    data = batches()
    seen = []
    original = s._gradients

    def recording(graph, params):
        noise = [v.d.copy() for v in graph.noise.variables]
        seen.append((graph, graph.x.d.copy(), graph.y.d.copy(), noise))
        return original(graph, params)

    s._gradients = recording
    s.train_on_batch(data)
    assert len(s._graphs) == 1 and len({id(graph) for graph, *_ in seen}) == 1
    assert len(seen) == 4 and len(seen[0][3]) == 1
    g_train, g_valid, plus, minus = seen
    for term in (g_train, plus, minus):  # one batch and one noise draw for the train terms
        np.testing.assert_array_equal(term[1], data["train"][0])
        np.testing.assert_array_equal(term[2], data["train"][1])
        np.testing.assert_array_equal(term[3][0], g_train[3][0])
    np.testing.assert_array_equal(g_valid[1], data["valid"][0])
    np.testing.assert_array_equal(g_valid[2], data["valid"][1])
    assert not np.array_equal(g_valid[3][0], g_train[3][0])  # the valid batch's own draw


def test_second_order_step_reports_the_valid_loss_at_the_virtual_weights():
    shown = searcher(Tiny(), True).train_on_batch(batches())
    reference = unrolled_valid_loss(np.array([0.3, -0.2, 0.1]))
    assert shown["arch_loss"] == pytest.approx(reference, rel=1e-5)
