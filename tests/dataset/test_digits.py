"""`load_digits`: scikit-learn's bundled digits as a [0, 1] image dataset."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import datasets

from nnabla_nas.dataset import DATASETS, load_digits


def test_digits_shape_range_and_labels() -> None:
    data = load_digits()
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == np.float32
    assert data.labels.shape == (1797,) and data.labels.dtype == np.int32
    assert data.classes == 10 and len(data) == 1797
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    raw = datasets.load_digits()
    np.testing.assert_array_equal(np.bincount(data.labels), np.bincount(raw.target))
    assert np.bincount(data.labels).min() >= 170
    np.testing.assert_allclose(data.images[:, 0], raw.images / 16.0, rtol=1e-6)


@pytest.mark.parametrize("size", [16, 32, 5])
def test_resize_gives_the_size_and_keeps_intensity(size: int) -> None:
    small, resized = load_digits(), load_digits(size=size)
    assert resized.images.shape == (1797, 1, size, size)
    assert resized.images.min() >= 0.0 and resized.images.max() <= 1.0
    np.testing.assert_array_equal(resized.labels, small.labels)
    per_image = np.abs(resized.images.mean(axis=(1, 2, 3)) - small.images.mean(axis=(1, 2, 3)))
    assert abs(resized.images.mean() - small.images.mean()) < 0.01
    assert np.median(per_image) < 0.02


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """Rows of weights mapping n_in pixels to n_out, aligning pixel areas (half-pixel)."""
    coords = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    low = np.floor(coords).astype(int)
    high = np.minimum(low + 1, n_in - 1)
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), low), 1 - (coords - low))
    np.add.at(weights, (np.arange(n_out), high), coords - low)
    return weights


@pytest.mark.parametrize("size", [16, 32, 5])
def test_resize_is_bilinear(size: int) -> None:
    matrix = _bilinear_matrix(8, size)
    expected = matrix @ load_digits().images[:, 0] @ matrix.T
    np.testing.assert_allclose(load_digits(size=size).images[:, 0], expected, atol=1e-5)


def test_bad_size_is_refused() -> None:
    with pytest.raises(ValueError, match="positive int"):
        load_digits(size=0)


def test_registry_names_the_dataset_classes() -> None:
    assert set(DATASETS) == {"digits", "mnist5k", "cifar10", "cifar100", "folder", "csv"}
    digits = DATASETS["digits"](image_size=16, test_fraction=0.25)
    assert digits.sample_shape == (1, 16, 16) and digits.classes == 10 and digits.mean is None
    train, test = digits.load(split_seed=0)
    assert (len(train), len(test)) == (1348, 449) and train.sample_shape == (1, 16, 16)
    again, _ = digits.load(split_seed=0)
    np.testing.assert_array_equal(again.labels, train.labels)
    other, _ = digits.load(split_seed=1)
    assert not np.array_equal(other.labels, train.labels)
    with pytest.raises(ValueError, match=r"dataset\.image_size must be a positive int"):
        DATASETS["digits"](image_size=0)
    with pytest.raises(ValueError, match=r"dataset\.test_fraction must lie in \(0, 1\)"):
        DATASETS["digits"](test_fraction=1.0)
