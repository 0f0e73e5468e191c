"""nnabla's CSV dataset files (``x:image,y:label``) on tiny PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnabla_nas.app.build import make_data, normalization
from nnabla_nas.app.config import ConfigError, SearchConfig, load_config
from nnabla_nas.app.schema import DatasetConfig
from nnabla_nas.dataset import DATASETS, CsvList, read_csv_list

from .image_files import solid, write_image


def _lists(root: Path, train_labels: list[int], test_labels: list[int]) -> tuple[str, str]:
    """Writes ``images/<i>.png`` (red = i) and the two CSV files listing them: the training
    file in a subfolder, its paths written Windows-style as Neural Network Console does."""
    total = len(train_labels) + len(test_labels)
    for i in range(total):
        write_image(root / "images" / f"{i}.png", solid((i, 2 * i, 3)))
    train = root / "lists" / "train.csv"
    train.parent.mkdir()
    rows = [f"..\\images\\{i}.png,{y}" for i, y in enumerate(train_labels)]
    train.write_text("\n".join(["x:image,y:label", *rows]) + "\n")
    test = root / "test.csv"
    offset = len(train_labels)
    test.write_text("x:image,y:label\n" + "".join(
        f"images/{offset + i}.png,{y}\n" for i, y in enumerate(test_labels)))  # fmt: skip
    return str(train), str(test)


def test_both_lists_load_with_their_labels_and_pixels(tmp_path: Path) -> None:
    train, test = _lists(tmp_path, [2, 0, 1, 2], [4, 0])
    csv = DATASETS["csv"](train=train, test=test, image_size=4)
    assert isinstance(csv, CsvList) and csv.sample_shape == (3, 4, 4)
    assert csv.classes == 5  # 0 .. the largest label of either file
    assert csv.mean is None and csv.std is None  # inputs stay in [0, 1]
    first, second = csv.load(split_seed=0)
    np.testing.assert_array_equal(first.labels, [2, 0, 1, 2])
    np.testing.assert_array_equal(second.labels, [4, 0])
    assert first.classes == second.classes == 5
    np.testing.assert_array_equal(first.images[:, 0, 1, 1] * 255, [0, 1, 2, 3])
    np.testing.assert_array_equal(second.images[:, :, 3, 0] * 255, [[4, 8, 3], [5, 10, 3]])


def test_one_channel_reads_grayscale(tmp_path: Path) -> None:
    train, test = _lists(tmp_path, [0, 1], [1])
    csv = DATASETS["csv"](train=train, test=test, image_size=2, channels=1)
    assert csv.sample_shape == (1, 2, 2)
    data, _ = csv.load(split_seed=0)
    # Image 1 is (1, 2, 3): luma (19595 + 2 * 38470 + 3 * 7471 + 2^15) >> 16 = 2.
    np.testing.assert_array_equal(data.images[:, 0, 0, 0] * 255, [0, 2])


def test_nnabla_header_forms(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", solid((9, 9, 9)))
    path = tmp_path / "list.csv"
    # A byte-order mark, the columns swapped, a comment column and bare names: all nnabla's.
    path.write_text("\ufeffy,#note,x\n3,first,a.png\n\n1.0, ,a.png\n", encoding="utf-8")
    rows = read_csv_list(str(path))
    assert rows.labels.tolist() == [3, 1] and rows.paths == [str(tmp_path / "a.png")] * 2
    assert rows.sources == [f"{path} line 2", f"{path} line 4"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("image,label\na.png,0\n", "line 1: the header 'image,label' is not that of an image "
         "classification CSV dataset; it must name an image column 'x' and a label column 'y'"),
        ("x:image,y:label,z:other\na.png,0,1\n", "line 1: the header 'x:image,y:label,z:other'"),
        ("x__0,x__1,y\n1,2,0\n", "line 1: the header 'x__0,x__1,y'"),
        ("x:image,y:label\na.png,cat\n", "line 2: label 'cat' is not a non-negative integer"),
        ("x:image,y:label\na.png,0\na.png,-1\n", "line 3: label '-1' is not a non-negative"),
        ("x:image,y:label\na.png,2.5\n", "line 2: label '2.5' is not a non-negative integer"),
        ("x:image,y:label\na.png,\n", "line 2: label '' is not a non-negative integer"),
        ("x:image,y:label\na.png,nan\n", "line 2: label 'nan' is not"),
        ("x:image,y:label\na.png,3e9\n", "line 2: label '3e9' is not"),  # past int32
        ("x:image,y:label\na.png,0,1\n", "line 2: 3 values but the header has 2 columns"),
        ("", "is empty; its first line must be the header x:image,y:label"),
        ("x:image,y:label\n", "holds no rows after its header; add one image per row"),
    ],
)  # fmt: skip
def test_bad_lists_are_one_line_errors_naming_the_row(
    tmp_path: Path, content: str, message: str
) -> None:
    write_image(tmp_path / "a.png", solid((0, 0, 0)))
    (tmp_path / "list.csv").write_text(content)
    with pytest.raises(ValueError) as error:
        read_csv_list(str(tmp_path / "list.csv"))
    assert str(error.value).startswith(f"{tmp_path / 'list.csv'}")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_missing_files_name_the_list_or_the_row(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as error:
        read_csv_list(str(tmp_path / "none.csv"))
    assert str(error.value) == (
        f"CSV dataset file {str(tmp_path / 'none.csv')!r} not found; give the path of a CSV "
        "file whose header is 'x:image,y:label' (nnabla's data_iterator_csv_dataset format)"
    )
    (tmp_path / "list.csv").write_text("x:image,y:label\nimgs\\gone.png,0\n")
    with pytest.raises(FileNotFoundError) as error:
        read_csv_list(str(tmp_path / "list.csv"))
    assert str(error.value) == (
        f"{tmp_path / 'list.csv'} line 2: image 'imgs\\\\gone.png' not found at "
        f"{str(tmp_path / 'imgs' / 'gone.png')!r}; image paths are relative to the CSV "
        "file's folder"
    )


def test_bytes_that_are_not_utf8_and_undecodable_images_name_the_row(tmp_path: Path) -> None:
    (tmp_path / "list.csv").write_bytes(b"x:image,y:label\n\xff\xfe.png,0\n")
    with pytest.raises(ValueError, match=r"list\.csv line \d: not a UTF-8 CSV file"):
        read_csv_list(str(tmp_path / "list.csv"))
    train, test = _lists(tmp_path, [0, 1], [0])
    (tmp_path / "images" / "1.png").write_bytes(b"garbage")
    with pytest.raises(ValueError) as error:
        DATASETS["csv"](train=train, test=test, image_size=4).load(split_seed=0)
    assert str(error.value).startswith(f"{train} line 3: {tmp_path / 'images' / '1.png'}: "
                                       "cannot decode the image")  # fmt: skip


def test_a_search_splits_the_training_list_into_disjoint_parts(tmp_path: Path) -> None:
    train, test = _lists(tmp_path, [i % 2 for i in range(10)], [0, 1])
    options = {"train": train, "test": test, "image_size": 2}
    cfg = DatasetConfig(name="csv", batch_size=2, valid_fraction=0.4, options=options)
    data = make_data(cfg, seed=0, search=True)
    parts = [data.train[k].dataset for k in ("train", "valid")]
    reds = [sorted(np.round(p.images[:, 0, 0, 0] * 255).astype(int).tolist()) for p in parts]
    assert [len(r) for r in reds] == [6, 4] and sorted(reds[0] + reds[1]) == list(range(10))
    assert [np.bincount(p.labels).tolist() for p in parts] == [[3, 3], [2, 2]]
    assert (data.classes, data.sample_shape) == (2, (3, 2, 2))
    assert normalization(cfg) is None  # no statistics of its own: inputs in [0, 1]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.test=t.csv"], "dataset.train: csv needs the train CSV file (nnabla's dataset "
         "format, header x:image,y:label); set dataset.train=PATH"),
        (["dataset.train=t.csv"], "dataset.test: csv needs the test CSV file"),
        (["dataset.train=a.csv", "dataset.test=b.csv", "dataset.channels=2"],
         "dataset.channels must be 3 (RGB) or 1 (grayscale), got 2"),
        (["dataset.train=a.csv", "dataset.test=b.csv", "dataset.root=/d"],
         "config.dataset: unknown key 'root' for dataset 'csv'; valid keys are: name,"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(SearchConfig, None, ["dataset.name=csv", *overrides])
    assert str(error.value).startswith(message) and "\n" not in str(error.value)
