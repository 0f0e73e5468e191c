"""`load_cifar10` on tiny fake batches in the official Python 2 pickle layout."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.dataset import DATASETS, load_cifar10

from .cifar_files import cifar10_batch


def _write_batches(folder: Path, names: list[str], seed: int) -> dict[str, tuple]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name in names:
        data = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=3)
        (folder / name).write_bytes(cifar10_batch(data, labels))
        written[name] = (data, labels)
    return written


TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def test_fake_batches_match_the_official_reader() -> None:
    # The reader the CIFAR-10 page suggests must see the same content as ours.
    data = np.arange(2 * 3072).astype(np.uint8).reshape(2, 3072)
    batch = pickle.loads(cifar10_batch(data, np.array([3, 7])), encoding="bytes")
    np.testing.assert_array_equal(batch[b"data"], data)
    assert batch[b"labels"] == [3, 7]


@pytest.mark.parametrize("nested", [True, False])
def test_train_batches_round_trip(tmp_path: Path, nested: bool) -> None:
    folder = tmp_path / "cifar-10-batches-py" if nested else tmp_path
    written = _write_batches(folder, TRAIN, seed=0)
    data = load_cifar10(str(tmp_path))
    assert data.images.shape == (15, 3, 32, 32) and data.images.dtype == np.float32
    assert data.classes == 10
    pixels = np.concatenate([written[name][0] for name in TRAIN])
    labels = np.concatenate([written[name][1] for name in TRAIN])
    np.testing.assert_allclose(data.images, pixels.reshape(15, 3, 32, 32) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, labels)
    # Channel-major rows: the first 1024 values are the red plane, row by row.
    np.testing.assert_allclose(data.images[0, 0, 1, :], pixels[0, 32:64] / 255.0, rtol=1e-6)


def test_test_batch_round_trip(tmp_path: Path) -> None:
    written = _write_batches(tmp_path, ["test_batch"], seed=1)
    data = load_cifar10(str(tmp_path), train=False)
    pixels, labels = written["test_batch"]
    np.testing.assert_allclose(data.images.reshape(3, 3072), pixels / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(data.labels, labels)


@pytest.mark.parametrize("train", [True, False])
def test_missing_directory_says_what_to_download(tmp_path: Path, train: bool) -> None:
    root = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as error:
        load_cifar10(root, train=train)
    message = str(error.value)
    assert "CIFAR-10 python version" in message and "cifar-10-python.tar.gz" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert "extract" in message and root in message
    assert ("data_batch_1" if train else "test_batch") in message


def test_incomplete_directory_is_not_found(tmp_path: Path) -> None:
    _write_batches(tmp_path, TRAIN[:4], seed=0)
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"not extracted")
    with pytest.raises(FileNotFoundError, match="data_batch_5"):
        load_cifar10(str(tmp_path))


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    payload = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    (tmp_path / "test_batch").write_bytes(payload)
    with pytest.raises(ValueError, match=r"os\.system is not part of a CIFAR-10 batch"):
        load_cifar10(str(tmp_path), train=False)
    assert not os.path.exists(marker)


def test_a_batch_with_the_wrong_layout_is_refused(tmp_path: Path) -> None:
    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": [1, 2]}))
    with pytest.raises(ValueError, match="not a CIFAR-10 python batch"):
        load_cifar10(str(tmp_path), train=False)


def test_the_dataset_object_knows_its_shape_without_loading_and_loads_both_splits(
    tmp_path: Path,
) -> None:
    cifar = DATASETS["cifar10"](root=str(tmp_path / "nowhere"))
    assert cifar.sample_shape == (3, 32, 32) and cifar.classes == 10
    assert cifar.mean == (0.4914, 0.4822, 0.4465) and len(cifar.std) == 3
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz"):
        cifar.load(split_seed=0)
    written = _write_batches(tmp_path / "cifar-10-batches-py", [*TRAIN, "test_batch"], seed=2)
    train, test = DATASETS["cifar10"](root=str(tmp_path)).load(split_seed=0)
    assert len(train) == 5 * 3 and len(test) == 3
    np.testing.assert_array_equal(test.labels, written["test_batch"][1])
    with pytest.raises(ValueError, match=r"dataset\.root: cifar10 needs the directory"):
        DATASETS["cifar10"]()


@pytest.mark.parametrize(
    "content",
    [b"", b"\x80\x02", b"\x80\x05garbage", b"not a pickle at all", b"\x80\x02}q\x00(U\x04"],
)
def test_a_malformed_batch_is_a_clear_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    _write_batches(tmp_path, TRAIN[:4], seed=0)
    (tmp_path / TRAIN[4]).write_bytes(content)
    with pytest.raises(ValueError, match=rf"{TRAIN[4]} is not a CIFAR-10 python batch .*again"):
        load_cifar10(str(tmp_path))
