import json

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.blocks import AuxiliaryHeadCIFAR
from nnabla_nas.contrib.darts.cells import SearchCell, TrainCell
from nnabla_nas.contrib.darts.genotype import DARTS_V2, edge_count, validate_genotype
from nnabla_nas.contrib.darts.modules import (
    CANDIDATE_NAMES,
    DropPath,
    FactorizedReduce,
    MixedOp,
    ReLUConvBN,
)
from nnabla_nas.contrib.darts.network import SearchNet, TrainNet


def search_net(**kwargs):
    args = {"in_channels": 1, "init_channels": 4, "num_cells": 3, "num_classes": 10, "rng": 0}
    return SearchNet(**{**args, **kwargs})


def mixed_ops(net):
    return [m for _, m in net.get_modules() if isinstance(m, MixedOp)]


def cells(net, reduction):
    return [c for c in net._cells if c.reduction == reduction]


def edge_index(node, state):
    """The position of the edge from `state` into `node` in a cell's edge list."""
    return sum(m + 2 for m in range(node)) + state


@pytest.fixture(scope="module")
def built():
    """A small supernet after one forward and backward (shared by the read-only tests)."""
    nn.seed(0)
    net = search_net()
    x = nn.Variable.from_numpy_array(np.random.default_rng(0).standard_normal((2, 1, 8, 8)))
    y = net(x)
    loss = F.mean(y)
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    return net, y


def test_search_net_output_shape(built):
    assert built[1].shape == (2, 10)


def test_gradient_reaches_every_alpha(built):
    alphas = built[0].get_arch_parameters()
    assert len(alphas) == 28
    for key, alpha in alphas.items():
        assert np.abs(alpha.g).sum() > 0, key


@pytest.mark.parametrize(
    "kwargs, count",
    [
        ({}, 2 * 14),
        ({"shared": False}, 3 * 14),
        ({"num_choices": 2, "multiplier": 2}, 2 * 5),
        ({"num_choices": 2, "multiplier": 1, "shared": False, "num_cells": 4}, 4 * 5),
    ],
)
def test_number_of_arch_parameters(kwargs, count):
    net = search_net(**kwargs)
    alphas = net.get_arch_parameters()
    assert len(alphas) == count
    assert all("alpha" in key for key in alphas)
    assert all(a.shape == (len(CANDIDATE_NAMES),) for a in alphas.values())
    assert not set(alphas) & set(net.get_net_parameters())


def test_alphas_are_shared_by_identity_within_a_cell_type():
    net = search_net(num_cells=5)
    normal, reduce = cells(net, False), cells(net, True)
    assert len(normal) == 3 and len(reduce) == 2
    for group in (normal, reduce):
        for k in range(14):
            assert len({id(c.edges[k].alpha) for c in group}) == 1
    assert normal[0].edges[0].alpha is not reduce[0].edges[0].alpha
    assert len({id(op.alpha) for op in mixed_ops(net)}) == 28


def test_unshared_alphas_are_distinct():
    net = search_net(shared=False)
    assert len({id(op.alpha) for op in mixed_ops(net)}) == 3 * 14


def test_every_candidate_has_its_parameters_in_the_net():
    net = search_net()
    net_params = {id(p) for p in net.get_net_parameters().values()}
    for op in mixed_ops(net):
        assert len(op.operators) == len(CANDIDATE_NAMES)
        for candidate in op.operators:
            assert {id(p) for p in candidate.get_parameters().values()} <= net_params
    assert len(mixed_ops(net)) == 3 * 14


def test_search_pools_are_followed_by_a_fixed_bn():
    op = cells(search_net(), False)[0].edges[0]
    pool = op.operators[CANDIDATE_NAMES.index("max_pool_3x3")]
    assert isinstance(pool, Mo.Sequential) and isinstance(pool[0], Mo.MaxPool)
    assert isinstance(pool[1], Mo.BatchNormalization)
    assert pool.get_parameters(grad_only=True) == {}


def test_cell_layout_reductions_and_preprocessing():
    net = search_net(num_cells=3)
    assert [c.reduction for c in net._cells] == [False, True, True]
    assert isinstance(net._cells[1]._pre0, ReLUConvBN)
    assert isinstance(net._cells[2]._pre0, FactorizedReduce)
    first_reduce = net._cells[1]
    skip = CANDIDATE_NAMES.index("skip_connect")
    assert isinstance(first_reduce.edges[edge_index(1, 1)].operators[skip], FactorizedReduce)
    assert isinstance(first_reduce.edges[edge_index(1, 2)].operators[skip], Mo.Identity)


def test_same_seed_gives_the_same_alphas():
    def values(net):
        return [a.d.copy() for a in net.get_arch_parameters().values()]

    a, b, c = values(search_net(rng=3)), values(search_net(rng=3)), values(search_net(rng=4))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not all(np.array_equal(x, z) for x, z in zip(a, c, strict=True))
    assert 0 < np.abs(np.concatenate(a)).max() < 1e-2
    generator = np.random.default_rng(3)
    np.testing.assert_array_equal(values(search_net(rng=generator))[0], a[0])


@pytest.mark.parametrize("mode", ["max", "sample"])
def test_mode_reaches_every_mixed_op(mode):
    net = search_net(mode=mode)
    assert {op.mode for op in mixed_ops(net)} == {mode}
    y = net(nn.Variable((2, 1, 8, 8)))
    assert y.shape == (2, 10)
    assert all(op.index is not None for op in mixed_ops(net))


def set_choice(net, kind, node, state, op, value):
    edge = edge_index(node, state)
    for cell in cells(net, kind == "reduce"):
        alpha = cell.edges[edge].alpha
        alpha.d[CANDIDATE_NAMES.index(op)] = value


def zero_alphas(net):
    for alpha in net.get_arch_parameters().values():
        alpha.d = 0.0


def test_genotype_of_hand_set_alphas():
    net = search_net()
    zero_alphas(net)
    settings = [
        (0, 0, "sep_conv_3x3", 5.0), (0, 1, "skip_connect", 3.0), (0, 1, "none", 10.0),
        (1, 2, "dil_conv_3x3", 4.0), (1, 0, "max_pool_3x3", 2.0), (1, 1, "none", 8.0),
        (2, 3, "avg_pool_3x3", 3.0), (2, 1, "sep_conv_5x5", 6.0), (2, 0, "none", 9.0),
        (3, 4, "skip_connect", 5.0), (3, 0, "dil_conv_5x5", 4.0),
    ]  # fmt: skip
    for node, state, op, value in settings:
        set_choice(net, "normal", node, state, op, value)
    # Rebuild DARTS-V2's reduction cell: the first entry of each node the stronger.
    for i, (op, state) in enumerate(DARTS_V2["reduce"]):
        set_choice(net, "reduce", i // 2, state, op, 3.0 - i % 2)
    set_choice(net, "reduce", 3, 0, "none", 20.0)
    genotype = net.genotype()
    assert genotype["normal"] == [
        ["sep_conv_3x3", 0], ["skip_connect", 1], ["dil_conv_3x3", 2], ["max_pool_3x3", 0],
        ["sep_conv_5x5", 1], ["avg_pool_3x3", 3], ["skip_connect", 4], ["dil_conv_5x5", 0],
    ]  # fmt: skip
    assert genotype["reduce"] == DARTS_V2["reduce"]
    assert genotype["normal_concat"] == genotype["reduce_concat"] == [2, 3, 4, 5]


def test_genotype_is_valid_and_json_serialisable():
    net = search_net(num_choices=3, multiplier=2)
    genotype = net.genotype()
    assert validate_genotype(genotype, num_nodes=3) == genotype
    assert json.loads(json.dumps(genotype)) == genotype
    assert genotype["normal_concat"] == [3, 4]


def test_unshared_genotype_averages_the_cells_of_a_type():
    net = search_net(num_cells=5, shared=False)
    zero_alphas(net)
    normal = cells(net, False)
    skip, pool = CANDIDATE_NAMES.index("skip_connect"), CANDIDATE_NAMES.index("max_pool_3x3")
    for cell, op, value in [(normal[0], skip, 3.0), (normal[1], pool, 2.0), (normal[2], pool, 2.0)]:
        cell.edges[0].alpha.d[op] = value
    probs = [c.edges[0].probs() for c in normal]
    np.testing.assert_allclose(net.cell_probs("normal")[0], np.mean(probs, axis=0), rtol=1e-6)
    assert net.genotype()["normal"][0] == ["max_pool_3x3", 0]


def test_arch_probs_give_a_distribution_per_edge():
    net = search_net()
    probs = net.arch_probs()
    assert len(probs) == 2 * 14
    assert list(probs)[:2] == ["normal/edge_0", "normal/edge_1"]
    assert "reduce/edge_13" in probs
    for p in probs.values():
        assert p.shape == (len(CANDIDATE_NAMES),)
        assert abs(p.sum() - 1.0) < 1e-6
    np.testing.assert_allclose(probs["normal/edge_3"], cells(net, False)[0].edges[3].probs())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_cells": 2}, "num_cells must be at least 3"),
        ({"num_choices": 2, "multiplier": 3}, r"multiplier \(3\) exceeds num_choices \(2\)"),
        ({"mode": "best"}, "unknown mode 'best'"),
        ({"init_channels": 0}, "init_channels must be a positive int"),
        ({"init_channels": True}, "init_channels must be a positive int, got True"),
        ({"candidates": ["sep_conv_3x3", "conv_9x9"]}, r"unknown \['conv_9x9'\]"),
        ({"candidates": ["none"]}, "at least one op other than 'none'"),
    ],
)
def test_search_net_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        search_net(**kwargs)


def test_search_net_with_a_subset_of_candidates():
    net = search_net(candidates=["skip_connect", "max_pool_3x3"])
    assert len(mixed_ops(net)[0].operators) == 2
    assert net(nn.Variable((2, 1, 8, 8))).shape == (2, 10)
    assert {op for op, _ in net.genotype()["normal"]} <= {"skip_connect", "max_pool_3x3"}


def train_net(genotype=DARTS_V2, **kwargs):
    return TrainNet(1, 4, 3, 10, genotype, **kwargs)


def test_train_net_from_darts_v2(variable):
    net = train_net()
    y = net(variable(2, 1, 8, 8))
    assert y.shape == (2, 10)
    y.forward()
    assert np.isfinite(y.d).all()
    assert net.get_arch_parameters() == {}
    assert net.genotype() == DARTS_V2
    assert [type(c) for c in net._cells] == [TrainCell] * 3


def test_train_net_from_a_derived_genotype(variable):
    genotype = search_net(num_choices=3, multiplier=2, rng=5).genotype()
    net = train_net(genotype)
    assert net(variable(2, 1, 8, 8)).shape == (2, 10)
    assert net._cells[0]._concat == [3, 4]


def test_train_net_has_drop_path_after_every_non_identity_op():
    net = train_net(drop_path=0.3)
    paths = [m for _, m in net.get_modules() if isinstance(m, DropPath)]
    # DARTS_V2: 6 non-identity ops in the normal cell, 5 in a reduction cell.
    assert len(paths) == 6 + 5 + 5
    assert {p.drop_prob for p in paths} == {0.3} and net.drop_prob == 0.3
    net.drop_prob = 0.1
    assert {p.drop_prob for p in paths} == {0.1} and net.drop_prob == 0.1


def test_train_net_drop_path_is_random_in_training_only(variable):
    net = train_net(drop_path=0.5)
    x = variable(4, 1, 8, 8)
    y = net(x)
    outputs = []
    for _ in range(2):
        y.forward()
        outputs.append(y.d.copy())
    assert not np.allclose(*outputs)
    net.drop_prob = 0.0
    y.forward()
    reference = y.d.copy()
    y.forward()
    np.testing.assert_allclose(y.d, reference, rtol=1e-6)


def test_train_net_auxiliary_head(variable):
    net = train_net(auxiliary=True)
    assert isinstance(net._aux_head, AuxiliaryHeadCIFAR)
    x = variable(2, 1, 32, 32)
    logits, aux = net(x)
    assert logits.shape == aux.shape == (2, 10)
    net.apply(training=False)
    assert net(x).shape == (2, 10)


def test_train_net_auxiliary_head_needs_large_enough_maps(variable):
    with pytest.raises(ValueError, match=r"at least 8x8.*got 2x2"):
        train_net(auxiliary=True)(variable(2, 1, 8, 8))


@pytest.mark.parametrize(
    "genotype, message",
    [
        ({**DARTS_V2, "normal": [["sep_conv_9x9", 0], *DARTS_V2["normal"][1:]]}, "unknown op"),
        ({**DARTS_V2, "reduce_concat": [2, 9]}, "'reduce_concat': index 9"),
        ({"normal": DARTS_V2["normal"]}, "missing"),
    ],
)
def test_train_net_validates_the_genotype(genotype, message):
    with pytest.raises(ValueError, match=message):
        train_net(genotype)


def test_search_cell_edge_count():
    net = search_net(num_choices=3, multiplier=3)
    assert all(len(c.edges) == edge_count(3) for c in net._cells)
    assert all(isinstance(c, SearchCell) for c in net._cells)
