import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
from scipy import stats

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts.modules import MixedOp as DartsMixedOp


def candidates():
    return [
        Mo.Conv(3, 3, (3, 3), pad=(1, 1)),
        Mo.MaxPool((3, 3), (1, 1), (1, 1)),
        Mo.Identity(),
        Mo.Conv(3, 3, (1, 1), with_bias=False),
    ]


def softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


def forward_each(ops, x):
    outs = [op(x) for op in ops]
    F.sink(*outs).forward()
    return [o.d.copy() for o in outs]


def test_darts_path_exports_the_same_class():
    assert DartsMixedOp is Mo.MixedOp


def test_full_is_the_softmax_weighted_sum(variable):
    op = Mo.MixedOp(candidates(), alpha=Mo.Parameter((4,), initializer=[0.3, -1.0, 2.0, 0.5]))
    x = variable(2, 3, 5, 5)
    y = op(x)
    y.forward()
    assert y.shape == (2, 3, 5, 5)
    outs = forward_each(op.operators, x)
    expected = sum(p * o for p, o in zip(softmax(op.alpha.d), outs, strict=True))
    np.testing.assert_allclose(y.d, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(op.probs(), softmax(op.alpha.d), rtol=1e-6)
    assert op.index is None


def test_full_gradient_of_alpha(rng, variable):
    op = Mo.MixedOp(candidates(), alpha=Mo.Parameter((4,), initializer=[0.3, -1.0, 2.0, 0.5]))
    x = variable(2, 3, 4, 4)
    r = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    loss = F.sum(op(x) * nn.Variable.from_numpy_array(r))
    op.alpha.grad.zero()
    loss.forward()
    loss.backward()
    # d/da_j sum_i p_i s_i = p_j (s_j - sum_i p_i s_i), with s_i = <o_i, r>.
    s = np.array([(o * r).sum() for o in forward_each(op.operators, x)], dtype=np.float64)
    p = softmax(op.alpha.d.astype(np.float64))
    analytic = p * (s - p @ s)
    np.testing.assert_allclose(op.alpha.g, analytic, rtol=1e-4, atol=1e-4)
    eps, numeric = 1e-2, []
    base = op.alpha.d.copy()
    for j in range(4):
        values = []
        for sign in (1, -1):
            op.alpha.d = base + sign * eps * np.eye(4)[j]
            loss.forward()
            values.append(float(loss.d))
        numeric.append((values[0] - values[1]) / (2 * eps))
    np.testing.assert_allclose(op.alpha.g, numeric, rtol=2e-2, atol=2e-2)


def test_full_gradient_reaches_every_candidate(variable):
    op = Mo.MixedOp(candidates())
    x = variable(1, 3, 4, 4)
    loss = F.sum(op(x))
    params = op.get_parameters(grad_only=True)
    assert list(params) == ["_alpha", "_ops/0/_W", "_ops/0/_b", "_ops/3/_W"]
    for p in params.values():
        p.grad.zero()
    loss.forward()
    loss.backward()
    # The bias of candidate 0 receives its softmax weight per output element.
    np.testing.assert_allclose(op._ops[0]._b.g, op.probs()[0] * 16 * np.ones(3), rtol=1e-5)
    assert all(np.abs(p.g).sum() > 0 for p in params.values())


def _step(loss, params):
    for p in params:
        p.grad.zero()
    loss.forward(clear_no_need_grad=True)
    loss.backward(clear_buffer=True)
    return [float(loss.d)] + [p.g.copy() for p in params]


def test_full_leaves_zero_out_and_adds_the_identity_without_stacking_it():
    rs = np.random.RandomState(0)
    ops = [Mo.Zero(), Mo.Identity(), Mo.Conv(3, 3, (3, 3), pad=(1, 1), rng=rs),
           Mo.MaxPool((3, 3), (1, 1), (1, 1))]  # fmt: skip
    op = Mo.MixedOp(ops, rng=0)
    op.alpha.d = rs.normal(size=4)
    x = nn.Variable.from_numpy_array(rs.normal(size=(2, 3, 5, 5)).astype(np.float32))
    x.need_grad = True
    params = [op.alpha, ops[2]._W, ops[2]._b, x]
    y = op(x)
    functions = []
    y.visit(lambda f: functions.append(f))
    names = [f.info.type_name for f in functions]
    assert "MulScalar" not in names  # the zero candidate is never computed
    stack = next(f for f in functions if f.info.type_name == "Stack")
    assert len(stack.inputs) == 2  # the convolution and the pooling; not x, not zeros
    got = _step(F.sum(y * y), params)
    # The full sum of every candidate's output, weighted by softmax(alpha).
    weights = F.reshape(F.softmax(op.alpha, axis=0), (1, 4))
    expected = _step(F.sum(Mo.mixedop.weighted_sum([o(x) for o in ops], weights) ** 2), params)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert np.all(got[1] != 0)  # zero's logit too: it normalises the others' weights


def test_sample_follows_softmax_of_alpha():
    alpha = Mo.Parameter((4,), initializer=[0.5, -0.3, 1.0, 0.0])
    op = Mo.MixedOp(
        [Mo.Identity() for _ in range(4)], mode="sample", alpha=alpha, rng=np.random.default_rng(0)
    )
    x = nn.Variable((1, 2))
    counts = np.zeros(4)
    for _ in range(2000):
        op(x)
        counts[op.index] += 1
    expected = 2000 * softmax(alpha.d.astype(np.float64))
    assert stats.chisquare(counts, expected).pvalue > 0.001
    assert counts.min() > 0


def test_sample_is_reproducible_with_a_seed():
    def draws(seed):
        op = Mo.MixedOp([Mo.Identity() for _ in range(3)], mode="sample", rng=seed)
        x = nn.Variable((1,))
        return [(op(x), op.index)[1] for _ in range(30)]

    assert draws(5) == draws(5)
    assert len(set(draws(5))) > 1


def test_sample_builds_only_the_drawn_candidate(variable):
    op = Mo.MixedOp(candidates(), mode="sample", rng=np.random.default_rng(1))
    x = variable(1, 3, 4, 4)
    seen = set()
    for _ in range(40):
        y = op(x)
        i = op.index
        seen.add(i)
        ref = op.operators[i](x)
        if i == 2:
            assert y is x
        else:
            F.sink(y, ref).forward()
        np.testing.assert_array_equal(y.d, ref.d)
        keys = set(op.get_parameters(grad_only=True))
        own = {f"_ops/{i}/{k}" for k in op.operators[i].get_parameters()}
        assert keys == {"_alpha"} | own
    assert seen == {0, 1, 2, 3}
    assert len(op.get_parameters()) == 4


def test_max_picks_the_argmax(variable):
    op = Mo.MixedOp(
        candidates(), mode="max", alpha=Mo.Parameter((4,), initializer=[0.1, 0.2, -1.0, 3.0])
    )
    x = variable(1, 3, 4, 4)
    y = op(x)
    y.forward()
    assert op.index == 3
    np.testing.assert_allclose(
        y.d, np.einsum("oi,nihw->nohw", op._ops[3]._W.d[:, :, 0, 0], x.d), rtol=1e-5, atol=1e-6
    )
    assert list(op.get_parameters(grad_only=True)) == ["_alpha", "_ops/3/_W"]
    op.alpha.d = [5.0, 0.0, 0.0, 0.0]
    op(x)
    assert op.index == 0
    assert list(op.get_parameters(grad_only=True)) == ["_alpha", "_ops/0/_W", "_ops/0/_b"]


def test_back_to_full_mode_reenables_every_candidate(variable):
    op = Mo.MixedOp(candidates(), mode="max")
    op(variable(1, 3, 4, 4))
    op.mode = "full"
    op(variable(1, 3, 4, 4))
    assert len(op.get_parameters(grad_only=True)) == 4


def test_shared_alpha(variable):
    alpha = Mo.Parameter((3,), initializer=[0.2, -0.4, 0.9])

    class Net(Mo.Module):
        def __init__(self, shared):
            self._a = Mo.MixedOp([Mo.Identity(), Mo.ReLU(), Mo.Zero()], alpha=shared)
            other = shared if shared is not None else Mo.Parameter((3,), initializer=shared_value)
            self._b = Mo.MixedOp([Mo.Identity(), Mo.ReLU(), Mo.Zero()], alpha=other)

        def call(self, x):
            return F.add2(self._a(x), self._b(x))

    shared_value = alpha.d.copy()
    net = Net(alpha)
    assert net._a.alpha is net._b.alpha
    assert list(net.get_parameters()) == ["_a/_alpha"]
    x = variable(2, 4)
    single = Mo.MixedOp(
        [Mo.Identity(), Mo.ReLU(), Mo.Zero()], alpha=Mo.Parameter((3,), initializer=shared_value)
    )
    loss, loss_single = F.sum(net(x)), F.sum(single(x))
    alpha.grad.zero()
    single.alpha.grad.zero()
    F.sink(loss, loss_single).forward()
    loss.backward()
    loss_single.backward()
    np.testing.assert_allclose(alpha.g, 2 * single.alpha.g, rtol=1e-5, atol=1e-6)
    net._a.mode = net._b.mode = "max"
    alpha.d = [0.0, 0.0, 1.0]
    net(x)
    assert net._a.index == net._b.index == 2


def test_alpha_initialization():
    op = Mo.MixedOp([Mo.Identity(), Mo.ReLU()], rng=3)
    assert op.alpha.shape == (2,) and op.alpha.need_grad
    assert 0 < np.abs(op.alpha.d).max() < 0.01
    np.testing.assert_array_equal(op.alpha.d, Mo.MixedOp([Mo.Identity(), Mo.ReLU()], rng=3).alpha.d)
    column = Mo.Parameter((2, 1, 1, 1), initializer=np.array([0.0, 1.0]).reshape(2, 1, 1, 1))
    np.testing.assert_allclose(
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=column).probs(),
        softmax(np.array([0.0, 1.0])),
        rtol=1e-6,
    )


def test_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode 'best'; use one of full, sample, max, gate"):
        Mo.MixedOp([Mo.Identity()], mode="best")
    op = Mo.MixedOp([Mo.Identity()])
    with pytest.raises(ValueError, match="unknown mode 'fulll'"):
        op.mode = "fulll"
    assert op.mode == "full"


def test_candidates_with_different_output_shapes():
    op = Mo.MixedOp([Mo.Conv(3, 4, (1, 1)), Mo.MaxPool((2, 2)), Mo.Identity()])
    with pytest.raises(
        ValueError,
        match=r"different shapes \(0 Conv: \(1, 4, 4, 4\), 1 MaxPool: \(1, 3, 2, 2\), "
        r"2 Identity: \(1, 3, 4, 4\)\)",
    ):
        op(nn.Variable((1, 3, 4, 4)))


def test_bad_construction():
    with pytest.raises(ValueError, match="at least one candidate"):
        Mo.MixedOp([])
    with pytest.raises(ValueError, match=r"2 candidates but alpha has shape \(3,\)"):
        Mo.MixedOp([Mo.Identity(), Mo.ReLU()], alpha=Mo.Parameter((3,)))


def test_repr_and_parameter_keys():
    op = Mo.MixedOp([Mo.Identity(), Mo.Linear(2, 2)], mode="max")
    assert list(op.get_parameters()) == ["_alpha", "_ops/1/_W", "_ops/1/_b"]
    assert repr(op).startswith(
        "MixedOp(mode='max', num_ops=2\n  (_ops): ModuleList(\n    (0): Identity()"
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 7, 8])  # pairs with and without zero, identity
def test_gate_mode_draws_two_candidates_and_gives_gate_gradients(seed):
    rs = np.random.RandomState(0)
    ops = [Mo.Conv(2, 2, (1, 1), rng=rs), Mo.Identity(), Mo.Lambda(F.tanh), Mo.Zero()]
    op = Mo.MixedOp(ops, mode="gate", rng=np.random.default_rng(seed))
    x = nn.Variable.from_numpy_array(rs.normal(size=(3, 2, 2, 2)).astype(np.float32))
    target = rs.normal(size=(3, 2, 2, 2)).astype(np.float32)
    y = op(x)
    loss = F.sum((y - nn.Variable.from_numpy_array(target)) ** 2)
    loss.forward()
    loss.backward()
    (a, b), gate = op.gates
    assert a != b and op.index == a
    assert [o.need_grad for o in ops] == [i in (a, b) for i in range(4)]
    outputs = []
    for i in (a, b):
        out = F.identity(ops[i](x))  # Identity returns x itself, which has no parent
        out.forward()
        outputs.append(out.d.copy())
    np.testing.assert_allclose(y.d, outputs[0], rtol=1e-6)  # the gate is [1, 0]
    dy = 2 * (outputs[0] - target)
    expected = [float(np.sum(dy * o)) for o in outputs]
    np.testing.assert_allclose(gate.g.ravel(), expected, rtol=1e-4, atol=1e-5)


def test_gate_mode_pairs_follow_the_probabilities():
    op = Mo.MixedOp([Mo.Identity()] * 3, mode="gate", rng=np.random.default_rng(0))
    op.alpha.d = np.log([0.7, 0.2, 0.1])
    x = nn.Variable((1, 1))
    firsts = []
    for _ in range(600):
        op(x)
        firsts.append(op.gates[0][0])
    counts = np.bincount(firsts, minlength=3) / 600
    np.testing.assert_allclose(counts, [0.7, 0.2, 0.1], atol=0.06)


def test_most_likely_builds_the_argmax_without_drawing_and_restores_the_modes():
    from nnabla_nas.module import most_likely

    ops = [Mo.Identity(), Mo.ReLU(), Mo.Conv(2, 2, (1, 1))]
    op = Mo.MixedOp(ops, mode="sample", rng=3)
    op.alpha.d = np.array([0.0, 0.0, 2.0])
    op(nn.Variable((1, 2, 3, 3)))
    index, state = op.index, op.rng.bit_generator.state
    flags = [m.need_grad for m in op.operators]
    with most_likely(op):
        assert op.mode == "max"
        op(nn.Variable((1, 2, 3, 3)))
        assert op.index == 2 and op.operators[2].need_grad
    # The mode and the flags are back; the index tells what the last build chose.
    assert op.mode == "sample" and op.index == 2 and index is not None
    assert [m.need_grad for m in op.operators] == flags
    assert op.rng.bit_generator.state == state


def test_gumbel_mode_builds_the_drawn_candidate_with_the_straight_through_gradient(rng, variable):
    op = Mo.MixedOp(
        candidates(), mode="gumbel", alpha=Mo.Parameter((4,), initializer=[0.3, -1.0, 2.0, 0.5])
    )
    x = variable(2, 3, 4, 4)
    r = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    seen = set()
    for _ in range(30):
        (k,) = Mo.draw_gumbel(op, rng, tau=0.7)
        seen.add(k)
        draw = op.gumbel
        assert k == draw.index == int(np.argmax(op.alpha.d + draw.noise))
        y = op(x)
        assert op.index == k
        keys = set(op.get_parameters(grad_only=True))
        assert keys == {"_alpha"} | {f"_ops/{k}/{n}" for n in op.operators[k].get_parameters()}
        loss = F.sum(y * nn.Variable.from_numpy_array(r))
        op.alpha.grad.zero()
        loss.forward()
        loss.backward()
        (out,) = forward_each([op.operators[k]], x)
        np.testing.assert_allclose(y.d, out, rtol=1e-6, atol=1e-6)  # the weight's value is 1
        # dL/da_j = <o_k, r> * dp_k/da_j = <o_k, r> * p_k (delta_kj - p_j) / tau
        p = softmax((op.alpha.d.astype(np.float64) + draw.noise) / 0.7)
        analytic = (out * r).sum() * p[k] * (np.eye(4)[k] - p) / 0.7
        np.testing.assert_allclose(op.alpha.g, analytic, rtol=1e-3, atol=1e-4)
    assert len(seen) > 1


def test_gumbel_draws_follow_softmax_of_alpha_one_draw_per_shared_alpha():
    alpha = Mo.Parameter((3,), initializer=[1.0, 0.0, -0.5])
    a, b = (Mo.MixedOp([Mo.Identity() for _ in range(3)], mode="gumbel", alpha=alpha, label="c")
            for _ in range(2))  # fmt: skip
    model = Mo.Sequential(a, b)
    rng = np.random.default_rng(0)
    counts = np.zeros(3)
    for _ in range(3000):
        (index,) = Mo.draw_gumbel(model, rng, tau=5.0)  # the temperature does not bias the draw
        assert a.gumbel is b.gumbel
        counts[index] += 1
    assert stats.chisquare(counts, 3000 * softmax(alpha.d.astype(np.float64))).pvalue > 0.001


def test_gumbel_mode_needs_a_draw_and_a_positive_temperature(variable):
    op = Mo.MixedOp(candidates(), mode="gumbel")
    with pytest.raises(ValueError, match="call draw_gumbel"):
        op(variable(1, 3, 4, 4))
    with pytest.raises(ValueError, match="positive temperature"):
        Mo.draw_gumbel(op, np.random.default_rng(0), tau=0.0)
