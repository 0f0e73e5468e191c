"""Graph noise: drawn by whoever runs the graph, from an explicit generator."""

import nnabla as nn
import nnabla.functions as F
import numpy as np

from nnabla_nas import module as Mo


def ones(*shape):
    return nn.Variable.from_numpy_array(np.ones(shape, np.float32))


def test_noise_inputs_are_recorded_and_filled_from_the_generator():
    with Mo.collect_noise() as noise:
        u = Mo.uniform((3, 4))
        v = Mo.uniform((2,))
    assert noise.variables == [u, v] and u.parent is None
    noise.fill(np.random.default_rng(5))
    expected = np.random.default_rng(5)
    np.testing.assert_array_equal(u.d, expected.random((3, 4), dtype=np.float32))
    np.testing.assert_array_equal(v.d, expected.random((2,), dtype=np.float32))


def test_outside_a_block_noise_is_nnablas_own():
    u = Mo.uniform((1000,))
    assert u.parent is not None and u.parent.info.type_name == "Rand"
    u.forward()
    first = u.d.copy()
    u.forward()
    assert first.min() >= 0.0 and first.max() < 1.0 and not np.array_equal(first, u.d)


def test_drop_path_drops_whole_samples_as_the_noise_says():
    drop = Mo.DropPath(0.5)
    with Mo.collect_noise() as noise:
        y = drop(ones(6, 2, 3, 3))
    (u,) = noise.variables
    assert u.shape == (6, 1, 1, 1)
    u.d = np.array([0.1, 0.6, 0.5, 0.9, 0.2, 0.7]).reshape(6, 1, 1, 1)
    y.forward()
    np.testing.assert_array_equal(y.d[:, 0, 0, 0], [0.0, 2.0, 2.0, 2.0, 0.0, 2.0])
    assert (y.d == y.d[:, :1, :1, :1]).all()
    drop.training = False
    assert drop(ones(6, 2, 3, 3)).parent is None  # the identity in inference mode


def test_dropout_keeps_elements_with_the_expected_rate_and_scale():
    drop = Mo.Dropout(0.25)
    x = ones(200, 50)
    with Mo.collect_noise() as noise:
        y = drop(x)
    noise.fill(np.random.default_rng(0))
    y.forward()
    kept = y.d != 0
    np.testing.assert_array_equal(kept, noise.variables[0].d >= 0.25)
    np.testing.assert_allclose(y.d[kept], 1 / 0.75, rtol=1e-6)
    assert abs(kept.mean() - 0.75) < 0.01
    same = Mo.Dropout(0.25)
    with Mo.collect_noise() as again:
        z = same(x)
    again.fill(np.random.default_rng(0))
    F.identity(z).forward()
    np.testing.assert_array_equal(z.d, y.d)
