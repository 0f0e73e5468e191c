import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.estimator import FLOPsEstimator

from .helpers import (
    ALPHA,
    CANDIDATE_FLOPS,
    HEAD_FLOPS,
    STEM_FLOPS,
    Tiny,
    assert_unchanged,
    snapshot,
    softmax,
)

FIXED = STEM_FLOPS + HEAD_FLOPS


def test_docstring_example():
    net = Mo.Sequential(Mo.Conv(1, 2, (3, 3), pad=(1, 1)), Mo.ReLU())
    net(nn.Variable((1, 1, 4, 4)))
    assert FLOPsEstimator().cost(net) == 640.0


@pytest.mark.parametrize("mode", ["full", "sample", "max"])
def test_expected_value_and_gradient_match_numpy(mode):
    model = Tiny(mode)
    model(nn.Variable((1, 1, 4, 4)))
    out = FLOPsEstimator().expected(model)
    out.forward()
    s = softmax(ALPHA)
    np.testing.assert_allclose(out.d.item(), FIXED + s @ CANDIDATE_FLOPS, rtol=1e-6)
    alpha = model._mixed.alpha
    alpha.g = 0.0
    out.backward()
    grad = s * (CANDIDATE_FLOPS - s @ CANDIDATE_FLOPS)
    np.testing.assert_allclose(alpha.g, grad, rtol=1e-4, atol=1e-3)


def test_cost_in_full_mode_is_the_expectation():
    model = Tiny("full")
    model(nn.Variable((1, 1, 4, 4)))
    expected = FIXED + softmax(ALPHA) @ CANDIDATE_FLOPS
    assert FLOPsEstimator().cost(model) == pytest.approx(expected)


@pytest.mark.parametrize("mode", ["sample", "max"])
def test_cost_counts_only_the_active_candidate(mode):
    model = Tiny(mode)
    estimator = FLOPsEstimator()
    for _ in range(5):
        model(nn.Variable((1, 1, 4, 4)))
        index = model._mixed.index
        assert estimator.cost(model) == FIXED + CANDIDATE_FLOPS[index]
    if mode == "max":
        assert index == int(np.argmax(ALPHA))


def test_table_rows_add_up_to_cost():
    model = Tiny("full")
    model(nn.Variable((1, 1, 4, 4)))
    estimator = FLOPsEstimator()
    rows = estimator.table(model)
    assert rows[0] == ("_stem", "Conv", STEM_FLOPS)
    assert rows[-1] == ("_head", "ReLU", HEAD_FLOPS)
    assert any(path.startswith("_mixed/_ops/1") and t == "MaxPool" for path, t, _ in rows)
    assert sum(c for _, _, c in rows) == pytest.approx(estimator.cost(model))


def test_input_shape_builds_a_graph_and_keeps_parameters():
    model = Tiny("max")
    before = snapshot(model)
    estimator = FLOPsEstimator()
    small = estimator.cost(model, input_shape=(1, 1, 4, 4))
    large = estimator.cost(model, input_shape=(1, 1, 8, 8))
    assert large == pytest.approx(4 * small)
    estimator.expected(model, input_shape=(2, 1, 4, 4)).forward()
    assert_unchanged(model, before)


def test_unbuilt_model_is_a_clear_error():
    with pytest.raises(RuntimeError, match="call model"):
        FLOPsEstimator().cost(Tiny())


def test_nested_mixed_op_gradient_matches_finite_differences():
    inner = Mo.MixedOp([Mo.ReLU(), Mo.Identity()], rng=1)
    outer = Mo.MixedOp([inner, Mo.MaxPool((3, 3), (1, 1), (1, 1))], rng=2)
    outer.alpha.d, inner.alpha.d = [0.3, -0.2], [1.0, -0.5]
    outer(nn.Variable((1, 2, 4, 4)))
    relu, pool = 32.0, 32.0 * 9

    def value(a_out, a_in):
        return softmax(a_out) @ [softmax(a_in) @ [relu, 0.0], pool]

    out = FLOPsEstimator().expected(outer)
    out.forward()
    a_out, a_in = outer.alpha.d.copy(), inner.alpha.d.copy()
    np.testing.assert_allclose(out.d.item(), value(a_out, a_in), rtol=1e-6)
    outer.alpha.g, inner.alpha.g = 0.0, 0.0
    out.backward()
    eps = 1e-4
    for alpha, grad in ((a_out, outer.alpha.g), (a_in, inner.alpha.g)):
        for i in range(2):
            bump = np.eye(2)[i] * eps
            if alpha is a_out:
                diff = value(a_out + bump, a_in) - value(a_out - bump, a_in)
            else:
                diff = value(a_out, a_in + bump) - value(a_out, a_in - bump)
            np.testing.assert_allclose(grad[i], diff / (2 * eps), rtol=1e-3, atol=1e-2)
