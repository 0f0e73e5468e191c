import doctest

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas.contrib.ofa import OFANet, OFASupernet, arch, network
from nnabla_nas.contrib.ofa.arch import DEPTHS, EXPAND_RATIOS, KERNELS, NUM_STAGES

SHAPE = (2, 1, 8, 8)


@pytest.fixture(scope="module")
def supernet():
    net = OFASupernet(1, 10, settings="digits", rng=0)
    randomize(net)
    return net


def randomize(module, seed=1):
    """Random values in every parameter (the kernel transformations included), positive
    running variances, so that a wrong slice or a missed transformation shows."""
    rng = np.random.default_rng(seed)
    for key, p in module.get_parameters().items():
        if key.endswith("_var"):
            p.d = rng.uniform(0.5, 1.5, p.shape)
        elif "_transform_" in key:
            p.d = np.eye(p.shape[0]) + 0.1 * rng.normal(size=p.shape)
        else:
            p.d = 0.3 * rng.normal(size=p.shape)


def infer(net, x):
    with net.modes(training=False):
        y = net(nn.Variable.from_numpy_array(x))
    y.forward()
    return y.d.copy()


def data(seed=0):
    return np.random.default_rng(seed).standard_normal(SHAPE).astype(np.float32)


def sizes(a):
    return [(s["depth"], [(b["kernel"], b["expand"]) for b in s["blocks"]]) for s in a["stages"]]


def test_the_docstring_examples_run():
    for module in (arch, network):
        assert doctest.testmod(module, raise_on_error=True).attempted


@pytest.mark.parametrize("which", ["max", "min", "random0", "random1"])
def test_the_supernet_computes_what_its_static_network_computes(supernet, which):
    if which.startswith("random"):
        chosen = supernet.sample_active(int(which[-1]))
    else:
        chosen = getattr(supernet, f"{which}_arch")()
    supernet.set_active(chosen)
    x = data()
    expected = infer(supernet, x)
    assert np.std(expected) > 1e-2  # outputs that tell networks apart
    static = supernet.to_static(chosen)
    assert isinstance(static, OFANet) and static.arch() == chosen
    np.testing.assert_allclose(infer(static, x), expected, atol=1e-5, rtol=1e-5)
    assert not any("_transform_" in k for k in static.get_parameters())


def test_the_static_network_holds_copies_in_the_supernet_mode(supernet):
    supernet.set_active(supernet.max_arch())
    x = data(1)
    with supernet.modes(training=False):
        static = supernet.to_static()
    assert not static.training
    before = infer(static, x)
    for p in supernet.get_parameters().values():
        p.d = p.d * 1.0  # untouched values, new buffers
    supernet.get_parameters()["_classifier/_W"].d += 1.0
    np.testing.assert_array_equal(infer(static, x), before)
    supernet.get_parameters()["_classifier/_W"].d -= 1.0


def test_set_active_and_active_arch_round_trip(supernet):
    rng = np.random.default_rng(3)
    for _ in range(5):
        depths = [int(rng.choice(DEPTHS)) for _ in range(NUM_STAGES)]
        blocks = [
            [{"kernel": int(rng.choice(KERNELS)), "expand": int(rng.choice(EXPAND_RATIOS))}
             for _ in range(4)]
            for _ in depths
        ]  # fmt: skip
        given = {"stages": [{"depth": d, "blocks": b} for d, b in zip(depths, blocks, strict=True)]}
        supernet.set_active(given)
        got = supernet.active_arch()
        assert [s["depth"] for s in got["stages"]] == depths
        assert [s["blocks"] for s in got["stages"]] == [
            b[:d] for d, b in zip(depths, blocks, strict=True)
        ]
        assert [st.active_depth for st in supernet.stages] == depths
        assert supernet.blocks(0)[0].active_kernel == blocks[0][0]["kernel"]


def test_sample_active_keeps_to_the_sizes_given(supernet):
    seen = set()
    for seed in range(20):
        a = supernet.sample_active(seed, kernels=[3, 7], expand_ratios=[4], depths=[2, 3])
        assert a == supernet.active_arch()
        for depth, blocks in sizes(a):
            assert depth in (2, 3)
            assert all(k in (3, 7) and e == 4 for k, e in blocks)
            seen |= {k for k, _ in blocks} | {("d", depth)}
    assert seen == {3, 7, ("d", 2), ("d", 3)}  # every size allowed is drawn
    assert supernet.sample_active(5) == supernet.sample_active(5)  # a seed, one subnet
    with pytest.raises(ValueError, match=r"kernels: \[9\] not allowed"):
        supernet.sample_active(0, kernels=[9])


def test_max_and_min_architectures(supernet):
    assert sizes(supernet.max_arch()) == [(4, [(7, 6)] * 4)] * NUM_STAGES
    assert sizes(supernet.min_arch()) == [(2, [(3, 3)] * 2)] * NUM_STAGES


def test_a_supernet_of_restricted_sizes_refuses_others():
    net = OFASupernet(1, 10, settings="digits", kernels=[3, 5], depths=[2, 3])
    assert len(net.blocks(0)) == 3 and net.max_arch()["stages"][0]["blocks"][0]["kernel"] == 5
    with pytest.raises(ValueError, match=r"stages\[0\]\.depth: depth 4 is not offered by this "
                       r"supernet; it offers \[2, 3\] \(model: depths\)"):  # fmt: skip
        net.set_active(OFASupernet(1, 10, settings="digits").max_arch())
    seven = {"depth": 3, "blocks": [{"kernel": 7, "expand": 6}] * 3}
    with pytest.raises(ValueError, match=r"stages\[0\]\.blocks\[0\]\.kernel: kernel 7 is not "
                       r"offered by this supernet; it offers \[3, 5\]"):  # fmt: skip
        net.set_active({"stages": [seven] * 5})
    with pytest.raises(ValueError, match=r"kernels: \[4\] not allowed; choose some of \[3, 5, 7\]"):
        OFASupernet(1, 10, settings="digits", kernels=[3, 4])
    with pytest.raises(ValueError, match="unknown OFA settings 'mnist'"):
        OFASupernet(1, 10, settings="mnist")


def test_elastic_resolution_is_part_of_the_architecture():
    net = OFASupernet(1, 10, settings="digits", resolutions=[8, 6])
    assert net.max_arch()["resolution"] == 8 and net.min_arch()["resolution"] == 6
    assert {net.sample_active(s)["resolution"] for s in range(10)} == {6, 8}
    with pytest.raises(ValueError, match=r"resolution: resolution 7 is not offered"):
        net.set_active({**net.max_arch(), "resolution": 7})
    assert "resolution" not in OFASupernet(1, 10, settings="digits").max_arch()


def test_a_network_resizes_its_input_to_its_resolution(supernet):
    from nnabla_nas.contrib.estimator import FLOPsEstimator
    from nnabla_nas.module import Resize

    net = OFASupernet(1, 10, settings="digits", resolutions=[6, 8], rng=0)
    randomize(net)
    small = {**net.sample_active(4), "resolution": 6}
    static = net.to_static(small)
    assert net.active_resolution == 6 and static.arch()["resolution"] == 6
    x = data()
    resized = nn.Variable.from_numpy_array(x)
    with nn.auto_forward():
        resized = Resize(6)(resized)
    # As the same network without a resolution given the resized images.
    plain = OFANet(1, 10, {k: v for k, v in small.items() if k != "resolution"},
                   settings="digits")  # fmt: skip
    plain.set_parameters(static.get_parameters(), raise_if_missing=True)
    expected = infer(plain, resized.d)
    np.testing.assert_allclose(infer(static, x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(infer(net, x), expected, rtol=1e-5, atol=1e-5)
    # Fewer FLOPs at the smaller side: every layer after the resize runs on 6x6, not 8x8.
    flops = FLOPsEstimator()
    at8 = OFANet(1, 10, {**small, "resolution": 8}, settings="digits")
    assert flops.cost(static, (1, 1, 8, 8)) < 0.7 * flops.cost(at8, (1, 1, 8, 8))
    assert static._stem(static._resize(nn.Variable((1, 1, 8, 8)))).shape[2:] == (6, 6)


def test_a_step_reaches_the_shared_weights_of_the_active_subnet(supernet):
    net = OFASupernet(1, 10, settings="digits", rng=0)
    net.set_active(net.min_arch())
    params = net.get_parameters(grad_only=True)
    for p in params.values():
        p.g = 0.0
    loss = F.mean(net(nn.Variable.from_numpy_array(data())))
    loss.forward()
    loss.backward()
    reached = {k for k, p in params.items() if np.any(p.g)}
    assert "_stages/0/_blocks/0/_depthwise/_transform_3" in reached  # 7 -> 5 -> 3
    assert "_stages/0/_blocks/1/_expand/_W" in reached
    assert not any(k.startswith("_stages/0/_blocks/2/") for k in reached)  # past depth 2


@pytest.mark.parametrize(("settings", "stride"), [("digits", 4), ("cifar10", 8), ("imagenet", 32)])
def test_the_settings_reduce_their_resolution_by_their_total_stride(settings, stride):
    side = arch.SETTINGS[settings].resolution
    net = OFASupernet(3, 7, settings=settings, width_mult=0.5)
    net.set_active(net.min_arch())
    x = net._first(net._stem(nn.Variable((1, 3, side, side))))
    for stage in net.stages:
        x = stage(x)
    assert x.shape[2:] == (side // stride,) * 2
    assert net(nn.Variable((1, 3, side, side))).shape == (1, 7)


def test_train_net_has_the_parameters_of_the_static_network(supernet):
    chosen = supernet.sample_active(7)
    static = supernet.to_static()
    fresh = OFANet(1, 10, chosen, settings="digits", rng=3)
    shapes = {k: p.shape for k, p in static.get_parameters().items()}
    assert {k: p.shape for k, p in fresh.get_parameters().items()} == shapes
    assert fresh.count_parameters() == static.count_parameters()
    assert supernet.count_parameters() > static.count_parameters()
