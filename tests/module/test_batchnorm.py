import nnabla as nn
import nnabla.functions as F
import nnabla.parametric_functions as PF
import numpy as np
import pytest

from nnabla_nas import module as Mo

EPS = 1e-5


def const(array):
    return nn.Variable.from_numpy_array(np.array(array, dtype=np.float32))


def randomized_bn(rng, n_features=3, n_dims=4, axes=(1,), **kwargs):
    bn = Mo.BatchNormalization(n_features, n_dims, axes=list(axes), **kwargs)
    for p in bn.get_parameters().values():
        p.d = rng.uniform(0.5, 1.5, p.shape)
    return bn


def reduce_axes(n_dims, axis):
    return tuple(i for i in range(n_dims) if i != axis)


@pytest.mark.parametrize(
    "shape, axis", [((4, 3, 2, 2), 1), ((6, 3), 1), ((2, 2, 2, 3), 3)], ids=["nchw", "nc", "nhwc"]
)
def test_training_uses_batch_statistics_and_updates_running_ones(shape, axis, rng, variable):
    n_dims, n_features = len(shape), shape[axis]
    bn = randomized_bn(rng, n_features, n_dims, axes=[axis])
    beta, gamma, mean0, var0 = (p.d.copy() for p in bn.get_parameters().values())
    x = variable(*shape)
    y = bn(x)
    y.forward()
    red = reduce_axes(n_dims, axis)
    n = int(np.prod([shape[i] for i in red]))
    mu, var = x.d.mean(red, keepdims=True), x.d.var(red, keepdims=True)
    np.testing.assert_allclose(
        y.d, (x.d - mu) / np.sqrt(var + EPS) * gamma + beta, rtol=1e-4, atol=1e-5
    )
    # Running variance is updated with the unbiased batch variance, as in nnabla.
    np.testing.assert_allclose(bn._mean.d, 0.9 * mean0 + 0.1 * mu, rtol=1e-5)
    np.testing.assert_allclose(bn._var.d, 0.9 * var0 + 0.1 * var * n / (n - 1), rtol=1e-5)
    y.forward()
    np.testing.assert_allclose(bn._mean.d, 0.81 * mean0 + 0.19 * mu, rtol=1e-5)


def test_training_matches_raw_batch_normalization(rng, variable):
    bn = randomized_bn(rng, decay_rate=0.7, eps=1e-3)
    raw = {k: const(p.d) for k, p in bn.get_parameters().items()}
    x = variable(4, 3, 2, 2)
    y = bn(x)
    ref = F.batch_normalization(
        x,
        raw["_beta"],
        raw["_gamma"],
        raw["_mean"],
        raw["_var"],
        axes=[1],
        decay_rate=0.7,
        eps=1e-3,
        batch_stat=True,
    )
    F.sink(y, ref).forward()
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn._mean.d, raw["_mean"].d, rtol=1e-6)
    np.testing.assert_allclose(bn._var.d, raw["_var"].d, rtol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_fresh_module_matches_parametric_batch_normalization(training, variable):
    bn = Mo.BatchNormalization(3, 4)
    bn.training = training
    x = variable(4, 3, 2, 2)
    y = bn(x)
    with nn.parameter_scope("reference"):
        ref = PF.batch_normalization(x, batch_stat=training)
        running = nn.get_parameters(grad_only=False)
    F.sink(y, ref).forward()
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn._mean.d, running["bn/mean"].d, rtol=1e-6)
    np.testing.assert_allclose(bn._var.d, running["bn/var"].d, rtol=1e-6)
    np.testing.assert_allclose(bn._mean.d != 0, np.full((1, 3, 1, 1), training))


def test_inference_uses_running_statistics(rng, variable):
    bn = randomized_bn(rng)
    bn.apply(training=False)
    before = {k: p.d.copy() for k, p in bn.get_parameters().items()}
    x = variable(4, 3, 2, 2)
    y = bn(x)
    y.forward()
    b = before
    expected = (x.d - b["_mean"]) / np.sqrt(b["_var"] + EPS) * b["_gamma"] + b["_beta"]
    np.testing.assert_allclose(y.d, expected, rtol=1e-5, atol=1e-5)
    for key, p in bn.get_parameters().items():
        np.testing.assert_array_equal(p.d, before[key])
    raw = {k: const(v) for k, v in before.items()}
    ref = F.batch_normalization(
        x, raw["_beta"], raw["_gamma"], raw["_mean"], raw["_var"], batch_stat=False
    )
    ref.forward()
    np.testing.assert_allclose(y.d, ref.d, rtol=1e-6, atol=1e-6)


def test_gradients_of_beta_and_gamma(rng, variable):
    bn = randomized_bn(rng)
    x = variable(4, 3, 2, 2)
    r = rng.standard_normal(x.shape).astype(np.float32)
    loss = F.sum(bn(x) * const(r))
    for p in bn.get_parameters().values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    red = (0, 2, 3)
    xhat = (x.d - x.d.mean(red, keepdims=True)) / np.sqrt(x.d.var(red, keepdims=True) + EPS)
    np.testing.assert_allclose(bn._beta.g, r.sum(red, keepdims=True), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        bn._gamma.g, (r * xhat).sum(red, keepdims=True), rtol=1e-4, atol=1e-4
    )


def test_parameters_shapes_and_need_grad():
    bn = Mo.BatchNormalization(5, 4)
    params = bn.get_parameters()
    assert list(params) == ["_beta", "_gamma", "_mean", "_var"]
    assert all(p.shape == (1, 5, 1, 1) for p in params.values())
    assert list(bn.get_parameters(grad_only=True)) == ["_beta", "_gamma"]
    for key, value in {"_beta": 0.0, "_gamma": 1.0, "_mean": 0.0, "_var": 1.0}.items():
        np.testing.assert_array_equal(params[key].d, value)
    assert Mo.BatchNormalization(2, 4, fix_parameters=True).get_parameters(grad_only=True) == {}
    assert Mo.BatchNormalization(5, 3, axes=[2])._beta.shape == (1, 1, 5)


def test_param_init():
    init = {"beta": 0.5, "gamma": np.full((1, 2), 3.0), "var": 4.0}
    bn = Mo.BatchNormalization(2, 2, param_init=init)
    np.testing.assert_array_equal(bn._beta.d, 0.5)
    np.testing.assert_array_equal(bn._gamma.d, 3.0)
    np.testing.assert_array_equal(bn._mean.d, 0.0)
    np.testing.assert_array_equal(bn._var.d, 4.0)


def test_output_stat_returns_batch_statistics(variable):
    bn = Mo.BatchNormalization(3, 2, output_stat=True)
    x = variable(8, 3)
    y, mean, var = bn(x)
    F.sink(y, mean, var).forward()
    np.testing.assert_allclose(mean.d.ravel(), x.d.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(var.d.ravel(), x.d.var(0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("axes", [[4], [0, 1], [-1]])
def test_rejects_bad_axes(axes):
    with pytest.raises(ValueError, match="axes must name one of 4 dims"):
        Mo.BatchNormalization(3, 4, axes=axes)


@pytest.mark.parametrize("shape", [(2, 4, 5, 5), (2, 3, 5), (2, 3)])
def test_rejects_bad_input(shape):
    bn = Mo.BatchNormalization(3, 4)
    with pytest.raises(
        ValueError,
        match=r"BatchNormalization\(n_features=3.* expects a 4-D input with 3 features on axis 1",
    ):
        bn(nn.Variable(shape))


def test_repr():
    assert repr(Mo.BatchNormalization(3, 4)) == (
        "BatchNormalization(n_features=3, n_dims=4, axes=[1], decay_rate=0.9, eps=1e-05)"
    )
