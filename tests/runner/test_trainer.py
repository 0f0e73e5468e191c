"""Trainer: auxiliary loss, drop-path schedule, one training step."""

import nnabla as nn
import nnabla.functions as F
import numpy as np

from nnabla_nas import module as Mo
from nnabla_nas.contrib.model import Model
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.trainer import Trainer


class TwoHeads(Model):
    """Returns (logits, aux_logits) in training mode, like a net with an auxiliary head."""

    def __init__(self):
        rs = np.random.RandomState(0)
        self._main = Mo.Linear(4, 3, rng=rs)
        self._aux = Mo.Linear(4, 3, rng=rs)
        self._paths = Mo.ModuleList([Mo.DropPath(), Mo.Sequential(Mo.DropPath())])

    def call(self, x):
        return (self._main(x), self._aux(x)) if self.training else self._main(x)


def ce(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -logp[np.arange(len(labels)), labels.ravel()].mean()


def test_auxiliary_loss_is_weighted_in_training_only():
    net = TwoHeads()
    t = Trainer(net, Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.0), aux_weight=0.4)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 4)).astype(np.float32), rng.integers(0, 3, (6, 1))
    out = t.train_on_batch({"train": (x, y)})
    xv = nn.Variable.from_numpy_array(x)
    main, aux = F.affine(xv, net._main._W, net._main._b), F.affine(xv, net._aux._W, net._aux._b)
    F.sink(main, aux).forward()
    np.testing.assert_allclose(out["loss"], ce(main.d, y) + 0.4 * ce(aux.d, y), rtol=1e-5)
    valid = t.valid_on_batch((x, y))
    np.testing.assert_allclose(valid["loss"], ce(main.d, y), rtol=1e-5)


def test_drop_path_grows_linearly_over_the_epochs():
    net = TwoHeads()
    opt = Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.1)
    t = Trainer(net, opt, drop_path=0.2, epochs=4)
    seen = []
    for epoch in range(4):
        t.start_epoch(epoch, np.random.default_rng(epoch))
        seen.append([m.drop_prob for _, m in net.get_modules() if isinstance(m, Mo.DropPath)])
    # Every DropPath of the tree, nested ones too, follows the schedule.
    np.testing.assert_allclose(seen, [[0.0] * 2, [0.05] * 2, [0.1] * 2, [0.15] * 2])


def test_drop_path_noise_comes_from_the_epochs_generator():
    class Dropped(Model):
        def __init__(self):
            self._fc = Mo.Linear(4, 3, rng=np.random.RandomState(0))
            self._drop = Mo.DropPath(0.5)

        def call(self, x):
            return self._drop(self._fc(x))

    def losses(seed):
        net = Dropped()
        opt = Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.0)
        t = Trainer(net, opt, drop_path=0.5, epochs=1)
        t.start_epoch(1, np.random.default_rng(seed))  # the schedule's end: 0.5
        x = np.ones((64, 4), np.float32)
        return [t.train_on_batch({"train": (x, np.zeros((64, 1), np.int32))})["loss"]
                for _ in range(3)]  # fmt: skip

    first, again, other = losses(1), losses(1), losses(2)
    assert first == again and first != other
    assert len(set(first)) == 3  # each step draws its own mask


def test_training_steps_reduce_the_loss():
    net = TwoHeads()
    t = Trainer(net, Optimizer(net.get_net_parameters(grad_only=True), "momentum", 0.1))
    rng = np.random.default_rng(1)
    batch = {"train": (rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, (8, 1)))}
    first = t.train_on_batch(batch)["loss"]
    for _ in range(20):
        last = t.train_on_batch(batch)["loss"]
    assert last < 0.5 * first
