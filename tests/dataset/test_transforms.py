"""Graph-level transforms, checked against numpy on known arrays."""

from __future__ import annotations

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.dataset.transforms import (
    Compose,
    Cutout,
    Normalize,
    RandomCrop,
    RandomHorizontalFlip,
    RandomVerticalFlip,
    Resize,
    Transform,
)


def _run(transform: Transform, x: np.ndarray, training: bool = True, seed: int = 0) -> np.ndarray:
    nn.seed(seed)
    y = transform(nn.Variable.from_numpy_array(x), training=training)
    if y.parent is not None:  # a transform that does not apply returns its input
        y.forward()
    return y.d.copy()


def _batch(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 1.0, size=shape).astype(np.float32)


def test_normalize_per_channel() -> None:
    x = _batch((2, 3, 4, 4))
    mean = np.array([0.1, 0.2, 0.3], np.float32)
    std = np.array([0.5, 0.25, 2.0], np.float32)
    expected = (x * np.float32(255) - mean[:, None, None]) / std[:, None, None]
    transform = Normalize(mean.tolist(), std.tolist(), scale=255)
    for training in (True, False):
        np.testing.assert_allclose(_run(transform, x, training), expected, rtol=1e-6)


def test_normalize_scalar_and_channel_mismatch() -> None:
    x = _batch((2, 3, 4, 4))
    np.testing.assert_allclose(_run(Normalize(0.5, 0.25), x), (x - 0.5) / 0.25, rtol=1e-6)
    with pytest.raises(ValueError, match="one value per input channel"):
        _run(Normalize([0.1, 0.2], [1.0, 1.0]), x)
    with pytest.raises(ValueError, match="non-zero"):
        Normalize(0.0, [1.0, 0.0])


@pytest.mark.parametrize(
    ("transform", "axis"), [(RandomHorizontalFlip(), -1), (RandomVerticalFlip(), -2)]
)
def test_flip_mirrors_some_samples_and_keeps_the_others(transform: Transform, axis: int) -> None:
    x = np.arange(16 * 2 * 3 * 5, dtype=np.float32).reshape(16, 2, 3, 5)
    y = _run(transform, x)
    flipped = [np.array_equal(out, np.flip(image, axis)) for out, image in zip(y, x, strict=True)]
    kept = [np.array_equal(out, image) for out, image in zip(y, x, strict=True)]
    assert all(f != k for f, k in zip(flipped, kept, strict=True))
    assert any(flipped) and any(kept)
    np.testing.assert_array_equal(_run(transform, x, training=False), x)


def _windows(padded: np.ndarray, height: int, width: int) -> list[np.ndarray]:
    rows, cols = padded.shape[-2] - height + 1, padded.shape[-1] - width + 1
    return [padded[:, i : i + height, j : j + width] for i in range(rows) for j in range(cols)]


@pytest.mark.parametrize(
    ("shape", "pad", "expected"),
    [((6, 6), 2, (6, 6)), ((3, 4, 5), 0, (4, 5)), (6, (1, 0, 2, 1), (6, 6))],
)
def test_crop_is_a_window_of_the_padded_input(shape, pad, expected) -> None:
    x = _batch((8, 3, 6, 6))
    y = _run(RandomCrop(shape, pad_width=pad), x)
    assert y.shape == (8, 3, *expected)
    pads = (pad,) * 4 if isinstance(pad, int) else pad
    padded = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    offsets = set()
    for out, image in zip(y, padded, strict=True):
        matches = [np.array_equal(out, w) for w in _windows(image, *expected)]
        assert any(matches)
        offsets.add(matches.index(True))
    assert len(offsets) > 1 or len(_windows(padded[0], *expected)) == 1


def test_crop_identity_and_bad_arguments() -> None:
    x = _batch((2, 3, 6, 6))
    np.testing.assert_array_equal(_run(RandomCrop(4, 2), x, training=False), x)
    with pytest.raises(ValueError, match="larger than the padded input"):
        _run(RandomCrop(9, 1), x)
    with pytest.raises(ValueError, match="channels"):
        _run(RandomCrop((1, 6, 6)), x)
    with pytest.raises(ValueError, match="pad_width"):
        RandomCrop(4, (1, 2))


def _extent(hit: np.ndarray) -> tuple[int, int]:
    """(start, stop) of the one run of True in `hit`, checking it is contiguous."""
    where = np.flatnonzero(hit)
    assert np.array_equal(where, np.arange(where[0], where[-1] + 1))
    return int(where[0]), int(where[-1]) + 1


def _check_side(start: int, stop: int, size: int, length: int) -> None:
    """A side is `length` long unless the square was clipped at a border."""
    assert stop - start <= length
    if stop - start < length:
        assert start == 0 or stop == size


@pytest.mark.parametrize("length", [3, 4])
def test_cutout_zeroes_one_square_per_image(length: int) -> None:
    x = _batch((32, 2, 8, 8))  # no zeros of its own
    y = _run(Cutout(length), x)
    interior = 0
    for out, image in zip(y, x, strict=True):
        zero = out == 0
        np.testing.assert_array_equal(zero[0], zero[1])
        np.testing.assert_array_equal(out[~zero], image[~zero])
        rows, cols = _extent(zero[0].any(axis=1)), _extent(zero[0].any(axis=0))
        square = np.zeros((8, 8), bool)
        square[rows[0] : rows[1], cols[0] : cols[1]] = True
        np.testing.assert_array_equal(zero[0], square)
        _check_side(*rows, 8, length)
        _check_side(*cols, 8, length)
        interior += rows[1] - rows[0] == cols[1] - cols[0] == length
    assert interior > 0


def test_cutout_passes_gradient_outside_the_square() -> None:
    x = nn.Variable.from_numpy_array(_batch((4, 1, 6, 6)), need_grad=True)
    nn.seed(2)
    y = Cutout(2)(x)
    y.forward()
    x.grad.zero()
    y.backward(np.ones(y.shape, np.float32))
    np.testing.assert_array_equal(x.g, (y.d != 0).astype(np.float32))
    assert Cutout(2)(x, training=False) is x


def test_resize_constant_image_and_nearest_repeats() -> None:
    x = np.full((2, 3, 8, 8), 0.7, np.float32)
    np.testing.assert_allclose(_run(Resize(16), x), 0.7, rtol=1e-6)
    assert _run(Resize((5, 12)), x).shape == (2, 3, 5, 12)
    small = _batch((1, 1, 3, 4))
    twice = np.repeat(np.repeat(small, 2, axis=2), 2, axis=3)
    np.testing.assert_array_equal(_run(Resize((6, 8), "nearest"), small, training=False), twice)
    with pytest.raises(ValueError, match="interpolation"):
        Resize(4, "cubic")


@pytest.mark.parametrize(
    "transform",
    [RandomHorizontalFlip(), RandomVerticalFlip(), RandomCrop(6, 2), Cutout(3)],
    ids=repr,
)
def test_nn_seed_makes_random_transforms_repeatable(transform: Transform) -> None:
    x = nn.Variable.from_numpy_array(_batch((16, 2, 6, 6)))
    y = transform(x)
    outputs = []
    for _ in range(2):
        nn.seed(7)
        y.forward()
        first = y.d.copy()
        y.forward()
        outputs.append((first, y.d.copy()))
    rebuilt = transform(x)
    nn.seed(7)
    rebuilt.forward()
    np.testing.assert_array_equal(outputs[0][0], outputs[1][0])
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])
    np.testing.assert_array_equal(outputs[0][0], rebuilt.d)
    assert not np.array_equal(outputs[0][0], outputs[0][1])


def test_compose_passes_the_training_flag() -> None:
    x = _batch((16, 1, 3, 4))
    augment = Compose([RandomHorizontalFlip(), Normalize(0.5, 0.25)])
    np.testing.assert_allclose(_run(augment, x, training=False), (x - 0.5) / 0.25, rtol=1e-6)
    y = _run(augment, x) * 0.25 + 0.5
    flipped = [np.allclose(out, np.flip(image, -1)) for out, image in zip(y, x, strict=True)]
    kept = [np.allclose(out, image) for out, image in zip(y, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped)
