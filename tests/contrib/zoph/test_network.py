import collections

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas.contrib.blocks import AuxiliaryHeadCIFAR
from nnabla_nas.contrib.estimator import FLOPsEstimator
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.contrib.zoph.cells import StateBundle
from nnabla_nas.contrib.zoph.genotype import pair_names
from nnabla_nas.contrib.zoph.network import SearchNet, TrainNet
from nnabla_nas.module import MixedOp

from .reference import GENOTYPE, UNUSED

CANDIDATES = ["identity", "sep_conv_3x3", "max_pool_3x3"]


def search_net(**kwargs):
    args = {"init_channels": 4, "num_cells": 3, "num_blocks": 2, "stem_multiplier": 1,
            "candidates": CANDIDATES, "rng": 0}  # fmt: skip
    return SearchNet(1, 10, **{**args, **kwargs})


def data(rng, n=2, size=8):
    return nn.Variable.from_numpy_array(rng.standard_normal((n, 1, size, size)).astype(np.float32))


def pairs(net, kind):
    return [op for c in net._cells if c.reduction == (kind == "reduce") for op in c.pairs]


def test_search_net_output_and_every_alpha_gets_a_gradient(rng):
    net = search_net()
    y = net(data(rng))
    assert y.shape == (2, 10)
    loss = F.mean(F.pow_scalar(y, 2.0))
    for p in net.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    alphas = net.get_arch_parameters()
    # 2 cell types x 2 blocks x 2 pairs; block b's pairs choose among (b + 2) x 3
    assert [a.size for a in alphas.values()] == [6, 6, 9, 9] * 2
    for key, alpha in alphas.items():
        assert "alpha" in key and np.abs(alpha.g).sum() > 0, key


def test_cells_of_one_type_share_alphas_labels_and_names():
    net = search_net(num_cells=6)  # normal cells 0, 1, 3, 5; reductions at 2 and 4
    for kind, cells in (("normal", 4), ("reduce", 2)):
        ops = pairs(net, kind)
        assert len(ops) == 4 * cells
        for k in range(4):
            same = ops[k::4]
            assert len({id(op.alpha) for op in same}) == 1
            assert {op.label for op in same} == {f"{kind}/block_{k // 2}/pair_{k % 2}"}
            assert all(op.names == pair_names(k // 2, CANDIDATES) for op in same)
    assert len(net.get_arch_parameters()) == 8


def set_choices(net, chosen):
    """Raises the logit of the named candidate of each pair (label -> name)."""
    for kind in ("normal", "reduce"):
        for op in pairs(net, kind)[:4]:
            logits = np.zeros(op.alpha.size)
            logits[op.names.index(chosen[op.label])] = 2.0
            op.alpha.d = logits


def test_the_genotype_is_the_argmax_of_each_pairs_alpha():
    net = search_net()
    set_choices(net, {
        "normal/block_0/pair_0": "sep_conv_3x3.in1", "normal/block_0/pair_1": "identity.in0",
        "normal/block_1/pair_0": "max_pool_3x3.in2", "normal/block_1/pair_1": "sep_conv_3x3.in2",
        "reduce/block_0/pair_0": "max_pool_3x3.in0", "reduce/block_0/pair_1": "identity.in1",
        "reduce/block_1/pair_0": "identity.in0", "reduce/block_1/pair_1": "sep_conv_3x3.in2",
    })  # fmt: skip
    expected = {
        "normal": [[["sep_conv_3x3", 1], ["identity", 0]],
                   [["max_pool_3x3", 2], ["sep_conv_3x3", 2]]],
        "reduce": [[["max_pool_3x3", 0], ["identity", 1]],
                   [["identity", 0], ["sep_conv_3x3", 2]]],
    }  # fmt: skip
    assert net.genotype() == expected
    space = get_space("zoph")
    assert space.derive(net) == expected
    # A multi-trial choice tuple names the same candidates and gives the same genotype.
    names = [d.options[int(np.argmax(c.alpha.d))] for d, c in
             zip(space.decisions(net), [p for k in ("normal", "reduce") for p in pairs(net, k)[:4]],
                 strict=True)]  # fmt: skip
    fresh = search_net()
    assert space.from_choices(fresh, names) == expected


def test_sampled_paths_are_one_candidate_per_pair_the_same_in_every_cell(rng):
    net = search_net(num_cells=6)
    x = data(rng)
    for _ in range(3):
        with net.modes(choice="sample"):
            net(x)
            trained = net.get_net_parameters(grad_only=True)
        for kind in ("normal", "reduce"):
            ops = pairs(net, kind)
            for k in range(4):
                assert len({op.index for op in ops[k::4]}) == 1
        # only the drawn candidates' weights train (pools and identities have none)
        active = {id(p) for p in trained.values()}
        for op in pairs(net, "normal") + pairs(net, "reduce"):
            for i, candidate in enumerate(op.operators):
                own = {id(p) for p in candidate.get_parameters().values() if p.need_grad}
                assert own <= active if i == op.index else not own & active


def test_reduction_cells_halve_the_size_and_double_the_channels(rng):
    net = search_net(num_cells=6, init_channels=4)
    net(data(rng, size=16))
    shapes = [tuple(c.output_shape) for c in net._cells]
    # each search cell concatenates its 2 blocks: 2 x C channels
    assert shapes == [(2, 8, 16, 16), (2, 8, 16, 16), (2, 16, 8, 8), (2, 16, 8, 8),
                      (2, 32, 4, 4), (2, 32, 4, 4)]  # fmt: skip
    train = TrainNet(1, 10, GENOTYPE, init_channels=4, num_cells=6, stem_multiplier=1)
    with train.modes(training=False):
        y = train(data(rng, size=16))
    # train cells concatenate their unused blocks: 2 in a normal cell, 3 in a reduction one
    assert [tuple(c.output_shape) for c in train._cells] == [
        (2, 8, 16, 16), (2, 8, 16, 16), (2, 24, 8, 8), (2, 16, 8, 8), (2, 48, 4, 4),
        (2, 32, 4, 4),
    ]  # fmt: skip
    kinds = ["normal", "normal", "reduce", "normal", "reduce", "normal"]
    assert [c.concat for c in train._cells] == [UNUSED[kind] for kind in kinds]
    y.forward()
    assert y.shape == (2, 10) and np.isfinite(y.d).all()


def count(net):
    return collections.Counter(type(m).__name__ for _, m in net.get_modules())


def test_the_train_net_has_exactly_the_ops_of_its_genotype():
    net = TrainNet(1, 10, GENOTYPE, init_channels=4, num_cells=6, stem_multiplier=1,
                   drop_path=0.1)  # fmt: skip
    found = count(net)
    # 4 normal cells (0, 1, 3, 5) and 2 reduction cells (2, 4), from the genotype by hand
    assert found["SepConv"] == 4 * 4 + 2 * 5
    assert found["DilConv"] == 2 * found["SepConv"] + 4 * 1  # two per SepConv, dil_conv_3x3
    assert found["SpatiallySeparableConv"] == 4 * 1
    assert found["MaxPool"] == 4 * 1 + 2 * 2 and found["AvgPool"] == 4 * 1 + 2 * 2
    # identities: 2 per normal cell, the reduction cell's on block 1 (stride 1)
    assert found["Identity"] == 4 * 2 + 2 * 1
    # no identity reads a reduction cell's input: only c_{k-2} after a reduction
    assert found["FactorizedReduce"] == 2
    assert found["ReLUConvBN"] == 6 + 4  # c_{k-1} of every cell, c_{k-2} of four
    assert found["DropPath"] == 4 * 8 + 2 * 9  # every op but the stride-1 identities
    assert not any(isinstance(m, MixedOp) for _, m in net.get_modules())
    assert net.genotype() == GENOTYPE
    assert net.drop_prob == pytest.approx(0.1)


def test_an_identity_on_a_reduction_input_is_a_factorized_reduction():
    cell = [[["identity", 0], ["identity", 1]]]
    net = TrainNet(1, 10, {"normal": cell, "reduce": cell}, init_channels=4, num_cells=3)
    # cell 0 normal (2 identities), cells 1, 2 reduce (2 each, on their inputs), and the
    # c_{k-2} of cell 2, after the reduction cell 1
    assert count(net)["Identity"] == 2 and count(net)["FactorizedReduce"] == 2 * 2 + 1


def test_the_auxiliary_head_reads_the_cell_at_two_thirds(rng):
    net = TrainNet(1, 10, GENOTYPE, init_channels=4, num_cells=3, auxiliary=True,
                   stem_multiplier=1)  # fmt: skip
    assert isinstance(net._aux_head, AuxiliaryHeadCIFAR)
    logits, aux = net(data(rng, size=32))
    assert logits.shape == aux.shape == (2, 10)
    with net.modes(training=False):
        assert net(data(rng, size=32)).shape == (2, 10)
    assert get_space("zoph").has_auxiliary_head({"auxiliary": True})


def test_bad_network_options_are_clear_errors():
    with pytest.raises(ValueError, match="num_cells must be at least 3"):
        search_net(num_cells=2)
    with pytest.raises(ValueError, match="num_blocks must be a positive int"):
        search_net(num_blocks=0)
    with pytest.raises(ValueError, match=r"unknown \['conv_9x9'\]"):
        search_net(candidates=["identity", "conv_9x9"])
    with pytest.raises(ValueError, match="unknown op 'none'"):
        TrainNet(1, 10, {**GENOTYPE, "normal": [[["none", 0], ["identity", 1]]] * 5})


def test_a_bundle_unpacks_a_fresh_variable_of_its_shape_by_slicing(rng):
    states = [rng.standard_normal(s).astype(np.float32) for s in ((2, 3, 4, 4), (2, 3, 2, 2))]
    bundle = StateBundle()
    variables = [nn.Variable.from_numpy_array(s) for s in states]
    packed = bundle.pack(variables)
    assert packed.shape == (2, 3 * 16 + 3 * 4)
    assert bundle.unpack(packed, 1) is variables[1]  # the cell's own graph: no copy
    packed.forward()
    fresh = nn.Variable.from_numpy_array(packed.d.copy())
    for j, state in enumerate(states):
        out = bundle.unpack(fresh, j)
        out.forward()
        np.testing.assert_array_equal(out.d, state)


def test_the_expected_cost_is_the_same_whatever_path_was_built(rng):
    # A sampled path builds one candidate per pair; the estimator builds the others on
    # the pair's packed input, and prices them as the full supernet does.
    net = search_net()
    for op in pairs(net, "normal") + pairs(net, "reduce"):
        op.alpha.d = rng.standard_normal(op.alpha.size)
    x = data(rng)
    costs = []
    for choice in ("full", "sample", "max"):
        with net.modes(choice=choice):
            net(x)
            cost = FLOPsEstimator().expected(net)
        cost.forward()
        costs.append(float(cost.d[0]))
    np.testing.assert_allclose(costs[1:], [costs[0]] * 2, rtol=1e-6)
    assert costs[0] > 0
