import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
from nnabla.initializer import ConstantInitializer, UniformInitializer

from nnabla_nas.module import Parameter


def test_is_a_variable_with_shape_and_need_grad():
    p = Parameter((2, 3))
    assert isinstance(p, nn.Variable)
    assert p.shape == (2, 3)
    assert p.need_grad is True
    assert Parameter([4], need_grad=False).need_grad is False


def test_none_initializer_gives_zeros():
    np.testing.assert_array_equal(Parameter((3, 2)).d, np.zeros((3, 2)))


@pytest.mark.parametrize("value", [2.5, 3, np.float32(-1.5), np.float64(0.25)])
def test_number_initializer_fills(value):
    p = Parameter((2, 2), initializer=value)
    np.testing.assert_array_equal(p.d, np.full((2, 2), value, dtype=np.float32))


def test_array_initializer_is_copied():
    value = np.arange(6, dtype=np.float64).reshape(2, 3)
    p = Parameter((2, 3), initializer=value)
    assert p.d.dtype == np.float32
    np.testing.assert_array_equal(p.d, value)
    value[0, 0] = 100.0
    assert p.d[0, 0] == 0.0


def test_nested_list_initializer():
    np.testing.assert_array_equal(Parameter((2,), initializer=[1.0, 2.0]).d, [1.0, 2.0])


def test_nnabla_initializers():
    np.testing.assert_array_equal(Parameter((4,), initializer=ConstantInitializer(7.0)).d, 7.0)
    init = UniformInitializer((-0.5, 0.5), rng=np.random.RandomState(3))
    p = Parameter((50, 4), initializer=init)
    assert p.shape == (50, 4)
    assert -0.5 <= p.d.min() < p.d.max() <= 0.5
    again = UniformInitializer((-0.5, 0.5), rng=np.random.RandomState(3))
    np.testing.assert_array_equal(p.d, again((50, 4)))


def test_callable_initializer_receives_the_shape():
    seen = []

    def init(shape):
        seen.append(shape)
        return np.ones(shape)

    Parameter((3, 1), initializer=init)
    assert seen == [(3, 1)]


@pytest.mark.parametrize(
    "initializer",
    [np.zeros((3, 2)), np.zeros(6), lambda shape: np.zeros((1, *shape)), [1.0, 2.0, 3.0]],
)
def test_initializer_of_wrong_shape_raises(initializer):
    with pytest.raises(ValueError, match=r"shape \(2, 3\)"):
        Parameter((2, 3), initializer=initializer)


def test_repr():
    assert repr(Parameter((2, 1), need_grad=False)) == "Parameter(shape=(2, 1), need_grad=False)"


def test_gradient_flows_into_a_parameter():
    p = Parameter((3,), initializer=np.array([1.0, -2.0, 3.0]))
    loss = F.sum(F.pow_scalar(p, 2.0))
    loss.forward()
    p.grad.zero()
    loss.backward()
    np.testing.assert_allclose(loss.d, 14.0)
    np.testing.assert_allclose(p.g, [2.0, -4.0, 6.0])
