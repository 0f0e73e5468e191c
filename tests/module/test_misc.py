import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo


def ones(*shape):
    return nn.Variable.from_numpy_array(np.ones(shape, dtype=np.float32), need_grad=True)


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_dropout_in_training_zeroes_about_p_and_rescales(p):
    drop = Mo.Dropout(p)
    assert drop.training
    x = ones(200, 100)
    y = drop(x)
    loss = F.sum(y)
    x.grad.zero()
    loss.forward()
    loss.backward()
    zeros = y.d == 0
    assert abs(zeros.mean() - p) < 0.02
    np.testing.assert_allclose(y.d[~zeros], 1.0 / (1.0 - p), rtol=1e-6)
    np.testing.assert_allclose(x.g, y.d, rtol=1e-6)


def test_dropout_is_identity_in_inference(variable):
    drop = Mo.Dropout(0.5)
    drop.apply(training=False)
    x = variable(4, 5)
    y = drop(x)
    assert y is x
    assert Mo.Dropout(0.0)(x) is x


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_rejects_bad_probability(p):
    with pytest.raises(ValueError, match=r"drop_prob must lie in \[0, 1\)"):
        Mo.Dropout(p)


def test_dropout_repr_and_no_parameters():
    assert repr(Mo.Dropout(0.2)) == "Dropout(drop_prob=0.2)"
    assert Mo.Dropout().get_parameters() == {}


def test_identity(variable):
    x = variable(2, 3)
    ident = Mo.Identity()
    assert ident(x) is x
    assert ident.input_shapes == [(2, 3)]
    assert ident.get_parameters() == {}


@pytest.mark.parametrize(
    "stride, shape, out_shape",
    [
        ((1, 1), (2, 3, 5, 5), (2, 3, 5, 5)),
        ((2, 2), (2, 3, 5, 5), (2, 3, 3, 3)),
        ((2, 2), (2, 3, 4, 6), (2, 3, 2, 3)),
        ((1, 2), (1, 2, 3, 3), (1, 2, 3, 2)),
    ],
)
def test_zero(stride, shape, out_shape, variable):
    x = variable(*shape, need_grad=True)
    y = Mo.Zero(stride)(x)
    loss = F.sum(y)
    x.grad.fill(1.0)
    loss.forward()
    loss.backward()
    assert y.shape == out_shape
    np.testing.assert_array_equal(y.d, np.zeros(out_shape))
    np.testing.assert_array_equal(x.g, 1.0)


@pytest.mark.parametrize("size", [4, 5, 7])
def test_strided_zero_matches_strided_conv_and_pool_shapes(size):
    x = nn.Variable((1, 3, size, size))
    shapes = {
        op(x).shape
        for op in (
            Mo.Zero((2, 2)),
            Mo.Conv(3, 3, (3, 3), pad=(1, 1), stride=(2, 2)),
            Mo.MaxPool((3, 3), (2, 2), (1, 1)),
            Mo.DwConv(3, (5, 5), pad=(2, 2), stride=(2, 2)),
        )
    }
    assert len(shapes) == 1


def test_zero_repr():
    assert repr(Mo.Zero()) == "Zero(stride=(1, 1))"


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_merging_concat(axis, variable):
    a, b, c = variable(2, 3, 4), variable(2, 3, 4), variable(2, 3, 4)
    y = Mo.Merging("concat", axis=axis)(a, b, c)
    ref = F.concatenate(a, b, c, axis=axis)
    F.sink(y, ref).forward()
    np.testing.assert_array_equal(y.d, np.concatenate([a.d, b.d, c.d], axis=axis))
    np.testing.assert_array_equal(y.d, ref.d)


def test_merging_concat_of_different_widths(variable):
    a, b = variable(2, 1, 3), variable(2, 4, 3)
    y = Mo.Merging()(a, b)
    y.forward()
    assert y.shape == (2, 5, 3)
    np.testing.assert_array_equal(y.d[:, 1:], b.d)


def test_merging_add(variable):
    a, b, c = variable(2, 3), variable(2, 3), variable(2, 3)
    y = Mo.Merging("add")(a, b, c)
    y.forward()
    np.testing.assert_allclose(y.d, a.d + b.d + c.d, rtol=1e-6)


@pytest.mark.parametrize(
    "mode, shapes, message",
    [
        (
            "add",
            [(2, 3), (2, 4)],
            r"Merging\(mode='add'\) needs inputs of one shape, got \[\(2, 3\), \(2, 4\)\]",
        ),
        (
            "concat",
            [(2, 3, 4), (2, 4, 5)],
            r"Merging\(mode='concat', axis=1\) needs inputs that differ only on axis 1",
        ),
        ("concat", [(2, 3, 4), (2, 3)], r"differ only on axis 1, got \[\(2, 3, 4\), \(2, 3\)\]"),
    ],
)
def test_merging_rejects_mismatched_shapes(mode, shapes, message):
    merge = Mo.Merging(mode)
    with pytest.raises(ValueError, match=message):
        merge(*(nn.Variable(s) for s in shapes))


def test_merging_rejects_unknown_mode_and_no_input():
    with pytest.raises(ValueError, match="unknown mode 'mul'"):
        Mo.Merging("mul")
    with pytest.raises(ValueError, match="at least one input"):
        Mo.Merging()()


def test_lambda(variable):
    x, z = variable(2, 3), variable(2, 3)
    tanh = Mo.Lambda(F.tanh)
    y = tanh(x)
    s = Mo.Lambda(lambda u, v: F.add2(u, v))(x, z)
    F.sink(y, s).forward()
    np.testing.assert_allclose(y.d, np.tanh(x.d), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(s.d, x.d + z.d, rtol=1e-6)
    assert repr(tanh) == "Lambda(tanh)"
    assert tanh.get_parameters() == {}


def _bilinear_half_pixel(image, side):
    """Bilinear resize of a 2-D array to `side` x `side` sampling pixel centres, by hand."""
    n = image.shape[0]

    def weights(m):
        pos = np.clip((np.arange(m) + 0.5) * n / m - 0.5, 0, n - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        w = np.zeros((m, n))
        w[np.arange(m), lo] += 1 - (pos - lo)
        w[np.arange(m), hi] += pos - lo
        return w

    w = weights(side)
    return w @ image @ w.T


@pytest.mark.parametrize("side", [6, 5, 11])
def test_resize_is_bilinear_at_pixel_centres(side):
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    y = Mo.Resize(side)(nn.Variable.from_numpy_array(x))
    y.forward()
    assert y.shape == (2, 3, side, side)
    for n in range(2):
        for c in range(3):
            np.testing.assert_allclose(y.d[n, c], _bilinear_half_pixel(x[n, c], side), atol=1e-5)


def test_resize_passes_an_input_of_its_side_or_without_a_size_through():
    x = nn.Variable((1, 1, 8, 8))
    assert Mo.Resize(8)(x) is x and Mo.Resize(None)(x) is x
    r = Mo.Resize(None)
    r.size = 4
    assert r(x).shape == (1, 1, 4, 4) and repr(r) == "Resize(size=4, mode='linear')"
    assert not r.get_parameters()


def test_resize_counts_its_flops_and_refuses_bad_input():
    assert Mo.Resize(4).flops([(1, 3, 8, 8)]) == 7 * 3 * 16
    assert Mo.Resize(8).flops([(1, 3, 8, 8)]) == 0 == Mo.Resize(4, "nearest").flops([(1, 3, 8, 8)])
    with pytest.raises(ValueError, match="size must be a positive int or None, got 0"):
        Mo.Resize(0)
    with pytest.raises(ValueError, match="unknown mode 'cubic'"):
        Mo.Resize(4, "cubic")
    with pytest.raises(ValueError, match=r"takes images \(N, C, H, W\), got shape \(2, 8\)"):
        Mo.Resize(4)(nn.Variable((2, 8)))
