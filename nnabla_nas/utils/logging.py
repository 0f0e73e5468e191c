"""Run logging: a text log, `metrics.csv` and TensorBoard event files."""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from collections.abc import Mapping

from .io import write_text


def get_logger(output_dir: str | None = None, name: str = "nnabla_nas") -> logging.Logger:
    """Returns the run logger, writing to stderr and, with `output_dir`, to ``log.txt``."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if output_dir is not None:
        os.makedirs(output_dir, exist_ok=True)
        handlers.append(logging.FileHandler(os.path.join(output_dir, "log.txt"), encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    return logger


class MetricsTable:
    """The per-epoch metrics of a run, rewritten atomically to a CSV file each epoch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows: list[dict[str, float]] = []

    def load(self, before_epoch: int) -> None:
        """Reads the rows of an earlier run, keeping only epochs before `before_epoch`."""
        if not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8", newline="") as f:
            rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
        self.rows = [r for r in rows if int(r["epoch"]) < before_epoch]

    def add(self, epoch: int, metrics: Mapping[str, float]) -> None:
        self.rows.append({"epoch": float(epoch), **{k: float(v) for k, v in metrics.items()}})
        self.save()

    def save(self) -> None:
        columns: list[str] = []
        for row in self.rows:
            columns.extend(k for k in row if k not in columns)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (int(v) if k == "epoch" else v) for k, v in row.items()})
        write_text(self.path, out.getvalue())
