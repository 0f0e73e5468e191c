"""PC-DARTS in the DARTS space: partial channel edges, channel shuffle, edge normalisation."""

import os

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
import yaml

from nnabla_nas import module as Mo
from nnabla_nas.cli import main
from nnabla_nas.contrib.darts.cells import PartialChannels, channel_shuffle
from nnabla_nas.contrib.darts.network import SearchNet


def search_net(**kwargs):
    args = {"in_channels": 1, "init_channels": 4, "num_cells": 3, "num_classes": 10, "rng": 0}
    return SearchNet(**{**args, **kwargs})


def test_channel_shuffle_interleaves_the_groups(rng):
    x = rng.standard_normal((2, 6, 3, 3)).astype(np.float32)
    y = channel_shuffle(nn.Variable.from_numpy_array(x), 3)
    y.forward()
    expected = x.reshape(2, 3, 2, 3, 3).transpose(0, 2, 1, 3, 4).reshape(2, 6, 3, 3)
    np.testing.assert_array_equal(y.d, expected)
    np.testing.assert_array_equal(y.d[:, 1], x[:, 2])  # group 1's first channel comes second


@pytest.mark.parametrize("stride", [1, 2])
def test_a_partial_edge_sends_a_quarter_of_the_channels_through_the_candidates(rng, stride):
    conv = Mo.Conv(2, 2, (3, 3), stride=(stride, stride), pad=(1, 1), with_bias=False)
    edge = PartialChannels(Mo.MixedOp([conv]), 8, 4, stride)
    x = rng.standard_normal((2, 8, 7, 7)).astype(np.float32)
    xv = nn.Variable.from_numpy_array(x)
    y, through = edge(xv), conv(nn.Variable.from_numpy_array(x[:, :2]))
    F.sink(y, through).forward()
    unshuffled = y.d.reshape(2, 2, 4, *y.shape[2:]).transpose(0, 2, 1, 3, 4).reshape(y.shape)
    np.testing.assert_allclose(unshuffled[:, :2], through.d, rtol=1e-5, atol=1e-6)
    rest = x[:, 2:]
    if stride == 2:  # the bypass is max pooled (3x3, stride 2, pad 1) to the candidates' size
        assert y.shape == (2, 8, 4, 4)
        padded = np.pad(rest, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
        windows = [[padded[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3] for j in range(4)]
                   for i in range(4)]  # fmt: skip
        rest = np.array([[w.max(axis=(2, 3)) for w in row] for row in windows]).transpose(
            2, 3, 0, 1
        )
    np.testing.assert_allclose(unshuffled[:, 2:], rest, rtol=1e-6)


def test_partial_channels_shrink_the_candidates_and_run_at_odd_sizes():
    full, partial = search_net(init_channels=8), search_net(init_channels=8, partial_channels=4)
    assert partial.count_parameters() < 0.4 * full.count_parameters()
    y = partial(nn.Variable((2, 1, 9, 9)))  # 9 -> 5 -> 3 at the reductions
    y.forward()
    assert y.shape == (2, 10)
    convs = [m for _, m in partial.get_modules() if isinstance(m, Mo.DwConv)]
    # the cells work at 8, 16 and 32 channels, their candidates at a quarter of that
    assert convs and {c._W.shape[0] for c in convs} == {2, 4, 8}
    with pytest.raises(ValueError, match=r"partial_channels \(3\) must divide init_channels"):
        search_net(init_channels=8, partial_channels=3)


def test_edge_normalization_weights_are_shared_architecture_parameters_with_gradients():
    net = search_net(edge_normalization=True, num_choices=3, multiplier=2)
    betas = net.edge_weights()
    assert [b.size for b in betas] == [2, 3, 4, 2, 3, 4]  # normal cells, then reduction
    arch, weights = net.get_arch_parameters(), net.get_net_parameters()
    assert all(any(b is p for p in arch.values()) for b in betas)
    assert not any(b is p for b in betas for p in weights.values())
    loss = F.sum(net(nn.Variable.from_numpy_array(np.ones((2, 1, 8, 8), np.float32))) ** 2)
    for p in arch.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    assert all(np.abs(b.g).sum() > 0 for b in betas)
    assert not search_net().edge_weights()


def test_the_derivation_ranks_edges_by_op_weight_times_edge_weight():
    net = search_net(edge_normalization=True, num_choices=3, multiplier=2)
    sep = list(net.candidate_names).index("sep_conv_3x3")
    for op in net._cells[0].edges:  # all ops equal: every edge ties
        op.alpha.d = np.zeros(op.alpha.shape)
    # node 1 reads states 0, 1, 2 (edges 2, 3, 4): give edge 2 the strongest op ...
    net._cells[0].edges[2].alpha.d = np.eye(8)[sep] * 3.0
    assert sorted(i for _, i in net.genotype()["normal"][2:4]) == [0, 1]
    # ... and let edge normalisation weight edge 4 (from node 0, state 2) far above it
    net.edge_weights()[1].d = np.array([0.0, 0.0, 6.0])
    assert 2 in [i for _, i in net.genotype()["normal"][2:4]]


def test_a_searcher_that_does_not_learn_edge_weights_is_refused_before_writing(
    tmp_path, tiny_darts_search, capsys
):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_darts_search))
    out = str(tmp_path / "run")
    args = [
        "search",
        "-c",
        str(config),
        "-o",
        out,
        "searcher=pnas",
        "model.edge_normalization=true",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "searcher 'pnas' does not learn" in err[0] and "darts or gdas" in err[0]
    )
    assert not os.path.exists(out)


def test_a_pc_darts_search_runs_and_derives_a_valid_cell(tmp_path, tiny_darts_search):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({**tiny_darts_search, "epochs": 1}))
    out = str(tmp_path / "run")
    pc = ["model.partial_channels=2", "model.edge_normalization=true"]
    assert main(["search", "-c", str(config), "-o", out, "--no-progress", *pc]) == 0
    with open(os.path.join(out, "arch.json")) as f:
        arch = yaml.safe_load(f)
    assert len(arch["normal"]) == 4 and len(arch["reduce"]) == 4
