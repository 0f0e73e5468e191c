import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo

CASES = {
    "relu": (Mo.ReLU(), F.relu, lambda x: np.maximum(x, 0)),
    "relu-inplace": (Mo.ReLU(inplace=True), F.relu, lambda x: np.maximum(x, 0)),
    "relu6": (Mo.ReLU6(), F.relu6, lambda x: np.clip(x, 0, 6)),
    "leaky": (
        Mo.LeakyReLU(),
        lambda x: F.leaky_relu(x, 0.1),
        lambda x: np.where(x > 0, x, 0.1 * x),
    ),
    "leaky-0.3": (
        Mo.LeakyReLU(alpha=0.3),
        lambda x: F.leaky_relu(x, alpha=0.3),
        lambda x: np.where(x > 0, x, 0.3 * x),
    ),
}


@pytest.mark.parametrize("module, raw, reference", CASES.values(), ids=CASES.keys())
def test_matches_raw_nnabla_and_numpy(module, raw, reference, rng):
    data = (4 * rng.standard_normal((2, 3, 4, 4))).astype(np.float32)
    data[0, 0, 0, :2] = [7.0, -7.0]
    x = nn.Variable.from_numpy_array(data)
    y, ref = module(x), raw(x)
    F.sink(y, ref).forward()
    assert y.shape == x.shape
    np.testing.assert_array_equal(y.d, ref.d)
    np.testing.assert_allclose(y.d, reference(data), rtol=1e-6)
    assert module.get_parameters() == {}


def test_relu6_gradient(variable):
    x = variable(3, 4, need_grad=True)
    x.d = np.array([[-1.0, 0.5, 5.0, 8.0]] * 3)
    y = F.sum(Mo.ReLU6()(x))
    x.grad.zero()
    y.forward()
    y.backward()
    np.testing.assert_array_equal(x.g, [[0.0, 1.0, 1.0, 0.0]] * 3)


def test_repr():
    assert repr(Mo.ReLU()) == "ReLU(inplace=False)"
    assert repr(Mo.ReLU6()) == "ReLU6()"
    assert repr(Mo.LeakyReLU(0.2, inplace=True)) == "LeakyReLU(alpha=0.2, inplace=True)"


def hard_sigmoid(x):
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


@pytest.mark.parametrize(
    "module, reference",
    [(Mo.Hsigmoid(), hard_sigmoid), (Mo.Hswish(), lambda x: x * hard_sigmoid(x))],
    ids=["hsigmoid", "hswish"],
)
def test_hard_activations_match_mobilenet_v3(module, reference, variable):
    x = variable(2, 3, 4, 4)
    x.d[0, 0, 0, :4] = [-5.0, -3.0, 3.0, 5.0]  # both flat parts and both corners
    y = module(x)
    y.forward()
    np.testing.assert_allclose(y.d, reference(x.d), rtol=1e-6, atol=1e-7)
    assert module.get_parameters() == {}
    # Not nnabla's hard_sigmoid, whose slope is 0.2: at x = 2 it gives 0.9, this 5/6.
    two = Mo.Hsigmoid()(nn.Variable.from_numpy_array(np.float32([2.0])))
    two.forward()
    assert two.d[0] == pytest.approx(5 / 6)


def test_hswish_gradient():
    x = nn.Variable.from_numpy_array(np.float32([-4.0, -1.5, 0.0, 1.5, 4.0]), need_grad=True)
    y = F.sum(Mo.Hswish()(x))
    x.grad.zero()
    y.forward()
    y.backward()
    # d/dx x (x + 3) / 6 = (2x + 3) / 6 on (-3, 3); 0 below, 1 above.
    np.testing.assert_allclose(x.g, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-6)
