"""Image folders in ImageNet's layout: ``root/train/<class>/*.jpg`` and ``root/val/<class>/``."""

from __future__ import annotations

import os

import numpy as np

from .dataset import ArrayDataset
from .images import EXTENSIONS, is_image, read_images

#: The subfolders of the root: the training images, then the test images.
SPLITS = ("train", "val")


def folder_classes(root: str) -> list[str]:
    """The class names: the sorted subfolders of ``root/train`` (hidden ones skipped).

    Raises:
        FileNotFoundError: ``root/train`` is not a directory; the message gives the layout.
        ValueError: it has no class subfolders.
    """
    train = _split_dir(root, SPLITS[0])
    names = sorted(e.name for e in os.scandir(train) if e.is_dir() and not _hidden(e.name))
    if not names:
        raise ValueError(
            f"{train} holds no class folders; put each class's images in {train}/<class>/"
        )
    return names


def load_image_folder(
    root: str, split: str, size: int, classes: list[str] | None = None
) -> ArrayDataset:
    """The images of ``root/<split>`` as (N, 3, size, size) RGB in [0, 1], decoded once.

    Each class folder's images (``.jpg``, ``.jpeg``, ``.png``, also in nested folders) are
    taken in sorted path order; label ``i`` is ``classes[i]``. Other files are skipped.

    Args:
        root: the directory holding ``train/`` and ``val/``.
        split: ``'train'`` or ``'val'``.
        size: the side of the square images (shorter side resized, centre crop).
        classes: the class names, by default :func:`folder_classes`; a class folder of
            ``val`` must be one of them, but may be missing.

    Raises:
        FileNotFoundError: the split's directory is missing.
        ValueError: an unknown or empty class folder, or an image that cannot be decoded.
    """
    classes = folder_classes(root) if classes is None else classes
    folder = _split_dir(root, split)
    found = sorted(e.name for e in os.scandir(folder) if e.is_dir() and not _hidden(e.name))
    unknown = [name for name in found if name not in classes]
    if unknown:
        raise ValueError(
            f"{folder}/{unknown[0]} is not a class of {_split_dir(root, SPLITS[0])} (its "
            f"classes: {', '.join(classes)}); rename or remove it"
        )
    paths: list[str] = []
    labels: list[int] = []
    for name in found:
        files = _image_files(os.path.join(folder, name))
        paths += files
        labels += [classes.index(name)] * len(files)
    if not paths:
        raise ValueError(f"{folder} holds no images in class folders ({'|'.join(EXTENSIONS)})")
    return ArrayDataset(read_images(paths, size), np.array(labels), len(classes))


def _split_dir(root: str, split: str) -> str:
    folder = os.path.join(root, split)
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"image folder {folder!r} not found: arrange the images as "
            f"ROOT/{SPLITS[0]}/<class>/*.jpg|png and ROOT/{SPLITS[1]}/<class>/*.jpg|png and "
            "set dataset.root=ROOT"
        )
    return folder


def _image_files(folder: str) -> list[str]:
    """The image files under `folder`, recursively, in sorted path order."""
    files = []
    for top, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not _hidden(d)]
        files += [os.path.join(top, n) for n in names if is_image(n) and not _hidden(n)]
    if not files:
        raise ValueError(
            f"class folder {folder} holds no images ({'|'.join(EXTENSIONS)}); add some or remove it"
        )
    return sorted(files)


def _hidden(name: str) -> bool:
    return name.startswith(".")
