import itertools

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.ofa import (
    ElasticBatchNormalization,
    ElasticDepthwiseConv,
    ElasticMBConv,
    ElasticPointwiseConv,
    ElasticStage,
    MBConv,
    importance_order,
)


def data(*shape, seed=0, need_grad=False):
    array = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return nn.Variable.from_numpy_array(array, need_grad=need_grad)


def run(module, x):
    y = module(x)
    y.forward()
    return y.d.copy()


def randomize(module, seed=1):
    """Random values in every parameter, positive running variances."""
    rng = np.random.default_rng(seed)
    for key, p in module.get_parameters().items():
        p.d = rng.uniform(0.5, 1.5, p.shape) if key.endswith("_var") else rng.normal(size=p.shape)


def centre(w, k):
    start = (w.shape[-1] - k) // 2
    return w[:, start : start + k, start : start + k]


def transformed(w, matrix, k):
    """The paper's kernel transformation by hand: centre crop, then ``crop @ matrix``."""
    crop = centre(w, k)
    return (crop.reshape(len(w), k * k) @ matrix).reshape(len(w), k, k)


def plain_depthwise(weight, stride):
    """A depthwise `Conv` (group = channels) holding `weight` of shape (C, k, k)."""
    c, k = weight.shape[0], weight.shape[-1]
    conv = Mo.Conv(c, c, (k, k), pad=(k // 2,) * 2, stride=(stride,) * 2, group=c, with_bias=False)
    conv.set_parameters({"_W": weight[:, None]})
    return conv


# -- elastic kernel -------------------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 2])
def test_kernel_transformation_equals_a_hand_computed_depthwise_conv(stride):
    conv = ElasticDepthwiseConv(6, (3, 5, 7), stride=stride, rng=np.random.RandomState(0))
    rng = np.random.default_rng(1)
    t5, t3 = rng.normal(size=(25, 25)), rng.normal(size=(9, 9))
    conv.transform(5).d, conv.transform(3).d = t5, t3
    w7 = conv._W.d.copy()
    w5 = transformed(w7, t5, 5)
    expected = {7: w7, 5: w5, 3: transformed(w5, t3, 3)}
    x = data(2, 6, 9, 9)
    for k, weight in expected.items():
        conv.active_kernel = k
        y = run(conv, x)
        assert y.shape == (2, 6, 8 // stride + 1, 8 // stride + 1)
        np.testing.assert_allclose(y, run(plain_depthwise(weight, stride), x), atol=1e-4)


def test_identity_transforms_give_the_centre_crop_and_fewer_channels_the_first_ones():
    conv = ElasticDepthwiseConv(6, (3, 5, 7), rng=np.random.RandomState(0))
    assert np.array_equal(conv.transform(5).d, np.eye(25))
    assert [k for k, _ in conv.get_parameters().items()] == ["_W", "_transform_5", "_transform_3"]
    x = data(2, 4, 8, 8)
    for k in (3, 5):
        conv.active_kernel = k
        reference = plain_depthwise(centre(conv._W.d[:4], k), 1)
        np.testing.assert_allclose(run(conv, x), run(reference, x), atol=1e-5)


def test_gradients_reach_the_transforms_and_the_big_kernel():
    conv = ElasticDepthwiseConv(4, (3, 5, 7), rng=np.random.RandomState(0))
    conv.transform(5).d = np.random.default_rng(1).normal(size=(25, 25))
    conv.active_kernel = 3
    loss = F.sum(conv(data(2, 4, 6, 6)) ** 2)
    params = list(conv.get_parameters().values())
    for p in params:
        p.grad.zero()
    loss.forward()
    loss.backward()
    w, t5, t3 = (np.abs(p.g) for p in params)
    assert t5.sum() > 0 and t3.sum() > 0
    # The 3x3 kernel comes from the centre 5x5 (mixed by T5), nothing from the outer ring.
    assert (centre(w, 5) > 0).all()
    ring = w.copy()
    ring[:, 1:6, 1:6] = 0
    assert ring.sum() == 0


# -- elastic width --------------------------------------------------------------------------


def test_pointwise_conv_with_active_out_equals_a_conv_of_the_first_filters():
    conv = ElasticPointwiseConv(6, 10, with_bias=True, rng=np.random.RandomState(0))
    conv._b.d = np.random.default_rng(2).normal(size=10)
    conv.active_out = 4
    x = data(2, 5, 3, 3, need_grad=True)
    plain = Mo.Conv(5, 4, (1, 1))
    plain.set_parameters({"_W": conv._W.d[:4, :5], "_b": conv._b.d[:4]})
    np.testing.assert_allclose(run(conv, x), run(plain, x), atol=1e-6)
    # Gradients reach exactly the sliced part of the weights.
    loss = F.sum(conv(x) ** 2)
    conv._W.grad.zero()
    loss.forward()
    loss.backward()
    used = np.zeros((10, 6, 1, 1), dtype=bool)
    used[:4, :5] = True
    assert (conv._W.g[used] != 0).all() and (conv._W.g[~used] == 0).all()


def test_reordering_by_importance_keeps_the_function_and_ranks_the_filters():
    first = ElasticPointwiseConv(6, 10, with_bias=True, rng=np.random.RandomState(0))
    bn = ElasticBatchNormalization(10)
    second = ElasticPointwiseConv(10, 3, rng=np.random.RandomState(1))
    net = Mo.Sequential(first, bn, Mo.ReLU(), second)
    randomize(net)
    net.apply(training=False)
    x = data(2, 6, 4, 4)
    before = run(net, x)
    order = first.importance_order()
    assert sorted(order) == list(range(10)) and list(order) != list(range(10))
    first.reorder_out_channels(order)
    bn.reorder_channels(order)
    second.reorder_in_channels(order)
    np.testing.assert_allclose(run(net, x), before, rtol=1e-5, atol=1e-5)
    norms = np.abs(first._W.d).sum(axis=(1, 2, 3))
    assert (np.diff(norms) <= 0).all()
    assert list(importance_order(first._W.d)) == list(range(10))


# -- elastic batch normalization ------------------------------------------------------------


def sliced_bn(elastic, c):
    bn = Mo.BatchNormalization(c, 4, axes=[1])
    names = ("_beta", "_gamma", "_mean", "_var")
    bn.set_parameters({n: elastic.get_parameters()[n].d[:, :c] for n in names})
    return bn


@pytest.mark.parametrize("c", [5, 8])
def test_batch_norm_of_fewer_channels_in_training_equals_plain_batch_norm(c):
    elastic = ElasticBatchNormalization(8)
    randomize(elastic)
    plain = sliced_bn(elastic, c)
    old = {k: p.d.copy() for k, p in elastic.get_parameters().items()}
    x, x_plain = data(4, c, 3, 3, need_grad=True), data(4, c, 3, 3, need_grad=True)
    outputs, grads = [], []
    weight = data(4, c, 3, 3, seed=5)  # a loss whose gradients do not cancel
    for module, inp in ((elastic, x), (plain, x_plain)):
        y = module(inp)
        loss = F.sum(y * weight)
        for p in [inp, *module.get_parameters().values()]:
            p.grad.zero()
        loss.forward()
        loss.backward()
        params = module.get_parameters()
        outputs.append(y.d.copy())
        grads.append([inp.g.copy()] + [params[n].g[:, :c].copy() for n in ("_beta", "_gamma")])
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(*grads, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-4)
    params, plain_params = elastic.get_parameters(), plain.get_parameters()
    for name in ("_mean", "_var"):
        np.testing.assert_allclose(params[name].d[:, :c], plain_params[name].d, rtol=1e-5)
        assert not np.allclose(params[name].d[:, :c], old[name][:, :c])
        np.testing.assert_array_equal(params[name].d[:, c:], old[name][:, c:])
    assert (params["_beta"].g[:, c:] == 0).all()


def test_batch_norm_of_fewer_channels_in_inference_uses_their_running_statistics():
    elastic = ElasticBatchNormalization(8)
    randomize(elastic)
    plain = sliced_bn(elastic, 5)
    elastic.training = plain.training = False
    x = data(2, 5, 3, 3)
    np.testing.assert_allclose(run(elastic, x), run(plain, x), rtol=1e-5, atol=1e-6)
    assert elastic.to_static(5).get_parameters()["_var"].shape == (1, 5, 1, 1)


# -- elastic depth --------------------------------------------------------------------------


def test_stage_runs_its_first_active_depth_blocks():
    blocks = [Mo.Conv(4, 4, (3, 3), pad=(1, 1), rng=np.random.RandomState(i)) for i in range(4)]
    stage = ElasticStage(blocks, depths=(2, 3, 4))
    assert stage.active_depth == 4 and len(stage.get_parameters()) == 8
    x = data(2, 4, 5, 5)
    for d in (2, 3, 4):
        stage.active_depth = d
        np.testing.assert_allclose(run(stage, x), run(Mo.Sequential(*blocks[:d]), x), atol=1e-6)


def test_static_stage_copies_the_active_blocks():
    blocks = [ElasticMBConv(8, 8, rng=np.random.RandomState(i)) for i in range(3)]
    stage = ElasticStage(blocks)
    randomize(stage)
    stage.training = False
    stage.active_depth = 2
    blocks[1].active_kernel, blocks[1].active_expand_ratio = 3, 4
    static = stage.to_static()
    assert len(static) == 2 and all(isinstance(b, MBConv) for b in static)
    x = data(2, 8, 6, 6)
    np.testing.assert_allclose(run(static, x), run(stage, x), rtol=1e-5, atol=1e-5)


# -- elastic MBConv -------------------------------------------------------------------------


def expected_count(cin, cout, kernel, ratio, use_se):
    mid = Mo.make_divisible(cin * ratio, 8)
    count = cin * mid + 4 * mid + mid * kernel * kernel + 4 * mid + mid * cout + 4 * cout
    if use_se:
        squeeze = Mo.make_divisible(mid / 4, 8)
        count += 2 * mid * squeeze + squeeze + mid
    return count


@pytest.fixture(scope="module")
def blocks():
    """One block per setting, shared by the (kernel, ratio) cases (built once)."""
    settings = {
        "residual_se_hswish": dict(cin=8, cout=8, stride=1, activation="hswish", use_se=True),
        "stride2_relu": dict(cin=8, cout=16, stride=2, activation="relu", use_se=False),
    }
    made = {}
    for name, s in settings.items():
        block = ElasticMBConv(
            s["cin"], s["cout"], stride=s["stride"], activation=s["activation"],
            use_se=s["use_se"], rng=np.random.RandomState(0),
        )  # fmt: skip
        randomize(block)
        made[name] = (block, s)
    return made


@pytest.mark.parametrize("setting", ["residual_se_hswish", "stride2_relu"])
@pytest.mark.parametrize("kernel, ratio", list(itertools.product((3, 5, 7), (3, 4, 6))))
def test_mbconv_equals_its_static_copy_at_every_kernel_and_ratio(blocks, setting, kernel, ratio):
    block, s = blocks[setting]
    block.training = False
    block.active_kernel, block.active_expand_ratio = kernel, ratio
    assert block.residual is (s["stride"] == 1)
    static = block.to_static()
    assert not static.training
    modules = [m for _, m in static.get_modules()]
    assert not any(type(m).__name__.startswith("Elastic") for m in modules)
    count = sum(p.size for p in static.get_parameters().values())
    assert count == expected_count(s["cin"], s["cout"], kernel, ratio, s["use_se"])
    x = data(2, s["cin"], 8, 8)
    y = run(block, x)
    assert y.shape == (2, s["cout"], 8 // s["stride"], 8 // s["stride"])
    np.testing.assert_allclose(y, run(static, x), rtol=1e-5, atol=1e-5)


def test_mbconv_in_training_mode_equals_its_static_copy():
    block = ElasticMBConv(8, 8, use_se=True, rng=np.random.RandomState(0))
    randomize(block)
    block.active_kernel, block.active_expand_ratio = 5, 3
    static = block.to_static()
    assert static.training
    x = data(4, 8, 6, 6)
    np.testing.assert_allclose(run(block, x), run(static, x), rtol=1e-4, atol=1e-4)
    # Each updated the running statistics of its own copy alike.
    mine = block.get_parameters()["_expand_bn/_mean"].d[:, :24]
    np.testing.assert_allclose(mine, static.get_parameters()["_expand/1/_mean"].d, rtol=1e-5)


def test_sorting_channels_keeps_the_function_and_keeps_the_important_ones():
    block = ElasticMBConv(8, 8, use_se=True, rng=np.random.RandomState(0))
    randomize(block)
    block.training = False
    x = data(2, 8, 6, 6)
    before = run(block, x)
    norms = np.abs(block._expand._W.d).sum(axis=(1, 2, 3))
    order = block.sort_channels()
    np.testing.assert_allclose(run(block, x), before, rtol=1e-5, atol=1e-5)
    block.active_expand_ratio = 3  # 24 of 48 channels: the 24 largest norms
    kept = np.abs(block._expand._W.d[:24]).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(np.sort(kept), np.sort(norms)[-24:], rtol=1e-6)
    assert list(order[:24]) == list(np.argsort(-norms, kind="stable")[:24])


def test_static_copy_is_independent_of_the_elastic_weights():
    block = ElasticMBConv(8, 8, rng=np.random.RandomState(0))
    static = block.to_static()
    before = static.get_parameters()["_expand/0/_W"].d.copy()
    block._expand._W.d = 0.0
    np.testing.assert_array_equal(static.get_parameters()["_expand/0/_W"].d, before)


# -- bad values -----------------------------------------------------------------------------


def test_bad_active_values_name_the_allowed_ones():
    conv = ElasticDepthwiseConv(4, (3, 5, 7))
    with pytest.raises(ValueError, match=r"active_kernel must be one of \(3, 5, 7\), got 4"):
        conv.active_kernel = 4
    with pytest.raises(ValueError, match="active_out must be an int from 1 to 10, got 11"):
        ElasticPointwiseConv(6, 10).active_out = 11
    stage = ElasticStage([Mo.ReLU(), Mo.ReLU(), Mo.ReLU()], depths=(2, 3))
    with pytest.raises(ValueError, match=r"active_depth must be one of \(2, 3\), got 1"):
        stage.active_depth = 1
    block = ElasticMBConv(8, 8)
    with pytest.raises(ValueError, match=r"active_expand_ratio must be one of \(3, 4, 6\), got 5"):
        block.active_expand_ratio = 5
    with pytest.raises(ValueError, match=r"active_kernel must be one of \(3, 5, 7\), got True"):
        block.active_kernel = True
    assert (conv.active_kernel, stage.active_depth, block.active_expand_ratio) == (7, 3, 6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ElasticDepthwiseConv(4, (3, 4)), "odd positive ints"),
        (lambda: ElasticStage([Mo.ReLU()], depths=(1, 2)), "exceed the 1 blocks"),
        (lambda: ElasticMBConv(8, 8, activation="gelu"), "one of \\['relu', 'hswish'\\]"),
        (lambda: ElasticPointwiseConv(4, 4).reorder_out_channels([0, 0, 1, 2]), "permutation"),
        (lambda: ElasticBatchNormalization(4)(data(2, 5, 3, 3)), "C at most 4"),
        (lambda: ElasticMBConv(8, 8)(data(2, 6, 4, 4)), r"shape \(N, 8, H, W\)"),
    ],
)
def test_bad_settings_and_inputs_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
