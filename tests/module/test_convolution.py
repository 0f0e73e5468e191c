import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.module import convolution


def const(array):
    """A raw nnabla variable holding a copy of `array`."""
    return nn.Variable.from_numpy_array(np.array(array, dtype=np.float32))


def out_size(size, kernel, pad=0, stride=1, dilation=1):
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


CONV_CASES = {
    "plain": (dict(in_channels=3, out_channels=4, kernel=(3, 3)), (2, 3, 6, 6)),
    "pad-stride": (
        dict(in_channels=3, out_channels=2, kernel=(3, 3), pad=(1, 1), stride=(2, 2)),
        (2, 3, 7, 7),
    ),
    "dilation": (
        dict(in_channels=2, out_channels=3, kernel=(3, 3), pad=(2, 2), dilation=(2, 2)),
        (1, 2, 7, 7),
    ),
    "group": (
        dict(in_channels=4, out_channels=6, kernel=(3, 3), pad=(1, 1), group=2),
        (2, 4, 5, 5),
    ),
    "no-bias": (dict(in_channels=3, out_channels=4, kernel=(1, 1), with_bias=False), (2, 3, 4, 4)),
    "rect": (
        dict(in_channels=2, out_channels=2, kernel=(1, 3), pad=(0, 1), stride=(2, 1)),
        (1, 2, 5, 6),
    ),
    "1d": (dict(in_channels=3, out_channels=2, kernel=(3,), stride=(2,)), (2, 3, 9)),
    "base-axis": (dict(in_channels=4, out_channels=2, kernel=(3, 3), base_axis=2), (2, 3, 4, 5, 5)),
}


@pytest.mark.parametrize("kwargs, shape", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_matches_raw_nnabla(kwargs, shape, variable):
    conv = Mo.Conv(**kwargs)
    x = variable(*shape)
    y = conv(x)
    b = None if conv._b is None else const(conv._b.d)
    keys = ("pad", "stride", "dilation", "group", "base_axis")
    ref = F.convolution(x, const(conv._W.d), b, **{k: kwargs[k] for k in keys if k in kwargs})
    F.sink(y, ref).forward()
    assert y.shape == ref.shape
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-5)
    base = kwargs.get("base_axis", 1)
    spatial = tuple(
        out_size(
            shape[base + 1 + i],
            k,
            kwargs.get("pad", (0,) * 3)[i],
            kwargs.get("stride", (1,) * 3)[i],
            kwargs.get("dilation", (1,) * 3)[i],
        )
        for i, k in enumerate(kwargs["kernel"])
    )
    assert y.shape == (*shape[:base], kwargs["out_channels"], *spatial)


def test_conv_parameter_shapes():
    conv = Mo.Conv(4, 6, (3, 5), group=2)
    assert list(conv.get_parameters()) == ["_W", "_b"]
    assert conv._W.shape == (6, 2, 3, 5) and conv._b.shape == (6,)
    assert list(Mo.Conv(4, 6, (3, 3), with_bias=False).get_parameters()) == ["_W"]
    assert Mo.Conv(4, 6, (3, 5), group=2, channel_last=True)._W.shape == (6, 3, 5, 2)


def test_conv_default_initialization():
    conv = Mo.Conv(4, 8, (3, 3))
    lim = np.sqrt(6.0 / (4 * 9 + 8 * 9))
    assert np.abs(conv._W.d).max() <= lim and conv._W.d.std() > lim / 4
    np.testing.assert_array_equal(conv._b.d, 0.0)
    same = [Mo.Conv(2, 2, (3, 3), rng=np.random.RandomState(7))._W.d for _ in range(2)]
    np.testing.assert_array_equal(*same)


def test_conv_custom_initializers():
    conv = Mo.Conv(1, 2, (1, 1), w_init=np.array([[[[1.0]]], [[[2.0]]]]), b_init=0.5)
    np.testing.assert_array_equal(conv._W.d.ravel(), [1.0, 2.0])
    np.testing.assert_array_equal(conv._b.d, [0.5, 0.5])


def test_fix_parameters():
    conv = Mo.Conv(2, 2, (1, 1), fix_parameters=True)
    assert not conv._W.need_grad and not conv._b.need_grad
    assert conv.get_parameters(grad_only=True) == {}
    assert len(conv.get_parameters()) == 2


def test_conv_channel_last_matches_channel_first(variable):
    conv = Mo.Conv(4, 6, (3, 3), pad=(1, 1), stride=(2, 2), group=2, channel_last=True)
    x = variable(2, 5, 5, 4, need_grad=True)
    y = conv(x)
    assert y.shape == (2, 3, 3, 6)
    x_ref = nn.Variable.from_numpy_array(x.d.transpose(0, 3, 1, 2).copy(), need_grad=True)
    w_ref = nn.Variable.from_numpy_array(conv._W.d.transpose(0, 3, 1, 2).copy(), need_grad=True)
    ref = F.convolution(x_ref, w_ref, const(conv._b.d), pad=(1, 1), stride=(2, 2), group=2)
    for v in (x, conv._W, x_ref, w_ref):
        v.grad.zero()
    F.sink(y, ref).forward()
    np.testing.assert_allclose(y.d, ref.d.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    seed = np.ones(y.shape, dtype=np.float32)
    y.backward(seed)
    ref.backward(seed.transpose(0, 3, 1, 2).copy())
    np.testing.assert_allclose(conv._W.g, w_ref.g.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x.g, x_ref.g.transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)


def test_conv_channel_last_is_native_under_cudnn(monkeypatch):
    monkeypatch.setattr(convolution, "native_channel_last", lambda: True)
    conv = Mo.Conv(4, 6, (3, 3), pad=(1, 1), stride=(2, 2), channel_last=True)
    y = conv(nn.Variable((2, 5, 5, 4)))
    assert y.parent.info.type_name == "Convolution"
    assert y.parent.info.args["channel_last"] is True
    assert y.shape == (2, 3, 3, 6)


@pytest.mark.parametrize(
    "kwargs, shape, layout",
    [
        (dict(), (2, 3, 5), r"\(N, 3, D0, D1\)"),
        (dict(), (2, 4, 5, 5), r"\(N, 3, D0, D1\)"),
        (dict(channel_last=True), (2, 5, 5, 4), r"\(N, D0, D1, 3\)"),
        (dict(channel_last=True), (2, 3, 5, 5), r"\(N, D0, D1, 3\)"),
        (dict(base_axis=2), (2, 3, 5, 5), r"\(N, N, 3, D0, D1\)"),
    ],
)
def test_conv_rejects_bad_input(kwargs, shape, layout):
    conv = Mo.Conv(3, 4, (3, 3), **kwargs)
    with pytest.raises(ValueError, match=rf"Conv\(in_channels=3.* expects input of shape {layout}"):
        conv(nn.Variable(shape))


def test_conv_rejects_indivisible_group():
    with pytest.raises(ValueError, match=r"divisible by group \(2\)"):
        Mo.Conv(3, 4, (3, 3), group=2)


DW_CASES = {
    "plain": (dict(in_channels=3, kernel=(3, 3), pad=(1, 1)), (2, 3, 5, 5)),
    "multiplier": (dict(in_channels=2, kernel=(3, 3), multiplier=2), (2, 2, 6, 6)),
    "stride-dilation": (
        dict(in_channels=3, kernel=(3, 3), pad=(2, 2), stride=(2, 2), dilation=(2, 2)),
        (1, 3, 7, 7),
    ),
    "no-bias": (dict(in_channels=3, kernel=(5, 5), pad=(2, 2), with_bias=False), (2, 3, 5, 5)),
}


@pytest.mark.parametrize("kwargs, shape", DW_CASES.values(), ids=DW_CASES.keys())
def test_dwconv_matches_raw_nnabla(kwargs, shape, variable):
    conv = Mo.DwConv(**kwargs)
    multiplier = kwargs.get("multiplier", 1)
    channels = kwargs["in_channels"] * multiplier
    assert conv._W.shape == (channels, *kwargs["kernel"])
    x = variable(*shape)
    y = conv(x)
    b = None if conv._b is None else const(conv._b.d)
    keys = ("pad", "stride", "dilation", "multiplier")
    ref = F.depthwise_convolution(
        x, const(conv._W.d), b, **{k: kwargs[k] for k in keys if k in kwargs}
    )
    F.sink(y, ref).forward()
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-5)
    spatial = tuple(
        out_size(
            shape[2 + i],
            k,
            kwargs.get("pad", (0, 0))[i],
            kwargs.get("stride", (1, 1))[i],
            kwargs.get("dilation", (1, 1))[i],
        )
        for i, k in enumerate(kwargs["kernel"])
    )
    assert y.shape == (shape[0], channels, *spatial)


def test_dwconv_is_a_per_channel_convolution(variable):
    dw = Mo.DwConv(3, (3, 3), pad=(1, 1))
    x = variable(1, 3, 4, 4)
    y = dw(x)
    full = F.convolution(x, const(dw._W.d[:, None]), const(dw._b.d), pad=(1, 1), group=3)
    F.sink(y, full).forward()
    np.testing.assert_allclose(y.d, full.d, rtol=1e-5, atol=1e-5)


def test_dwconv_rejects_bad_input():
    with pytest.raises(
        ValueError,
        match=r"DwConv\(in_channels=3.* expects input of shape \(N, 3, D0, D1\), "
        r"got \(2, 4, 5, 5\)",
    ):
        Mo.DwConv(3, (3, 3))(nn.Variable((2, 4, 5, 5)))
