import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts.modules import (
    CANDIDATE_NAMES,
    CANDIDATES,
    DilConv,
    DropPath,
    FactorizedReduce,
    MixedOp,
    ReLUConvBN,
    SepConv,
    register,
)
from nnabla_nas.module.mixedop import MixedOp as CoreMixedOp

DARTS_OPS = {
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
    "max_pool_3x3", "avg_pool_3x3", "skip_connect", "none",
}  # fmt: skip


def forward(module, x):
    y = module(x)
    y.forward()
    return y.d.copy()


def bn_ref(x, bn, training):
    """Raw batch normalization with copies of the module's parameters."""
    copy = [nn.Variable.from_numpy_array(p.d.copy()) for p in (bn._beta, bn._gamma)]
    stats = [nn.Variable.from_numpy_array(p.d.copy()) for p in (bn._mean, bn._var)]
    return F.batch_normalization(x, *copy, *stats, axes=[1], batch_stat=training)


def randomise_bn(module, rng):
    """Gives every BN of `module` non-trivial beta, gamma and running statistics."""
    for _, m in module.get_modules():
        if isinstance(m, Mo.BatchNormalization):
            for p in (m._beta, m._gamma, m._mean):
                p.d = rng.standard_normal(p.shape)
            m._var.d = rng.uniform(0.5, 2.0, m._var.shape)


def test_registry_holds_the_eight_darts_candidates():
    assert set(CANDIDATE_NAMES) == DARTS_OPS
    assert tuple(CANDIDATES) == CANDIDATE_NAMES
    assert MixedOp is CoreMixedOp


def test_register_rejects_a_taken_name():
    with pytest.raises(ValueError, match="'sep_conv_3x3' is already registered"):
        register("sep_conv_3x3")(lambda c, s, a: Mo.Identity())


def test_register_adds_a_builder():
    @register("test_identity_op")
    def build(channels, stride, affine):
        return Mo.Identity()

    try:
        assert CANDIDATES["test_identity_op"] is build
    finally:
        del CANDIDATES["test_identity_op"]


@pytest.mark.parametrize("name", CANDIDATE_NAMES)
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("size", [8, 5])
def test_candidate_output_shape(name, stride, size, variable):
    op = CANDIDATES[name](4, stride, True)
    out = size if stride == 1 else (size + 1) // 2
    assert op(variable(2, 4, size, size)).shape == (2, 4, out, out)


@pytest.mark.parametrize("name", CANDIDATE_NAMES)
def test_candidate_without_affine_trains_no_bn_scale(name):
    op = CANDIDATES[name](4, 2, False)
    trained = op.get_parameters(grad_only=True)
    assert not [k for k in trained if k.endswith(("_beta", "_gamma"))]


def test_skip_connect_is_identity_at_stride_1_and_factorized_reduce_at_2():
    assert isinstance(CANDIDATES["skip_connect"](4, 1, True), Mo.Identity)
    assert isinstance(CANDIDATES["skip_connect"](4, 2, True), FactorizedReduce)


def test_none_gives_zeros(variable):
    assert not forward(CANDIDATES["none"](4, 2, True), variable(2, 4, 8, 8)).any()


def test_avg_pool_averages_valid_positions_only():
    x = nn.Variable.from_numpy_array(np.ones((1, 2, 4, 4), dtype=np.float32))
    np.testing.assert_allclose(forward(CANDIDATES["avg_pool_3x3"](2, 1, True), x), 1.0)


@pytest.mark.parametrize("training", [True, False])
def test_relu_conv_bn_matches_raw_nnabla(training, variable, rng):
    op = ReLUConvBN(3, 5, 3, pad=1, stride=2)
    randomise_bn(op, rng)
    op.apply(training=training)
    x = variable(2, 3, 8, 8)
    conv = F.convolution(F.relu(x), op._conv._W, None, pad=(1, 1), stride=(2, 2))
    ref = bn_ref(conv, op._bn, training)
    ref.forward()
    np.testing.assert_allclose(forward(op, x), ref.d, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_factorized_reduce_matches_raw_nnabla(training, variable, rng):
    op = FactorizedReduce(3, 6)
    randomise_bn(op, rng)
    op.apply(training=training)
    x = variable(2, 3, 8, 8)
    relu = F.relu(x)
    relu.forward()
    shifted = nn.Variable.from_numpy_array(relu.d[:, :, 1:, 1:])
    a = F.convolution(relu, op._conv1._W, None, stride=(2, 2))
    b = F.convolution(shifted, op._conv2._W, None, stride=(2, 2))
    ref = bn_ref(F.concatenate(a, b, axis=1), op._bn, training)
    ref.forward()
    np.testing.assert_allclose(forward(op, x), ref.d, rtol=1e-5, atol=1e-5)


def test_factorized_reduce_needs_even_out_channels():
    with pytest.raises(ValueError, match=r"out_channels must be even.*got 5"):
        FactorizedReduce(4, 5)


def dil_conv_ref(x, op, stride, pad, dilation, training):
    dw = F.depthwise_convolution(
        F.relu(x), op._dw._W, None, pad=pad, stride=stride, dilation=dilation
    )
    return bn_ref(F.convolution(dw, op._pw._W, None), op._bn, training)


@pytest.mark.parametrize("training", [True, False])
def test_dil_conv_matches_raw_nnabla(training, variable, rng):
    op = DilConv(4, 6, 3, 2, 2, 2)
    randomise_bn(op, rng)
    op.apply(training=training)
    x = variable(2, 4, 8, 8)
    ref = dil_conv_ref(x, op, (2, 2), (2, 2), (2, 2), training)
    ref.forward()
    assert ref.shape == (2, 6, 4, 4)
    np.testing.assert_allclose(forward(op, x), ref.d, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("training", [True, False])
def test_sep_conv_matches_raw_nnabla(training, variable, rng):
    op = SepConv(4, 6, 5, 2, 2)
    randomise_bn(op, rng)
    op.apply(training=training)
    x = variable(2, 4, 8, 8)
    first = dil_conv_ref(x, op._first, (2, 2), (2, 2), (1, 1), training)
    ref = dil_conv_ref(first, op._second, (1, 1), (2, 2), (1, 1), training)
    ref.forward()
    assert ref.shape == (2, 6, 4, 4)
    np.testing.assert_allclose(forward(op, x), ref.d, rtol=1e-5, atol=1e-5)


def ones(*shape):
    return nn.Variable.from_numpy_array(np.ones(shape, dtype=np.float32), need_grad=True)


def dropped_fraction(y, p):
    """Checks each sample is all zeros or all 1/(1-p); returns the fraction of zeros."""
    flat = y.d.reshape(y.shape[0], -1)
    dropped = (flat == 0).all(axis=1)
    np.testing.assert_allclose(flat[~dropped], 1.0 / (1.0 - p), rtol=1e-6)
    return dropped.mean()


def test_drop_path_is_identity_at_zero_and_in_inference(variable):
    x = variable(4, 3, 2, 2)
    assert DropPath(0.0)(x) is x
    drop = DropPath(0.5)
    drop.apply(training=False)
    assert drop(x) is x


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_drop_path_drops_whole_samples_with_probability_p(p):
    x = ones(4000, 2, 2, 2)
    y = DropPath(p)(x)
    loss = F.sum(y)
    x.grad.zero()
    loss.forward()
    loss.backward()
    assert abs(dropped_fraction(y, p) - p) < 0.04
    np.testing.assert_allclose(x.g, y.d, rtol=1e-6)


def test_drop_path_probability_changes_without_rebuilding():
    x = ones(2000, 1, 2, 2)
    drop = DropPath(0.5)
    y = drop(x)
    y.forward()
    assert abs(dropped_fraction(y, 0.5) - 0.5) < 0.05
    drop.drop_prob = 0.0
    y.forward()
    np.testing.assert_array_equal(y.d, 1.0)
    drop.drop_prob = 0.9
    y.forward()
    assert abs(dropped_fraction(y, 0.9) - 0.9) < 0.04
    assert drop.drop_prob == 0.9


def test_drop_path_follows_nnabla_seed():
    x = ones(64, 1, 1, 1)
    y = DropPath(0.5)(x)
    draws = []
    for _ in range(2):
        nn.seed(7)
        y.forward()
        draws.append(y.d.copy())
    np.testing.assert_array_equal(*draws)


def test_drop_path_set_above_zero_before_building_masks_the_graph():
    drop = DropPath(0.0)
    drop.drop_prob = 0.5
    x = ones(1000, 1, 1, 1)
    y = drop(x)
    assert y is not x
    y.forward()
    assert 0.4 < dropped_fraction(y, 0.5) < 0.6


@pytest.mark.parametrize("p", [1.0, -0.1])
def test_drop_path_rejects_bad_probability(p):
    with pytest.raises(ValueError, match=r"drop_prob must lie in \[0, 1\)"):
        DropPath(p)
