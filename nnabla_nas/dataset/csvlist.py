"""nnabla's CSV dataset files (as Neural Network Console writes them): images and labels.

The first row is the header: a column per variable, named ``NAME[:DESCRIPTION]``
(``x:image,y:label``); columns whose name starts with ``#`` are comments. Each further row
holds an image path, relative to the CSV file's folder (``\\`` read as ``/``), and an integer
label. This is the form of nnabla's ``data_iterator_csv_dataset`` for image classification;
vector columns (``x__0,x__1,...``) are not read.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

IMAGE, LABEL = "x", "y"
_EXAMPLE = f"{IMAGE}:image,{LABEL}:label"


@dataclass(frozen=True, eq=False)
class CsvRows:
    """The rows of a CSV dataset file.

    Args:
        paths: each row's image file, as an absolute path.
        labels: each row's label, int32.
        sources: each row's place, ``'<file> line <n>'``, for messages.
    """

    paths: list[str]
    labels: np.ndarray
    sources: list[str]


def read_csv_list(path: str) -> CsvRows:
    """The rows of the CSV dataset file at `path`, checked (images exist, labels are ints).

    Raises:
        FileNotFoundError: the CSV file or a row's image is missing (the message names the row).
        ValueError: a wrong header, a row of the wrong length or a label that is not a
            non-negative integer; the message names the row.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"CSV dataset file {path!r} not found; give the path of a CSV file whose header "
            f"is {_EXAMPLE!r} (nnabla's data_iterator_csv_dataset format)"
        )
    # utf-8-sig: files saved by spreadsheet programs on Windows start with a byte-order mark.
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            rows = list(_rows(path, reader))
        except (csv.Error, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path} line {reader.line_num}: not a UTF-8 CSV file ({error})"
            ) from None
    if not rows:
        raise ValueError(f"{path} holds no rows after its header; add one image per row")
    paths, labels, sources = zip(*rows, strict=True)
    return CsvRows(list(paths), np.array(labels, dtype=np.int32), list(sources))


def _rows(path: str, reader: Any) -> Iterator[tuple[str, int, str]]:
    """The (image path, label, place) of each row after the header, checked."""
    header = next(reader, None)
    if header is None:
        raise ValueError(f"{path} is empty; its first line must be the header {_EXAMPLE}")
    image, label = _columns(path, header)
    base = os.path.dirname(os.path.abspath(path))
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue  # blank lines, e.g. a trailing one
        source = f"{path} line {reader.line_num}"
        if len(row) != len(header):
            raise ValueError(
                f"{source}: {len(row)} values but the header has {len(header)} columns"
            )
        yield _image_path(source, base, row[image]), _label(source, row[label]), source


def _columns(path: str, header: list[str]) -> tuple[int, int]:
    """The indices of the image and the label column in `header`."""
    names = [column.split(":", 1)[0].strip() for column in header]
    # Comment columns start with '#' (nnabla drops them); exactly one x and one y remain.
    if sorted(name for name in names if not name.startswith("#")) != [IMAGE, LABEL]:
        raise ValueError(
            f"{path} line 1: the header {','.join(header)!r} is not that of an image "
            f"classification CSV dataset; it must name an image column {IMAGE!r} and a label "
            f"column {LABEL!r} (and comment columns starting with '#'), e.g. {_EXAMPLE!r}"
        )
    return names.index(IMAGE), names.index(LABEL)


def _label(source: str, value: str) -> int:
    """`value` as a label: a non-negative integer, written `3` or (nnabla reads floats) `3.0`."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    # is_integer is False for nan and inf; labels are stored as int32.
    if not (number.is_integer() and 0 <= number < 2**31):
        raise ValueError(f"{source}: label {value!r} is not a non-negative integer")
    return int(number)


def _image_path(source: str, base: str, value: str) -> str:
    """The absolute path of a row's image, checked to exist."""
    relative = value.strip().replace("\\", "/")
    path = os.path.normpath(os.path.join(base, relative))
    if not relative or not os.path.isfile(path):
        raise FileNotFoundError(
            f"{source}: image {value!r} not found at {path!r}; image paths are relative to "
            "the CSV file's folder"
        )
    return path
