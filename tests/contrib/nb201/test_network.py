import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.nb201.arch import OPS, arch_record, format_arch, load_arch, save_arch
from nnabla_nas.contrib.nb201.modules import CANDIDATES, ResidualBlock, register
from nnabla_nas.contrib.nb201.network import SearchCell, SearchNet, TrainCell, TrainNet
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import MixedOp
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import DartsSearcher

SMALL = {"init_channels": 4, "num_cells": 1}
BEST = (
    "nor_conv_3x3",
    "nor_conv_3x3",
    "nor_conv_3x3",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
)


def inputs(shape=(2, 3, 8, 8), seed=0):
    return nn.Variable.from_numpy_array(np.random.default_rng(seed).standard_normal(shape))


def forward(net, x):
    y = net(x)
    if y.parent is not None:
        y.forward()
    return y


def mixed_ops(net):
    return [m for _, m in net.get_modules() if isinstance(m, MixedOp)]


def search_cells(net):
    return [m for _, m in net.get_modules() if isinstance(m, SearchCell)]


@pytest.mark.parametrize("name", sorted(CANDIDATES))
@pytest.mark.parametrize("affine", [True, False])
def test_candidates_keep_the_shape(name, affine):
    x = inputs((2, 4, 6, 6))
    assert forward(CANDIDATES[name](4, affine), x).shape == (2, 4, 6, 6)


def test_register_rejects_a_duplicate():
    with pytest.raises(ValueError, match="'none' is already registered"):
        register("none")(lambda c, a: Mo.Zero())


def test_residual_block_matches_its_definition():
    block = ResidualBlock(4, 8)
    x = inputs((2, 4, 8, 8))
    y = forward(block, x)
    assert y.shape == (2, 8, 4, 4)
    main = block._conv_b(block._conv_a(x))
    short = F.convolution(F.average_pooling(x, (2, 2)), block._shortcut[1]._W, None)
    ref = main + short
    ref.forward()
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-6)


def test_residual_block_rejects_odd_sizes():
    with pytest.raises(ValueError, match=r"halves even spatial sizes, got \(7, 7\)"):
        ResidualBlock(4, 8)(inputs((2, 4, 7, 7)))


@pytest.mark.parametrize(
    "ops, factor",
    [
        (("skip_connect",) * 6, 4.0),  # node 1 = x, node 2 = 2x, node 3 = x + x + 2x
        (("none",) * 3 + ("skip_connect",) + ("none",) * 2, 1.0),
        (("none",) * 6, 0.0),
    ],
)
def test_train_cell_sums_edges(ops, factor):
    x = inputs((2, 4, 6, 6))
    np.testing.assert_allclose(forward(TrainCell(4, ops), x).d, factor * x.d, rtol=1e-6)


def test_train_cell_avg_pool_edge():
    ops = ("none",) * 3 + ("avg_pool_3x3",) + ("none",) * 2
    x = inputs((2, 4, 6, 6))
    ref = F.average_pooling(x, (3, 3), (1, 1), True, (1, 1), including_pad=False)
    ref.forward()
    np.testing.assert_allclose(forward(TrainCell(4, ops), x).d, ref.d, rtol=1e-6)


@pytest.mark.parametrize(
    "arch",
    [("none",) * 6, ("skip_connect",) * 6, BEST, format_arch(("avg_pool_3x3", "nor_conv_1x1") * 3)],
)
def test_train_net_output(arch):
    nn.seed(0)
    net = TrainNet(3, 10, arch, **SMALL)
    y = forward(net, inputs())
    assert y.shape == (2, 10)
    assert np.all(np.isfinite(y.d))


def test_all_none_classifier_sees_zeros():
    net = TrainNet(3, 10, ("none",) * 6, **SMALL)
    net._classifier._b.d = np.arange(10.0)
    y = forward(net, inputs())
    np.testing.assert_allclose(y.d, np.tile(np.arange(10.0), (2, 1)), atol=1e-6)


def test_train_net_accepts_every_arch_form():
    record = {"arch": format_arch(BEST), "ops": list(BEST)}
    for form in (BEST, list(BEST), format_arch(BEST), record):
        net = TrainNet(3, 10, form, **SMALL)
        assert net.arch == BEST and net.genotype() == record


def test_train_net_layout():
    net = TrainNet(3, 10, BEST, init_channels=4, num_cells=2)
    cells = [m for _, m in net.get_modules() if isinstance(m, TrainCell)]
    assert len(cells) == 6
    assert len([m for _, m in net.get_modules() if isinstance(m, ResidualBlock)]) == 2
    assert net._classifier._W.shape == (16, 10)
    assert forward(net, inputs((2, 3, 16, 16))).shape == (2, 10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"genotype": ("none",) * 5}, "an architecture has 6 edges"),
        ({"genotype": "|none~0|"}, "has 1 nodes"),
        ({"genotype": BEST, "num_cells": 0}, "num_cells must be a positive int, got 0"),
        ({"genotype": BEST, "init_channels": 2.0}, "init_channels must be a positive int"),
    ],
)
def test_train_net_rejects(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainNet(3, 10, **{**SMALL, **kwargs})


@pytest.fixture(scope="module")
def built():
    """A supernet with two cells per stage after one forward and backward."""
    nn.seed(0)
    net = SearchNet(3, 10, init_channels=4, num_cells=2, rng=0)
    loss = F.mean(net(inputs()))
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    return net


def test_search_net_shares_six_alphas(built):
    alphas = built.get_arch_parameters()
    assert len(alphas) == 6
    assert all("alpha" in key for key in alphas)
    assert [id(a) for a in alphas.values()] == [id(a) for a in built.alphas]
    cells = search_cells(built)
    assert len(cells) == 6 and len(mixed_ops(built)) == 36
    for cell in cells:
        assert [id(e.alpha) for e in cell.edges] == [id(a) for a in built.alphas]
    assert not set(map(id, built.get_net_parameters().values())) & set(map(id, built.alphas))


def test_gradient_reaches_every_alpha(built):
    for key, alpha in built.get_arch_parameters().items():
        assert alpha.shape == (5,)
        assert np.abs(alpha.g).sum() > 0, key


def test_arch_probs(built):
    probs = built.arch_probs()
    assert list(probs) == [f"cell/edge_{k}" for k in range(6)]
    assert all(p.shape == (5,) and np.isclose(p.sum(), 1.0) for p in probs.values())
    assert built.candidate_names == OPS


def test_genotype_from_hand_set_alphas():
    net = SearchNet(3, 10, **SMALL, rng=0)
    chosen = ("none", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "nor_conv_1x1")
    for alpha, op in zip(net.alphas, chosen, strict=True):
        alpha.d = np.where(np.array(OPS) == op, 1.0, -1.0)
    assert net.genotype() == {"arch": format_arch(chosen), "ops": list(chosen)}


def test_same_seed_same_alphas():
    a, b = (SearchNet(3, 10, **SMALL, rng=7) for _ in range(2))
    for x, y in zip(a.alphas, b.alphas, strict=True):
        np.testing.assert_array_equal(x.d, y.d)


def test_sample_mode_draws_one_op_per_edge_for_all_cells():
    net = SearchNet(3, 10, init_channels=4, num_cells=2, mode="sample", rng=0)
    for alpha in net.alphas:
        alpha.d = np.zeros(5)
    drawn = set()
    for _ in range(4):
        net(nn.Variable((2, 3, 8, 8)))
        per_cell = [[e.index for e in cell.edges] for cell in search_cells(net)]
        assert all(indices == per_cell[0] for indices in per_cell)
        drawn.add(tuple(per_cell[0]))
    assert len(drawn) > 1


def test_search_net_rejects_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode 'fast'"):
        SearchNet(3, 10, **SMALL, mode="fast")


def test_genotype_save_load_train(tmp_path):
    net = SearchNet(3, 10, **SMALL, rng=3)
    path = str(tmp_path / "arch.json")
    save_arch(path, net.genotype())
    arch = load_arch(path)
    assert arch == net.genotype()
    assert TrainNet(3, 10, genotype=arch, **SMALL).genotype() == arch


def test_registered_space(tmp_path):
    space = get_space("nb201")
    assert space.options("search") == {"init_channels": 16, "num_cells": 5}
    assert space.options("train") == {"init_channels": 16, "num_cells": 5}
    assert not space.supports_drop_path() and space.table() is not None
    assert space.parse_choices(space.format_choices(BEST)) == BEST
    assert space.format_choices(BEST) == format_arch(BEST)
    path = str(tmp_path / "arch.json")
    space.write(path, BEST)
    net = space.make_train_net(3, 10, space.read(path), seed=0, options=SMALL)
    assert net.arch == BEST
    with pytest.raises(ValueError, match="have no drop path"):
        space.make_train_net(3, 10, BEST, seed=0, options=SMALL, drop_path=0.2)
    search = space.make_search_net(3, 10, seed=0, options=SMALL)
    assert [d.label for d in space.decisions(search)] == [f"cell/edge_{k}" for k in range(6)]
    assert space.from_choices(search, BEST) == arch_record(BEST)


def test_darts_step_moves_the_alphas():
    nn.seed(0)
    net = SearchNet(1, 3, **SMALL, rng=0)
    weights = Optimizer(net.get_net_parameters(grad_only=True), "sgd", 0.1)
    arch = Optimizer(net.get_arch_parameters(grad_only=True), "adam", 0.1)
    searcher = DartsSearcher(net, weights, arch)
    rng = np.random.default_rng(0)

    def batch():
        return rng.standard_normal((2, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, (2, 1))

    before = [a.d.copy() for a in net.alphas]
    metrics = searcher.train_on_batch({"train": batch(), "valid": batch()})
    assert np.isfinite(metrics["loss"])
    assert all(np.abs(a.d - b).max() > 0 for a, b in zip(net.alphas, before, strict=True))
    assert searcher.architecture() == net.genotype()
