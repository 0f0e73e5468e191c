import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.mobilenet.modules import (
    CANDIDATE_NAMES,
    CANDIDATES,
    SKIP,
    InvertedResidual,
    candidate,
    register,
)


def inputs(shape, seed=0):
    return nn.Variable.from_numpy_array(np.random.default_rng(seed).standard_normal(shape))


def bn(x, seq):
    layer = seq[1]
    return F.batch_normalization(
        x, layer._beta, layer._gamma, layer._mean, layer._var, axes=[1], batch_stat=True
    )


def reference(block, x, kernel, stride, residual):
    """The block composed from raw nnabla functions with the block's own weights."""
    h = x
    if block._expand is not None:
        h = F.relu6(bn(F.convolution(h, block._expand[0]._W, None), block._expand))
    pad, step = (kernel // 2,) * 2, (stride, stride)
    dw = F.depthwise_convolution(h, block._depthwise[0]._W, None, pad=pad, stride=step)
    h = F.relu6(bn(dw, block._depthwise))
    h = bn(F.convolution(h, block._project[0]._W, None), block._project)
    return F.add2(x, h) if residual else h


@pytest.mark.parametrize(
    "cin, cout, kernel, stride, expansion, residual",
    [
        (8, 8, 3, 1, 3, True),
        (8, 16, 5, 2, 6, False),
        (8, 8, 7, 2, 6, False),
        (16, 8, 3, 1, 1, False),
        (8, 8, 5, 1, 1, True),
    ],
)
def test_inverted_residual_matches_raw_nnabla(cin, cout, kernel, stride, expansion, residual):
    block = InvertedResidual(cin, cout, kernel, stride, expansion)
    assert block.residual is residual
    assert (block._expand is None) is (expansion == 1)
    x = inputs((2, cin, 8, 8))
    y = block(x)
    y.forward()
    ref = reference(block, x, kernel, stride, residual)
    ref.forward()
    assert y.shape == (2, cout, 8 // stride, 8 // stride)
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-5)


def test_inverted_residual_has_no_biases():
    block = InvertedResidual(4, 8, 3, 1, 6)
    names = list(block.get_parameters())
    assert not [n for n in names if n.endswith("_b")]
    assert block.get_parameters()["_depthwise/0/_W"].shape == (4 * 6, 3, 3)


@pytest.mark.parametrize("name", [n for n in CANDIDATE_NAMES if n != SKIP])
@pytest.mark.parametrize("stride", [1, 2])
def test_every_candidate_gives_the_block_shape(name, stride):
    op = candidate(name, 8, 8, stride)
    y = op(inputs((2, 8, 8, 8)))
    y.forward()
    assert y.shape == (2, 8, 8 // stride, 8 // stride)
    kernel, expansion = int(name[1]), int(name[4])
    assert op._kernel == kernel and op._expansion == expansion


def test_skip_is_the_identity_where_the_shape_is_kept():
    x = inputs((2, 8, 8, 8))
    op = candidate(SKIP, 8, 8, 1)
    assert isinstance(op, Mo.Identity)
    assert op(x) is x


@pytest.mark.parametrize("cin, cout, stride", [(8, 8, 2), (8, 16, 1)])
def test_skip_refuses_a_shape_change(cin, cout, stride):
    with pytest.raises(ValueError, match="'skip' needs stride 1 and as many output"):
        candidate(SKIP, cin, cout, stride)


def test_candidate_names_are_the_six_blocks_then_skip():
    assert CANDIDATE_NAMES == ("k3_e3", "k3_e6", "k5_e3", "k5_e6", "k7_e3", "k7_e6", "skip")
    assert set(CANDIDATE_NAMES) <= set(CANDIDATES)


def test_unknown_candidate_and_duplicate_registration_are_refused():
    with pytest.raises(ValueError, match="unknown MobileNetV2 candidate 'k9_e6'"):
        candidate("k9_e6", 8, 8, 1)
    with pytest.raises(ValueError, match="'k3_e6' is already registered"):
        register("k3_e6")(lambda cin, cout, stride: Mo.Identity())


@pytest.mark.parametrize(
    "args, message",
    [((8, 8, 4, 1, 6), "kernel must be odd"), ((8, 0, 3, 1, 6), "out_channels must be a pos")],
)
def test_inverted_residual_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        InvertedResidual(*args)


def test_drop_path_drops_whole_residual_branches():
    block = InvertedResidual(4, 4, 3, 1, 3, drop_prob=0.5)
    x = inputs((16, 4, 4, 4))
    y = block(x)
    branch = block._project(block._depthwise(block._expand(x)))
    nn.forward_all([y, branch])
    delta = (y.d - x.d).reshape(16, -1)
    flat = branch.d.reshape(16, -1)
    dropped = np.all(np.abs(delta) < 1e-6, axis=1)
    kept = np.all(np.abs(delta - 2 * flat) < 1e-4, axis=1)
    assert np.all(dropped | kept) and dropped.any() and kept.any()
    block.training = False
    z = block(x)
    z.forward()
    assert not np.allclose(z.d, x.d)
