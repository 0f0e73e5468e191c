"""Image folders (``root/train/<class>/``, ``root/val/<class>/``) on tiny PNG files."""

from __future__ import annotations

from pathlib import Path

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.app.build import make_data, make_transform
from nnabla_nas.app.config import ConfigError, SearchConfig, load_config
from nnabla_nas.app.schema import DatasetConfig
from nnabla_nas.dataset import DATASETS, ImageFolder, load_image_folder

from .image_files import solid, write_image

# Images per class and split. An image's red is 10 * its index in the class, its green
# 50 * the class's place here (cat 0, dog 1, bird 2): the pixels tell which file it was.
COUNTS = {"train": {"cat": 3, "dog": 2, "bird": 1}, "val": {"cat": 1, "dog": 2}}


def _tree(root: Path) -> Path:
    for split, counts in COUNTS.items():
        for number, (name, count) in enumerate(counts.items()):
            for i in range(count):
                write_image(root / split / name / f"{i}.png", solid((10 * i, 50 * number, 7)))
    return root


def test_images_labels_and_classes_of_each_split(tmp_path: Path) -> None:
    root = str(_tree(tmp_path))
    train = load_image_folder(root, "train", 4)
    assert train.images.shape == (6, 3, 4, 4) and train.classes == 3
    # Classes are the sorted folder names: bird 0, cat 1, dog 2; files in sorted order.
    np.testing.assert_array_equal(train.labels, [0, 1, 1, 1, 2, 2])
    np.testing.assert_array_equal(train.images[:, 0, 0, 0] * 255, [0, 0, 10, 20, 0, 10])
    np.testing.assert_array_equal(train.images[:, 1, 3, 3] * 255, [100, 0, 0, 0, 50, 50])
    np.testing.assert_allclose(train.images[:, 2], 7 / 255, rtol=1e-6)
    val = load_image_folder(root, "val", 4)  # no bird images: still 3 classes, same labels
    assert val.classes == 3 and val.labels.tolist() == [1, 2, 2]


def test_nested_hidden_and_other_files(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    write_image(root / "train" / "cat" / "more" / "a.PNG", solid((250, 0, 0)))
    write_image(root / "train" / "cat" / "b.jpeg", solid((0, 0, 250)), quality=100)
    write_image(root / "train" / "dog" / ".hidden.png", solid((1, 1, 1)))
    write_image(root / "train" / ".cache" / "x.png", solid((1, 1, 1)))
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    (root / "train" / "LOC_synset_mapping.txt").write_text("a file beside the classes")
    train = load_image_folder(str(root), "train", 4)
    assert np.bincount(train.labels).tolist() == [1, 5, 2]
    # cat: 0.png 1.png 2.png b.jpeg more/a.PNG, in sorted path order.
    np.testing.assert_allclose(train.images[1:6, 0, 0, 0] * 255, [0, 10, 20, 0, 250], atol=2)


def test_the_dataset_object(tmp_path: Path) -> None:
    folder = DATASETS["folder"](root=str(_tree(tmp_path)), image_size=4)
    assert isinstance(folder, ImageFolder) and folder.sample_shape == (3, 4, 4)
    assert folder.class_names() == ["bird", "cat", "dog"] and folder.classes == 3
    assert folder.mean == (0.485, 0.456, 0.406) and folder.std == (0.229, 0.224, 0.225)
    train, test = folder.load(split_seed=0)
    assert (len(train), len(test)) == (6, 3)
    assert DATASETS["folder"](root="x").sample_shape == (3, 32, 32)  # the default size


def test_the_inputs_are_normalised_with_imagenet_statistics(tmp_path: Path) -> None:
    cfg = DatasetConfig(name="folder", options={"root": str(_tree(tmp_path)), "image_size": 4})
    data = load_image_folder(cfg.options["root"], "train", 4)
    x = nn.Variable.from_numpy_array(data.images)
    y = make_transform(cfg)(x, training=False)  # type: ignore[misc]
    y.forward()
    # The last cat image: (20, 0, 7) / 255, less the mean, over the std.
    expected = (np.array([20, 0, 7]) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    np.testing.assert_allclose(y.d[3, :, 2, 1], expected, rtol=1e-5)


def test_a_search_splits_the_training_images_into_disjoint_parts(tmp_path: Path) -> None:
    for i in range(12):
        write_image(tmp_path / "train" / f"c{i % 3}" / f"{i}.png", solid((i, 0, 0)))
    write_image(tmp_path / "val" / "c0" / "0.png", solid((0, 0, 0)))
    cfg = DatasetConfig(name="folder", batch_size=2, valid_fraction=0.25,
                        options={"root": str(tmp_path), "image_size": 4})  # fmt: skip
    data = make_data(cfg, seed=0, search=True)
    parts = [data.train[k].dataset for k in ("train", "valid")]
    reds = [sorted(np.round(p.images[:, 0, 0, 0] * 255).astype(int).tolist()) for p in parts]
    assert [len(r) for r in reds] == [9, 3] and sorted(reds[0] + reds[1]) == list(range(12))
    assert [np.bincount(p.labels).tolist() for p in parts] == [[3, 3, 3], [1, 1, 1]]
    assert (data.sample_shape, data.classes, len(data.test.dataset)) == ((3, 4, 4), 3, 1)


def test_missing_folders_say_how_to_lay_the_images_out(tmp_path: Path) -> None:
    layout = "arrange the images as ROOT/train/<class>/*.jpg|png and ROOT/val/<class>/*.jpg|png"
    with pytest.raises(FileNotFoundError) as error:
        DATASETS["folder"](root=str(tmp_path / "nowhere")).class_names()
    assert str(error.value) == (
        f"image folder {str(tmp_path / 'nowhere' / 'train')!r} not found: {layout} and set "
        "dataset.root=ROOT"
    )
    write_image(tmp_path / "train" / "a" / "0.png", solid((0, 0, 0)))
    with pytest.raises(FileNotFoundError, match=rf"image folder '.*val' not found: {layout}"):
        DATASETS["folder"](root=str(tmp_path)).load(split_seed=0)


def test_bad_trees_are_one_line_errors_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match=r"train holds no class folders; put each class's"):
        load_image_folder(str(tmp_path), "train", 4)
    (tmp_path / "train" / "a").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*train/a holds no images \(\.jpg\|"):
        load_image_folder(str(tmp_path), "train", 4)
    write_image(tmp_path / "train" / "a" / "0.png", solid((0, 0, 0)))
    write_image(tmp_path / "val" / "b" / "0.png", solid((0, 0, 0)))
    with pytest.raises(ValueError, match=r"val/b is not a class of .*train \(its classes: a\)"):
        load_image_folder(str(tmp_path), "val", 4)


def test_an_image_that_cannot_be_decoded_names_the_file(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "train" / "dog" / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(ValueError, match=r"train/dog/1\.png: cannot decode the image"):
        DATASETS["folder"](root=str(tmp_path), image_size=4).load(split_seed=0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ([], "dataset.root: folder needs a directory of images laid out as ROOT/train/<class>/"),
        (["dataset.root=/d", "dataset.image_size=0"], "dataset.image_size must be a positive"),
        (["dataset.root=/d", "dataset.image_size=true"], "config.dataset.image_size: expected"),
        (["dataset.root=/d", "dataset.labels=fine"],
         "config.dataset: unknown key 'labels' for dataset 'folder'; valid keys are: name,"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(SearchConfig, None, ["dataset.name=folder", *overrides])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
