import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas.contrib.mobilenet.arch import load_arch
from nnabla_nas.contrib.mobilenet.network import SearchNet, TrainNet, make_divisible
from nnabla_nas.contrib.registry import get_space

# Stage 0 (fixed): 32 -> 8. Searchable: block 0 8->8 stride 2, block 1 8->8 stride 1 (may
# skip), block 2 8->16 stride 1.
TINY = [[1, 8, 1, 1], [3, 8, 2, 2], [3, 16, 1, 1]]
GENOTYPE = {"settings": "cifar10", "blocks": ["k3_e3", "skip", "k5_e6"], "stages": TINY}


def inputs(shape=(2, 3, 16, 16), seed=0):
    return nn.Variable.from_numpy_array(np.random.default_rng(seed).standard_normal(shape))


def tiny(**kwargs):
    return SearchNet(3, 10, **{"stages": TINY, "rng": 0, **kwargs})


def test_search_net_output_and_arch_parameters():
    net = tiny()
    y = net(inputs())
    y.forward()
    assert y.shape == (2, 10)
    assert len(net.get_arch_parameters()) == 3 == len(net.mixed_ops)
    assert all("alpha" in k for k in net.get_arch_parameters())


def test_alphas_are_not_shared():
    alphas = [op.alpha for op in tiny().mixed_ops]
    assert len({id(a) for a in alphas}) == 3


def test_skip_is_offered_only_where_the_shape_is_kept():
    net = tiny()
    assert ["skip" in c for c in net.block_candidates] == [False, True, False]
    assert net.candidate_names[-1] == "skip"
    probs = net.arch_probs()
    assert list(probs) == ["block_0", "block_1", "block_2"]
    assert [len(p) for p in probs.values()] == [6, 7, 6]
    np.testing.assert_allclose([p.sum() for p in probs.values()], 1.0, rtol=1e-6)


def test_same_seed_same_alphas():
    a, b, c = tiny(rng=3), tiny(rng=3), tiny(rng=4)
    for x, y in zip(a.mixed_ops, b.mixed_ops, strict=True):
        np.testing.assert_array_equal(x.alpha.d, y.alpha.d)
    assert not np.array_equal(a.mixed_ops[0].alpha.d, c.mixed_ops[0].alpha.d)


def test_genotype_follows_hand_set_alphas():
    net = tiny()
    for op, winner in zip(net.mixed_ops, [5, 6, 2], strict=True):
        op.alpha.d = np.eye(len(op.operators))[winner]
    expected = {"settings": "cifar10", "blocks": ["k7_e6", "skip", "k5_e3"], "stages": TINY}
    assert net.genotype() == expected
    assert TrainNet(3, 10, net.genotype()).genotype() == expected


def test_genotype_of_default_stages_has_no_stages_key():
    net = SearchNet(3, 10, settings="imagenet", width_mult=0.35, rng=0)
    genotype = net.genotype()
    assert set(genotype) == {"settings", "blocks"} and len(genotype["blocks"]) == 16


def test_gradient_reaches_alphas_in_full_mode():
    net = tiny(mode="full")
    loss = F.mean(F.pow_scalar(net(inputs()), 2.0))
    for p in net.get_parameters().values():
        p.g = 0.0
    loss.forward()
    loss.backward()
    for alpha in net.get_arch_parameters().values():
        assert np.abs(alpha.g).sum() > 0


def test_sample_mode_activates_one_candidate_per_block():
    net = tiny(mode="sample")
    y = net(inputs())
    y.forward()
    keys = list(net.get_parameters(grad_only=True))
    for i, op in enumerate(net.mixed_ops):
        assert op.index is not None
        used = {k.split("/")[3] for k in keys if k.startswith(f"_blocks/{i + 1}/_ops/")}
        assert used <= {str(op.index)}
        if net.block_candidates[i][op.index] != "skip":
            assert used == {str(op.index)}


def test_sampling_is_reproducible_from_the_seed():
    def sampled(seed):
        net = tiny(rng=seed)
        net(inputs())
        return [op.index for op in net.mixed_ops]

    assert sampled(7) == sampled(7)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mode": "best"}, "unknown mode 'best'"),
        ({"candidates": ["skip"]}, "hold no block but 'skip'"),
        ({"candidates": ["k3_e3", "k9_e9"]}, r"unknown candidates \['k9_e9'\]"),
        ({"settings": "mnist"}, "unknown MobileNetV2 settings 'mnist'"),
        ({"stages": [[1, 8, 1, 1]]}, "need at least 2 stages"),
        ({"width_mult": 0}, "width_mult must be a positive number"),
    ],
)
def test_search_net_rejects_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny(**kwargs)


def test_candidate_subset_puts_skip_last():
    net = tiny(candidates=["skip", "k5_e3"])
    assert net.candidate_names == ("k5_e3", "skip")
    assert net.block_candidates == [("k5_e3",), ("k5_e3", "skip"), ("k5_e3",)]


def test_train_net_output_shape_and_drop_path():
    genotype = {**GENOTYPE, "blocks": ["k3_e3", "k3_e6", "k5_e6"]}  # block 1 is residual
    net = TrainNet(3, 10, genotype, drop_path=0.2, dropout=0.1)
    y = net(inputs())
    y.forward()
    assert y.shape == (2, 10)
    assert net.drop_prob == pytest.approx(0.2)
    assert net._blocks[2]._drop_path.drop_prob == pytest.approx(0.2)
    net.drop_prob = 0.1
    assert net._blocks[2]._drop_path.drop_prob == pytest.approx(0.1)
    assert not net.get_arch_parameters()
    with pytest.raises(ValueError, match=r"drop_path must lie in \[0, 1\)"):
        TrainNet(3, 10, GENOTYPE, drop_path=1.5)


def test_train_net_parameter_count_by_hand():
    def bn(c):  # beta, gamma, running mean and variance
        return 4 * c

    stem = 3 * 32 * 9 + bn(32)
    fixed = 32 * 9 + bn(32) + 32 * 8 + bn(8)  # expansion 1: depthwise and projection only
    k3_e3 = 8 * 24 + bn(24) + 24 * 9 + bn(24) + 24 * 8 + bn(8)
    k5_e6 = 8 * 48 + bn(48) + 48 * 25 + bn(48) + 48 * 16 + bn(16)
    head = 16 * 1280 + bn(1280)
    classifier = 1280 * 10 + 10
    expected = stem + fixed + k3_e3 + 0 + k5_e6 + head + classifier
    assert TrainNet(3, 10, GENOTYPE).count_parameters() == expected == 43730


@pytest.mark.parametrize(
    "genotype, message",
    [
        ({**GENOTYPE, "blocks": ["k3_e3"]}, "the genotype has 1 blocks but .* have 3 searchable"),
        (
            {**GENOTYPE, "blocks": ["k3_e3", "k9_e6", "k3_e3"]},
            r"block 1 \(stage 1, repeat 1\): unknown op 'k9_e6'",
        ),
        (
            {**GENOTYPE, "blocks": ["skip", "skip", "k3_e3"]},
            r"block 0 \(stage 1, repeat 0\): 'skip' is not allowed, the block has stride 2",
        ),
        (
            {**GENOTYPE, "blocks": ["k3_e3", "k3_e3", "skip"]},
            r"block 2 \(stage 2, repeat 0\): 'skip' is not allowed.* 8 -> 16 channels",
        ),
    ],
)
def test_train_net_validates_the_genotype(genotype, message):
    with pytest.raises(ValueError, match=message):
        TrainNet(3, 10, genotype)


def test_train_net_takes_stages_for_a_genotype_without_them():
    bare = {"settings": "cifar10", "blocks": GENOTYPE["blocks"]}
    assert TrainNet(3, 10, bare, stages=TINY).genotype() == GENOTYPE
    with pytest.raises(ValueError, match="searched with stages"):
        TrainNet(3, 10, GENOTYPE, stages=[[1, 8, 1, 1], [3, 8, 3, 2], [3, 16, 1, 1]])


def test_width_mult_scales_channels_but_not_the_head():
    assert [make_divisible(c * 0.35) for c in (32, 16, 24, 320)] == [16, 8, 8, 112]
    net = TrainNet(3, 10, GENOTYPE, width_mult=0.5)
    assert net._stem[0]._W.shape == (16, 3, 3, 3)
    assert net._classifier._W.shape == (1280, 10)
    assert TrainNet(3, 10, GENOTYPE, width_mult=1.5)._classifier._W.shape == (1920, 10)


def test_registry_builds_both_nets(tmp_path):
    space = get_space("mobilenet")
    assert set(space.options("search")) == {
        "settings", "width_mult", "candidates", "stages", "dropout"
    }  # fmt: skip
    search = space.make_search_net(3, 10, seed=0, options={"stages": TINY})
    path = str(tmp_path / "arch.json")
    space.write(path, space.derive(search))
    assert load_arch(path) == search.genotype() == space.read(path)
    train = space.make_train_net(3, 10, space.read(path), seed=0, options={}, drop_path=0.1)
    y = train(inputs())
    y.forward()
    assert y.shape == (2, 10)
