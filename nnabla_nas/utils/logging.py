"""Run logging: a text log, `metrics.csv` and TensorBoard event files."""

from __future__ import annotations

import csv
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

from .io import write_text

LOGGER_NAME = "nnabla_nas"
FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


def package_logger() -> logging.Logger:
    """The logger of the package (``nnabla_nas``); the root logger is never touched."""
    return logging.getLogger(LOGGER_NAME)


@contextmanager
def log_to_file(path: str, logger: logging.Logger | None = None) -> Iterator[logging.Logger]:
    """Within the block, INFO and above of `logger` (the package's) also go to `path`.

    The handler is removed and closed on exit, and the logger's level restored, so runs
    one after the other in a process each get their own file.
    """
    logger = logger or package_logger()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(FORMAT)
    level = logger.level
    if level == logging.NOTSET or level > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)


def console_handler(stream: TextIO | None = None) -> logging.Handler:
    """A handler printing log lines to `stream` (stderr), in the package's format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(FORMAT)
    return handler


class MetricsTable:
    """The per-epoch metrics of a run, rewritten atomically to a CSV file each epoch."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.rows: list[dict[str, float]] = []

    def load(self, done: int) -> None:
        """Reads the rows of an earlier run, keeping only epochs 1 to `done` (those its
        checkpoint holds; a resumed run repeats the others)."""
        if not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8", newline="") as f:
            rows = [{k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]
        self.rows = [r for r in rows if int(r["epoch"]) <= done]

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
