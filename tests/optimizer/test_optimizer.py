import doctest
import os

import h5py
import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas.optimizer import (
    SOLVERS,
    CosineScheduler,
    LinearWarmup,
    Optimizer,
    StepScheduler,
    optimizer,
)

SHAPES = {"conv/_W": (2, 3), "conv/_b": (3,), "alpha": (4,)}


def make_params(seed: int = 0) -> dict[str, nn.Variable]:
    rng = np.random.default_rng(seed)
    return {
        key: nn.Variable.from_numpy_array(rng.normal(size=shape).astype(np.float32), need_grad=True)
        for key, shape in SHAPES.items()
    }


def copy_params(params: dict[str, nn.Variable]) -> dict[str, nn.Variable]:
    return {k: nn.Variable.from_numpy_array(v.d.copy(), need_grad=True) for k, v in params.items()}


def random_grads(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=shape).astype(np.float32) for k, shape in SHAPES.items()}


def set_grads(params: dict[str, nn.Variable], grads: dict[str, np.ndarray]) -> None:
    for key, g in grads.items():
        params[key].g = g


def numpy_params(params: dict[str, nn.Variable]) -> dict[str, np.ndarray]:
    return {k: v.d.astype(np.float64) for k, v in params.items()}


def assert_close(params: dict[str, nn.Variable], expected: dict[str, np.ndarray]) -> None:
    for key, value in expected.items():
        np.testing.assert_allclose(params[key].d, value, rtol=1e-5, atol=1e-6, err_msg=key)


def run_by_hand(update, n_steps: int) -> dict[str, np.ndarray]:
    """Applies `update(w, g, t, key) -> w` in float64 with the gradients `run_solver` uses."""
    params = make_params()
    expected = numpy_params(params)
    for t in range(n_steps):
        grads = random_grads(100 + t)
        expected = {k: update(expected[k], grads[k].astype(np.float64), t, k) for k in expected}
    return expected


def run_solver(name: str, n_steps: int, **kwargs) -> dict[str, nn.Variable]:
    params = make_params()
    opt = Optimizer(params, name, **kwargs)
    for t in range(n_steps):
        opt.zero_grad()
        set_grads(params, random_grads(100 + t))
        opt.step()
    assert opt.iteration == n_steps
    return params


def test_sgd_matches_hand_computation():
    lr, wd = 0.1, 0.01
    expected = run_by_hand(lambda w, g, t, k: w - lr * (g + wd * w), 3)
    assert_close(run_solver("sgd", 3, lr=lr, weight_decay=wd), expected)


def test_momentum_matches_nnabla_convention():
    # nnabla: v <- m * v + lr * g; w <- w - v (the same as v' = m v' - lr g; w <- w + v').
    lr, m, wd = 0.1, 0.9, 0.01
    velocity = {k: 0.0 for k in SHAPES}

    def update(w, g, t, k):
        velocity[k] = m * velocity[k] + lr * (g + wd * w)
        return w - velocity[k]

    expected = run_by_hand(update, 3)
    assert_close(run_solver("momentum", 3, lr=lr, momentum=m, weight_decay=wd), expected)


def test_nesterov_matches_hand_computation():
    lr, m = 0.1, 0.8
    velocity = {k: 0.0 for k in SHAPES}

    def update(w, g, t, k):
        previous = velocity[k]
        velocity[k] = m * previous - lr * g
        return w - m * previous + (1 + m) * velocity[k]

    expected = run_by_hand(update, 3)
    assert_close(run_solver("nesterov", 3, lr=lr, momentum=m), expected)


def test_adam_matches_bias_corrected_hand_computation():
    lr, (b1, b2), eps = 0.01, (0.8, 0.99), 1e-8
    moments = {k: (0.0, 0.0) for k in SHAPES}

    def update(w, g, t, k):
        m, v = moments[k]
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        moments[k] = (m, v)
        m_hat, v_hat = m / (1 - b1 ** (t + 1)), v / (1 - b2 ** (t + 1))
        return w - lr * m_hat / (np.sqrt(v_hat) + eps)

    expected = run_by_hand(update, 3)
    assert_close(run_solver("adam", 3, lr=lr, betas=(b1, b2), eps=eps), expected)


def test_scheduled_learning_rate_is_used_per_step():
    sched = StepScheduler(0.1, 2, gamma=0.5)
    expected = run_by_hand(lambda w, g, t, k: w - sched(t) * g, 5)
    assert_close(run_solver("sgd", 5, lr=sched), expected)


def test_lr_property_follows_schedule():
    sched = LinearWarmup(CosineScheduler(0.1, 10), 3)
    params = make_params()
    opt = Optimizer(params, "adam", lr=sched)
    seen = []
    for t in range(6):
        seen.append(opt.lr)
        opt.zero_grad()
        set_grads(params, random_grads(t))
        opt.step()
    assert seen == [sched(t) for t in range(6)]
    assert opt.scheduler is sched


def test_float_lr_is_constant():
    opt = Optimizer(make_params(), "sgd", lr=0.25)
    assert opt.lr == 0.25
    opt.step()
    assert opt.lr == 0.25


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_weight_decay_equals_l2_term_in_gradient(name):
    wd = 0.05
    with_decay = run_solver(name, 2, lr=0.1, weight_decay=wd)

    params = make_params()
    opt = Optimizer(params, name, lr=0.1)
    for t in range(2):
        opt.zero_grad()
        grads = random_grads(100 + t)
        set_grads(params, {k: g + wd * params[k].d for k, g in grads.items()})
        opt.step()
    for key in SHAPES:
        np.testing.assert_allclose(with_decay[key].d, params[key].d, rtol=1e-6, atol=1e-7)


def global_norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(np.square(g, dtype=np.float64)) for g in grads)))


def test_grad_clip_scales_to_the_global_norm():
    params = make_params()
    before = numpy_params(params)
    grads = {k: 10 * g for k, g in random_grads(7).items()}
    norm = global_norm(grads.values())
    opt = Optimizer(params, "sgd", lr=0.1, grad_clip=1.0)
    opt.zero_grad()
    set_grads(params, grads)
    assert opt.grad_norm() == pytest.approx(norm, rel=1e-6)  # summed in float32 by an nnabla graph
    opt.step()
    # nnabla's solver update leaves the gradients in place: they are the clipped ones.
    assert global_norm(v.g for v in params.values()) == pytest.approx(1.0, rel=1e-6)
    scale = 1.0 / norm
    for key, g in grads.items():
        np.testing.assert_allclose(params[key].g, g * scale, rtol=1e-6)
        np.testing.assert_allclose(params[key].d, before[key] - 0.1 * g * scale, rtol=1e-5)
    assert opt.grad_norm() == pytest.approx(norm, rel=1e-6)  # summed in float32 by an nnabla graph


def test_grad_clip_leaves_small_gradients_untouched():
    params = make_params()
    grads = {k: 0.01 * g for k, g in random_grads(7).items()}
    opt = Optimizer(params, "sgd", lr=0.1, grad_clip=1.0)
    opt.zero_grad()
    set_grads(params, grads)
    opt.step()
    for key, g in grads.items():
        np.testing.assert_array_equal(params[key].g, g)


def test_grad_norm_resets_on_zero_grad():
    params = make_params()
    opt = Optimizer(params, "sgd", grad_clip=1.0, weight_decay=0.1)
    set_grads(params, random_grads(1))
    opt.step()
    assert opt.grad_norm() == pytest.approx(
        global_norm(random_grads(1).values()), rel=1e-6
    )  # summed in float32 by an nnabla graph
    opt.zero_grad()
    assert opt.grad_norm() == 0.0


def quadratic_loss(params: dict[str, nn.Variable]) -> nn.Variable:
    rng = np.random.default_rng(42)
    terms = []
    for key in sorted(params):
        target = nn.Variable.from_numpy_array(rng.normal(size=SHAPES[key]).astype(np.float32))
        terms.append(F.sum(F.pow_scalar(params[key] - target, 2.0)))
    return F.add_n(*terms)


def train(opt: Optimizer, loss: nn.Variable, n_steps: int) -> None:
    for _ in range(n_steps):
        opt.zero_grad()
        loss.forward()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_save_load_resumes_bit_identically(name, tmp_path):
    kwargs = dict(lr=LinearWarmup(CosineScheduler(0.05, 6), 2), weight_decay=1e-3, grad_clip=2.0)
    reference = make_params()
    train(Optimizer(reference, name, **kwargs), quadratic_loss(reference), 6)

    first = make_params()
    opt = Optimizer(first, name, **kwargs)
    train(opt, quadratic_loss(first), 3)
    path = str(tmp_path / "ckpt" / "optimizer.h5")
    opt.save_states(path)

    resumed = copy_params(first)
    opt = Optimizer(resumed, name, **kwargs)
    opt.load_states(path)
    assert opt.iteration == 3
    train(opt, quadratic_loss(resumed), 3)
    for key in SHAPES:
        np.testing.assert_array_equal(resumed[key].d, reference[key].d, err_msg=key)
    assert not np.array_equal(resumed["alpha"].d, make_params()["alpha"].d)


def test_save_is_atomic_and_overwrites(tmp_path):
    params = make_params()
    opt = Optimizer(params, "adam")
    path = str(tmp_path / "opt.h5")
    opt.save_states(path)
    train(opt, quadratic_loss(params), 2)
    opt.save_states(path)
    assert os.listdir(tmp_path) == ["opt.h5"]
    with h5py.File(path, "r") as f:
        assert int(f.attrs["nnabla_nas_iteration"]) == 2


def saved_states(tmp_path, name="adam", params=None) -> str:
    opt = Optimizer(params or make_params(), name)
    path = str(tmp_path / "opt.h5")
    opt.save_states(path)
    return path


def test_load_rejects_another_solver(tmp_path):
    path = saved_states(tmp_path, "adam")
    with pytest.raises(ValueError, match=r"'adam' solver states .* name='adam'"):
        Optimizer(make_params(), "momentum").load_states(path)


def test_load_rejects_other_parameters(tmp_path):
    path = saved_states(tmp_path)
    params = make_params()
    params["extra"] = params.pop("alpha")
    with pytest.raises(ValueError, match=r"missing \['extra'\], unexpected \['alpha'\]"):
        Optimizer(params, "adam").load_states(path)


def test_load_rejects_other_shapes(tmp_path):
    path = saved_states(tmp_path)
    params = make_params()
    params["alpha"] = nn.Variable.from_numpy_array(np.zeros(5, np.float32), need_grad=True)
    with pytest.raises(ValueError, match="'alpha' has shapes"):
        Optimizer(params, "adam").load_states(path)


def test_load_rejects_foreign_and_missing_files(tmp_path):
    foreign = str(tmp_path / "foreign.h5")
    with h5py.File(foreign, "w") as f:
        f["x"] = np.zeros(3)
    opt = Optimizer(make_params(), "adam")
    with pytest.raises(ValueError, match=r"not written by Optimizer\.save_states"):
        opt.load_states(foreign)
    with pytest.raises(FileNotFoundError, match="no optimizer states"):
        opt.load_states(str(tmp_path / "absent.h5"))
    with pytest.raises(ValueError, match=r"ending in \.h5"):
        opt.save_states(str(tmp_path / "opt.pkl"))


def test_unknown_solver_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown solver 'rmsprop'.*'adam'.*'sgd'"):
        Optimizer(make_params(), "rmsprop")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(momentum=1.0), "momentum"),
        (dict(betas=(0.9, 1.0)), "betas"),
        (dict(eps=0.0), "eps"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(grad_clip=0.0), "grad_clip"),
        (dict(lr=-0.1), "lr must be"),
    ],
)
def test_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Optimizer(make_params(), "adam", **kwargs)


def test_empty_parameters_is_an_error():
    with pytest.raises(ValueError, match="no parameters"):
        Optimizer({}, "sgd")


def test_registry_and_properties():
    assert set(SOLVERS) == {"sgd", "momentum", "nesterov", "adam"}
    params = make_params()
    opt = Optimizer(params, "nesterov")
    assert opt.name == "nesterov"
    assert opt.params == params
    assert opt.iteration == 0
    assert opt.weight_decay == 0.0
    assert opt.grad_clip is None


def test_docstring_examples():
    result = doctest.testmod(optimizer)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_step_with_active_keys_leaves_the_others_untouched(name):
    rng = np.random.default_rng(0)
    params = {k: nn.Variable.from_numpy_array(rng.normal(size=3), need_grad=True) for k in "ab"}
    twin = {k: nn.Variable.from_numpy_array(v.d.copy(), need_grad=True) for k, v in params.items()}
    opt = Optimizer(params, name, 0.1, weight_decay=0.01)
    ref = Optimizer({"a": twin["a"]}, name, 0.1, weight_decay=0.01)  # "b" never registered
    b_before = params["b"].d.copy()
    for step in range(3):
        grads = rng.normal(size=(2, 3))
        params["a"].g, params["b"].g, twin["a"].g = grads[0], grads[1], grads[0]
        # "b" moves on the first step only; afterwards it is frozen with its state.
        opt.step(active=None if step == 0 else ["a"])
        ref.step()
        if step == 0:
            b_before = params["b"].d.copy()
    np.testing.assert_allclose(params["a"].d, twin["a"].d, rtol=1e-6)
    np.testing.assert_array_equal(params["b"].d, b_before)
    state = opt._solver.get_states()["b"]
    assert state.t == 1
