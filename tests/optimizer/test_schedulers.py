import doctest
import itertools
import math

import pytest

from nnabla_nas.optimizer import (
    SCHEDULERS,
    ConstantScheduler,
    CosineScheduler,
    LinearWarmup,
    Restarts,
    Scheduler,
    StepScheduler,
    schedulers,
)


def test_constant():
    sched = ConstantScheduler(0.3)
    assert [sched(t) for t in (0, 1, 1000)] == [0.3, 0.3, 0.3]


@pytest.mark.parametrize("t", [0, 1, 3, 5, 9])
def test_cosine_matches_formula(t):
    sched = CosineScheduler(0.1, 10, min_lr=0.01)
    expected = 0.01 + (0.1 - 0.01) * (1 + math.cos(math.pi * t / 10)) / 2
    assert sched(t) == pytest.approx(expected, rel=1e-12)


def test_cosine_endpoints():
    sched = CosineScheduler(0.2, 100, min_lr=0.002)
    assert sched(0) == pytest.approx(0.2)
    assert sched(50) == pytest.approx(0.101)
    assert sched(100) == 0.002
    assert sched(10_000) == 0.002
    assert CosineScheduler(0.2, 100)(100) == 0.0


def test_cosine_is_monotone():
    sched = CosineScheduler(1.0, 20)
    values = [sched(t) for t in range(25)]
    assert all(a >= b for a, b in itertools.pairwise(values))


@pytest.mark.parametrize(
    ("t", "expected"), [(0, 0.1), (2, 0.1), (3, 0.05), (5, 0.05), (6, 0.025), (9, 0.0125)]
)
def test_step(t, expected):
    assert StepScheduler(0.1, 3, gamma=0.5)(t) == pytest.approx(expected, rel=1e-12)


def test_step_default_gamma():
    sched = StepScheduler(1.0, 10)
    assert sched(9) == 1.0
    assert sched(10) == pytest.approx(0.1)
    assert sched(25) == pytest.approx(0.01)


@pytest.mark.parametrize(("t", "expected"), [(0, 0.0), (1, 0.025), (2, 0.05), (4, 0.1), (50, 0.1)])
def test_warmup_constant(t, expected):
    sched = LinearWarmup(ConstantScheduler(0.1), 4)
    assert sched(t) == pytest.approx(expected, rel=1e-12)


def test_warmup_start_factor():
    sched = LinearWarmup(ConstantScheduler(1.0), 10, start_factor=0.1)
    assert sched(0) == pytest.approx(0.1)
    assert sched(5) == pytest.approx(0.55)
    assert sched(10) == 1.0


def test_warmup_scales_wrapped_schedule_on_its_own_time_axis():
    cosine = CosineScheduler(0.1, 20)
    sched = LinearWarmup(cosine, 5, start_factor=0.2)
    for t in range(5):
        factor = 0.2 + 0.8 * t / 5
        assert sched(t) == pytest.approx(cosine(t) * factor, rel=1e-12)
    for t in range(5, 25):
        assert sched(t) == cosine(t)


def test_zero_warmup_is_the_wrapped_schedule():
    cosine = CosineScheduler(0.1, 20)
    sched = LinearWarmup(cosine, 0)
    assert [sched(t) for t in range(22)] == [cosine(t) for t in range(22)]


@pytest.mark.parametrize(
    "sched", [ConstantScheduler(0.1), CosineScheduler(0.1, 5), StepScheduler(0.1, 2)]
)
def test_negative_iteration_is_an_error(sched):
    with pytest.raises(ValueError, match="iteration must be >= 0"):
        sched(-1)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ConstantScheduler(-0.1), "lr must be"),
        (lambda: ConstantScheduler(float("nan")), "lr must be"),
        (lambda: CosineScheduler(0.1, 0), "max_iter"),
        (lambda: CosineScheduler(0.1, 10, min_lr=-1.0), "min_lr"),
        (lambda: StepScheduler(0.1, 0), "step_size"),
        (lambda: StepScheduler(0.1, 5, gamma=-0.5), "gamma"),
        (lambda: LinearWarmup(ConstantScheduler(0.1), -1), "warmup_iter"),
        (lambda: LinearWarmup(ConstantScheduler(0.1), 5, start_factor=1.5), "start_factor"),
    ],
)
def test_bad_arguments(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        CosineScheduler(0.1, 10, 0.01)  # type: ignore[misc]
    with pytest.raises(TypeError):
        StepScheduler(0.1, 10, 0.5)  # type: ignore[misc]


def test_registry():
    assert set(SCHEDULERS) == {"constant", "cosine", "step"}
    assert all(issubclass(cls, Scheduler) for cls in SCHEDULERS.values())
    assert SCHEDULERS["cosine"](0.1, 10)(10) == 0.0


def test_schedulers_are_values():
    assert CosineScheduler(0.1, 10) == CosineScheduler(0.1, 10)
    assert "min_lr=0.0" in repr(CosineScheduler(0.1, 10))


def test_docstring_examples():
    result = doctest.testmod(schedulers)
    assert result.attempted > 0
    assert result.failed == 0


def test_from_epochs_counts_epochs_of_a_loader_s_steps():
    # The README's pattern: 2 epochs of 14 steps anneal to zero at the end of epoch 2,
    # not after 100 steps (7 epochs) as CosineScheduler(0.05, 100) would.
    cosine = CosineScheduler.from_epochs(0.05, epochs=2, steps_per_epoch=14, min_lr=0.001)
    assert cosine == CosineScheduler(0.05, 28, min_lr=0.001)
    assert cosine(14) == pytest.approx((0.05 + 0.001) / 2)
    step = StepScheduler.from_epochs(0.1, step_epochs=3, steps_per_epoch=10, gamma=0.5)
    assert (step(29), step(30)) == (0.1, 0.05)
    warm = LinearWarmup.from_epochs(ConstantScheduler(0.2), 0.5, steps_per_epoch=10)
    assert warm.warmup_iter == 5 and warm(0) == 0.0 and warm(5) == 0.2
    assert CosineScheduler.from_epochs(0.1, epochs=0, steps_per_epoch=3).max_iter == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: CosineScheduler.from_epochs(0.1, 2, 0),
            r"steps_per_epoch must be >= 1 \(e.g. len",
        ),
        (lambda: CosineScheduler.from_epochs(0.1, -1, 5), "epochs must be a number of epochs"),
        (lambda: StepScheduler.from_epochs(0.1, float("nan"), 5), "step_epochs must be"),
        (lambda: LinearWarmup.from_epochs(ConstantScheduler(1.0), -2, 5), "warmup_epochs must"),
    ],
)
def test_from_epochs_refuses_bad_counts(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_restarts_run_each_schedule_on_its_own_clock():
    first, second = CosineScheduler(0.1, 10), ConstantScheduler(0.02)
    sched = Restarts((0, 10), (first, second))
    assert [sched(t) for t in range(10)] == [first(t) for t in range(10)]
    assert sched(10) == sched(99) == 0.02
    with pytest.raises(ValueError, match="one start per schedule"):
        Restarts((0,), (first, second))
    with pytest.raises(ValueError, match="begin at 0 and increase"):
        Restarts((0, 0), (first, second))
    with pytest.raises(ValueError, match="begin at 0 and increase"):
        Restarts((3, 10), (first, second))
