import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.module import pooling

POOL_CASES = {
    "k2": (dict(kernel=(2, 2)), (2, 3, 6, 6)),
    "k3-s1-p1": (dict(kernel=(3, 3), stride=(1, 1), pad=(1, 1)), (2, 3, 5, 5)),
    "k3-s2-p1": (dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1)), (1, 2, 7, 7)),
    "rect": (dict(kernel=(1, 3), stride=(1, 2)), (1, 2, 4, 7)),
    "3d": (dict(kernel=(2, 2, 2), stride=(1, 2, 2), pad=(1, 0, 0)), (1, 2, 3, 4, 4)),
}


def expected_shape(shape, kernel, stride=None, pad=None):
    stride = stride or kernel
    pad = pad or (0,) * len(kernel)
    k = len(kernel)
    spatial = [
        (s + 2 * p - kk) // st + 1
        for s, kk, st, p in zip(shape[-k:], kernel, stride, pad, strict=True)
    ]
    return (*shape[:-k], *spatial)


def raw_pool(mode, x, kernel, stride=None, pad=None, including_pad=True):
    if mode == "max":
        return F.max_pooling(x, kernel, stride, True, pad)
    return F.average_pooling(x, kernel, stride, True, pad, including_pad=including_pad)


MODES = {
    "max": (Mo.MaxPool, "max", {}),
    "avg": (Mo.AvgPool, "avg", {}),
    "avg-excluding-pad": (Mo.AvgPool, "avg", {"including_pad": False}),
}


@pytest.mark.parametrize("cls, mode, extra", MODES.values(), ids=MODES.keys())
@pytest.mark.parametrize("kwargs, shape", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pooling_matches_raw_nnabla(cls, mode, extra, kwargs, shape, variable):
    pool = cls(**kwargs, **extra)
    x = variable(*shape)
    y, ref = pool(x), raw_pool(mode, x, **kwargs, **extra)
    F.sink(y, ref).forward()
    assert y.shape == ref.shape == expected_shape(shape, **kwargs)
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-6, atol=1e-6)


def test_avg_pool_padding_modes_by_hand():
    x = nn.Variable.from_numpy_array(np.ones((1, 1, 3, 3), dtype=np.float32))
    with_pad = Mo.AvgPool((3, 3), (1, 1), (1, 1))(x)
    without = Mo.AvgPool((3, 3), (1, 1), (1, 1), including_pad=False)(x)
    F.sink(with_pad, without).forward()
    np.testing.assert_allclose(
        with_pad.d[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9.0, rtol=1e-6
    )
    np.testing.assert_allclose(without.d, 1.0, rtol=1e-6)


def test_max_pool_by_hand():
    data = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    y = Mo.MaxPool((2, 2))(nn.Variable.from_numpy_array(data))
    y.forward()
    np.testing.assert_array_equal(y.d[0, 0], [[5, 7], [13, 15]])


def test_positional_arguments_are_kernel_stride_pad():
    pool = Mo.MaxPool((3, 3), (1, 2), (1, 0))
    assert repr(pool) == "MaxPool(kernel=(3, 3), stride=(1, 2), pad=(1, 0))"
    assert repr(Mo.AvgPool((2, 2))) == (
        "AvgPool(kernel=(2, 2), stride=(2, 2), pad=(0, 0), including_pad=True)"
    )
    with pytest.raises(TypeError):
        Mo.AvgPool((2, 2), None, None, False, False)


@pytest.mark.parametrize("cls, mode, extra", MODES.values(), ids=MODES.keys())
def test_channel_last_matches_channel_first(cls, mode, extra, variable):
    pool = cls((3, 3), (2, 2), (1, 1), channel_last=True, **extra)
    x = variable(2, 5, 5, 3, need_grad=True)
    y = pool(x)
    assert y.shape == (2, 3, 3, 3)
    x_ref = nn.Variable.from_numpy_array(x.d.transpose(0, 3, 1, 2).copy(), need_grad=True)
    ref = raw_pool(mode, x_ref, (3, 3), (2, 2), (1, 1), **extra)
    F.sink(y, ref).forward()
    np.testing.assert_allclose(y.d, ref.d.transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-6)
    x.grad.zero()
    x_ref.grad.zero()
    y.backward(np.ones(y.shape, dtype=np.float32))
    ref.backward(np.ones(ref.shape, dtype=np.float32))
    np.testing.assert_allclose(x.g, x_ref.g.transpose(0, 2, 3, 1), rtol=1e-6, atol=1e-6)


def test_channel_last_is_native_under_cudnn(monkeypatch):
    monkeypatch.setattr(pooling, "native_channel_last", lambda: True)
    y = Mo.MaxPool((2, 2), channel_last=True)(nn.Variable((2, 4, 4, 3)))
    assert y.parent.info.type_name == "MaxPooling"
    assert y.parent.info.args["channel_last"] is True
    assert y.shape == (2, 2, 2, 3)


@pytest.mark.parametrize("cls", [Mo.MaxPool, Mo.AvgPool])
def test_pooling_rejects_too_few_dims(cls):
    with pytest.raises(
        ValueError,
        match=r"Pool\(kernel=\(2, 2\).* pools the last 2 dims.* got input of shape \(4, 4\)",
    ):
        cls((2, 2))(nn.Variable((4, 4)))


def test_global_avg_pool(variable):
    x = variable(2, 3, 4, 5)
    y = Mo.GlobalAvgPool()(x)
    ref = F.global_average_pooling(x)
    F.sink(y, ref).forward()
    assert y.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(y.d, x.d.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(y.d, ref.d)


def test_global_avg_pool_rejects_flat_input():
    with pytest.raises(
        ValueError, match=r"GlobalAvgPool expects \(N, C, spatial...\) input, got \(2, 3\)"
    ):
        Mo.GlobalAvgPool()(nn.Variable((2, 3)))
