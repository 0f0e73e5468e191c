"""CIFAR-100 on tiny files in the official layout: ``train``, ``test`` and ``meta``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.app.build import make_data, make_transform
from nnabla_nas.app.config import ConfigError, SearchConfig, load_config
from nnabla_nas.app.schema import DatasetConfig
from nnabla_nas.dataset import DATASETS, load_cifar100
from nnabla_nas.dataset.cifar100 import cifar100_names

from .cifar_files import py2_pickle

FINE_NAMES = [f"fine{i}".encode() for i in range(100)]
COARSE_NAMES = [f"coarse{i}".encode() for i in range(20)]


def _write(folder: Path, sizes: dict[str, int], seed: int = 0) -> dict[str, tuple]:
    """Writes ``train``/``test`` of the given sizes and ``meta``; returns (data, fine,
    coarse) of each. Each image's first pixel is its index, so every image differs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = {}
    for name, size in sizes.items():
        data = rng.integers(0, 256, size=(size, 3072), dtype=np.uint8)
        data[:, 0] = np.arange(size)
        fine, coarse = np.arange(size) % 100, (np.arange(size) * 7) % 20
        batch = {
            b"filenames": [f"img_{i}.png".encode() for i in range(size)],
            b"batch_label": f"{name} batch 1 of 1".encode(),
            b"fine_labels": [int(v) for v in fine],
            b"coarse_labels": [int(v) for v in coarse],
            b"data": data,
        }
        (folder / name).write_bytes(py2_pickle(batch))
        written[name] = (data, fine, coarse)
    meta = {b"fine_label_names": FINE_NAMES, b"coarse_label_names": COARSE_NAMES}
    (folder / "meta").write_bytes(py2_pickle(meta))
    return written


@pytest.mark.parametrize("nested", [True, False])
@pytest.mark.parametrize(("labels", "column", "classes"), [("fine", 1, 100), ("coarse", 2, 20)])
def test_both_files_round_trip_with_either_labels(
    tmp_path: Path, nested: bool, labels: str, column: int, classes: int
) -> None:
    written = _write(tmp_path / "cifar-100-python" if nested else tmp_path, {"train": 7, "test": 3})
    for name, train in (("train", True), ("test", False)):
        data = load_cifar100(str(tmp_path), train=train, labels=labels)
        pixels = written[name][0]
        assert data.images.shape == (len(pixels), 3, 32, 32) and data.classes == classes
        np.testing.assert_allclose(data.images.reshape(-1, 3072), pixels / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(data.labels, written[name][column])
    # Channel-major rows: values 1024 .. 2047 are the green plane.
    first = load_cifar100(str(tmp_path)).images[0]
    np.testing.assert_allclose(first[1, 0, :3], written["train"][0][0, 1024:1027] / 255.0)


def test_the_class_names_come_from_meta(tmp_path: Path) -> None:
    _write(tmp_path, {"train": 2, "test": 2})
    assert cifar100_names(str(tmp_path))[:3] == ["fine0", "fine1", "fine2"]
    coarse = DATASETS["cifar100"](root=str(tmp_path), labels="coarse").class_names()
    assert len(coarse) == 20 and coarse[19] == "coarse19"
    (tmp_path / "meta").write_bytes(py2_pickle({b"fine_label_names": FINE_NAMES[:99]}))
    with pytest.raises(ValueError, match=r"meta: expected 100 names under b'fine_label_names'"):
        cifar100_names(str(tmp_path))


def test_the_dataset_object_knows_its_shape_classes_and_statistics(tmp_path: Path) -> None:
    fine = DATASETS["cifar100"](root=str(tmp_path))
    coarse = DATASETS["cifar100"](root=str(tmp_path), labels="coarse")
    assert fine.sample_shape == coarse.sample_shape == (3, 32, 32)
    assert (fine.classes, coarse.classes) == (100, 20)
    assert fine.mean == (0.5071, 0.4865, 0.4409) and fine.std == (0.2673, 0.2564, 0.2762)
    _write(tmp_path, {"train": 5, "test": 4})
    train, test = coarse.load(split_seed=0)
    assert (len(train), len(test), train.classes, test.classes) == (5, 4, 20, 20)


@pytest.mark.parametrize("train", [True, False])
def test_a_missing_root_says_what_to_download_and_where(tmp_path: Path, train: bool) -> None:
    root = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as error:
        load_cifar100(root, train=train)
    message = str(error.value)
    assert message.startswith(f"CIFAR-100 batches {'train' if train else 'test'}, meta not found")
    assert "cifar-100-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html" in message
    assert "tar -xzf cifar-100-python.tar.gz -C DIR" in message and root in message
    assert "DIR/cifar-100-python" in message and "\n" not in message


def test_cifar10_files_are_not_cifar100(tmp_path: Path) -> None:
    (tmp_path / "data_batch_1").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="CIFAR-100 python version"):
        load_cifar100(str(tmp_path))
    _write(tmp_path, {"train": 2})
    os.remove(tmp_path / "meta")
    with pytest.raises(FileNotFoundError, match="batches train, meta not found"):
        load_cifar100(str(tmp_path))


def test_a_label_out_of_range_and_a_bad_layout_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, {"test": 2})
    bad = {b"data": np.zeros((2, 3072), np.uint8), b"fine_labels": [0, 100], b"coarse_labels": []}
    (tmp_path / "test").write_bytes(py2_pickle(bad))
    with pytest.raises(ValueError, match=r"test: b'fine_labels' must lie in \[0, 100\)"):
        load_cifar100(str(tmp_path), train=False)
    with pytest.raises(ValueError, match=r"one label per image, got data \(2, 3072\) and labels"):
        load_cifar100(str(tmp_path), train=False, labels="coarse")
    (tmp_path / "test").write_bytes(py2_pickle({b"data": np.zeros((1, 3072), np.uint8)}))
    with pytest.raises(ValueError, match=r"not a CIFAR-100 python batch: no b'data' and b'fine_"):
        load_cifar100(str(tmp_path), train=False)


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, {"train": 2})
    marker = tmp_path / "executed"
    (tmp_path / "train").write_bytes(f"cos\nsystem\n(S'touch {marker}'\ntR.".encode())
    with pytest.raises(ValueError) as error:
        load_cifar100(str(tmp_path))
    assert "os.system is not part of a CIFAR-100 batch; refusing to load it" in str(error.value)
    assert "download and extract cifar-100-python.tar.gz again" in str(error.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "dataset.root: cifar100 needs the directory of its python files; download "
             "cifar-100-python.tar.gz"),
        (["dataset.root=/d", "dataset.labels=medium"],
         "dataset.labels must be 'fine' or 'coarse', got 'medium'"),
        (["dataset.root=/d", "dataset.image_size=32"],
         "config.dataset: unknown key 'image_size' for dataset 'cifar100'"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(SearchConfig, None, ["dataset.name=cifar100", *overrides])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_search_splits_the_training_file_into_disjoint_halves(tmp_path: Path) -> None:
    written = _write(tmp_path, {"train": 200, "test": 10})
    options = {"root": str(tmp_path), "labels": "coarse"}
    cfg = DatasetConfig(name="cifar100", batch_size=8, options=options)
    data = make_data(cfg, seed=0, search=True)
    parts = [data.train[k].dataset for k in ("train", "valid")]
    firsts = [np.round(p.images[:, 0, 0, 0] * 255).astype(int) for p in parts]
    assert [len(p) for p in parts] == [100, 100] and not set(firsts[0]) & set(firsts[1])
    assert sorted([*firsts[0], *firsts[1]]) == list(range(200))
    # Stratified: each coarse class (10 images each) is split 5 / 5.
    assert [np.bincount(p.labels, minlength=20).tolist() for p in parts] == [[5] * 20] * 2
    assert (data.classes, len(data.test.dataset)) == (20, 10)
    np.testing.assert_array_equal(data.test.dataset.labels, written["test"][2])
    normalize = make_transform(cfg).transforms[-1]  # type: ignore[union-attr]
    np.testing.assert_allclose(normalize.mean, [0.5071, 0.4865, 0.4409])
