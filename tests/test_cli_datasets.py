"""The command on the datasets users bring: a search on an image folder, its architecture
retrained on a CSV list of the same images, and a missing folder refused before any work."""

import json
import os

import numpy as np
import yaml
from PIL import Image

from nnabla_nas.cli import main

TINY_TRAIN = {
    "seed": 1,
    "epochs": 1,
    "model": {"name": "darts", "init_channels": 4, "num_cells": 3},
}


def _write_images(root, rng):
    """Two classes of 8x8 PNGs, dark and bright noise: 24 training and 8 test images each.
    Returns the (path relative to `root`, label) of every image of each split."""
    rows = {"train": [], "val": []}
    for split, count in (("train", 24), ("val", 8)):
        for label, (low, high) in enumerate([(0, 128), (128, 256)]):
            for i in range(count):
                path = os.path.join(split, f"class{label}", f"{i}.png")
                os.makedirs(os.path.dirname(root / path), exist_ok=True)
                pixels = rng.integers(low, high, size=(8, 8, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / path)
                rows[split].append((path, label))
    return rows


def _config(path, data):
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_search_on_an_image_folder_then_retraining_on_a_csv_list(tmp_path, tiny_darts_search, rng):
    root = tmp_path / "images"
    rows = _write_images(root, rng)
    folder = {"name": "folder", "root": str(root), "image_size": 8, "batch_size": 16}
    search = _config(tmp_path / "search.yaml", {**tiny_darts_search, "epochs": 1,
                                                "dataset": folder})  # fmt: skip
    out = tmp_path / "search"
    assert main(["search", "-c", search, "-o", str(out), "--no-progress"]) == 0
    config = yaml.safe_load(open(out / "config.yaml"))
    assert config["dataset"]["name"] == "folder" and config["dataset"]["image_size"] == 8
    lines = open(out / "metrics.csv").read().splitlines()
    assert len(lines) == 2 and "valid/error" in lines[0]
    arch = json.load(open(out / "arch.json"))
    assert len(arch["normal"]) == 2 * 2

    for split, name in (("train", "train.csv"), ("val", "test.csv")):
        body = "".join(f"{path},{label}\n" for path, label in rows[split])
        (root / name).write_text("x:image,y:label\n" + body)
    csv = {"name": "csv", "train": str(root / "train.csv"), "test": str(root / "test.csv"),
           "image_size": 8, "batch_size": 16}  # fmt: skip
    train = _config(tmp_path / "train.yaml", {**TINY_TRAIN, "dataset": csv})
    result_dir = tmp_path / "train"
    args = ["train", "-c", train, "-o", str(result_dir), "--arch", str(out / "arch.json")]
    assert main([*args, "--no-progress"]) == 0
    result = json.load(open(result_dir / "result.json"))
    assert 0.0 <= result["test_accuracy"] <= 1.0


def test_a_missing_image_folder_is_refused_before_any_work(tmp_path, tiny_darts_search, capsys):
    folder = {"name": "folder", "root": str(tmp_path / "nowhere"), "image_size": 8}
    config = _config(tmp_path / "c.yaml", {**tiny_darts_search, "dataset": folder})
    assert main(["search", "-c", config, "-o", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "arrange the images as ROOT/train/<class>/*.jpg|png" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
