import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo


def const(array):
    return nn.Variable.from_numpy_array(np.array(array, dtype=np.float32))


@pytest.mark.parametrize(
    "shape, base_axis, in_features, out_shape",
    [
        ((4, 6), 1, 6, (4, 5)),
        ((2, 3, 2, 2), 1, 12, (2, 5)),
        ((2, 3, 4), 2, 4, (2, 3, 5)),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_affine_and_numpy(shape, base_axis, in_features, out_shape, bias, variable):
    lin = Mo.Linear(in_features, 5, base_axis=base_axis, bias=bias)
    assert lin._W.shape == (in_features, 5)
    x = variable(*shape)
    y = lin(x)
    b = const(lin._b.d) if bias else None
    ref = F.affine(x, const(lin._W.d), b, base_axis=base_axis)
    F.sink(y, ref).forward()
    assert y.shape == ref.shape == out_shape
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-6)
    flat = x.d.reshape(*shape[:base_axis], in_features)
    expected = flat @ lin._W.d + (lin._b.d if bias else 0.0)
    np.testing.assert_allclose(y.d, expected, rtol=1e-5, atol=1e-5)


def test_linear_parameters_and_initialization():
    lin = Mo.Linear(6, 4)
    assert list(lin.get_parameters(grad_only=True)) == ["_W", "_b"]
    assert np.abs(lin._W.d).max() <= np.sqrt(6.0 / 10) and lin._W.d.std() > 0
    np.testing.assert_array_equal(lin._b.d, 0.0)
    assert list(Mo.Linear(6, 4, bias=False).get_parameters()) == ["_W"]
    same = [Mo.Linear(3, 3, rng=np.random.RandomState(1))._W.d for _ in range(2)]
    np.testing.assert_array_equal(*same)
    custom = Mo.Linear(2, 2, w_init=np.eye(2), b_init=1.0)
    np.testing.assert_array_equal(custom._W.d, np.eye(2))
    np.testing.assert_array_equal(custom._b.d, [1.0, 1.0])


def test_linear_gradient(variable):
    lin = Mo.Linear(3, 2)
    x = variable(4, 3)
    loss = F.sum(lin(x))
    for p in lin.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    np.testing.assert_allclose(lin._W.g, np.repeat(x.d.sum(0)[:, None], 2, axis=1), rtol=1e-5)
    np.testing.assert_allclose(lin._b.g, [4.0, 4.0])


@pytest.mark.parametrize(
    "shape, base_axis", [((2, 5), 1), ((2, 3, 5), 1), ((2, 12), 2), ((12,), 1)]
)
def test_linear_rejects_wrong_feature_count(shape, base_axis):
    lin = Mo.Linear(12, 3, base_axis=base_axis)
    with pytest.raises(
        ValueError, match=r"Linear\(in_features=12.* hold 12 features, got input of shape"
    ):
        lin(nn.Variable(shape))
