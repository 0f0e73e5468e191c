import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo


def test_squeezed_width_follows_mobilenet_v3_rounding():
    assert Mo.SqueezeExcitation(32).squeeze_channels == 8
    assert Mo.SqueezeExcitation(72).squeeze_channels == 24  # 18 rounds up to 24 (90% rule)
    assert Mo.SqueezeExcitation(40, reduction=4, divisor=1).squeeze_channels == 10
    assert [Mo.make_divisible(c) for c in (4, 18, 20, 100)] == [8, 24, 24, 104]


def test_output_matches_a_numpy_computation(rng):
    se = Mo.SqueezeExcitation(6, reduction=2, divisor=1, rng=np.random.RandomState(0))
    params = se.get_parameters()
    assert list(params) == ["_reduce/_W", "_reduce/_b", "_expand/_W", "_expand/_b"]
    assert params["_reduce/_W"].shape == (3, 6, 1, 1)
    data = rng.standard_normal((2, 6, 5, 5)).astype(np.float32)
    y = se(nn.Variable.from_numpy_array(data))
    y.forward()
    w1, b1 = params["_reduce/_W"].d[:, :, 0, 0], params["_reduce/_b"].d
    w2, b2 = params["_expand/_W"].d[:, :, 0, 0], params["_expand/_b"].d
    mean = data.mean(axis=(2, 3))  # (2, 6)
    hidden = np.maximum(mean @ w1.T + b1, 0)
    gate = np.clip(hidden @ w2.T + b2 + 3, 0, 6) / 6
    np.testing.assert_allclose(y.d, data * gate[:, :, None, None], rtol=1e-5, atol=1e-6)


def test_a_custom_gate_and_gradients_reach_every_weight(variable):
    se = Mo.SqueezeExcitation(4, divisor=1, gate=Mo.Lambda(F.sigmoid))
    x = variable(2, 4, 3, 3, need_grad=True)
    loss = F.sum(se(x) ** 2)
    for p in [x, *se.get_parameters().values()]:
        p.grad.zero()
    loss.forward()
    loss.backward()
    assert all(np.abs(p.g).sum() > 0 for p in [x, *se.get_parameters().values()])


@pytest.mark.parametrize("kwargs", [{"channels": 0}, {"channels": 4, "reduction": 0}])
def test_bad_sizes_are_clear_errors(kwargs):
    with pytest.raises(ValueError, match="SqueezeExcitation: channels and divisor"):
        Mo.SqueezeExcitation(**kwargs)
