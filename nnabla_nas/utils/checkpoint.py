"""Checkpoints that a crash cannot corrupt: complete folders, published by a pointer file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from .io import write_json

POINTER = "latest.json"


class Checkpointer:
    """Writes and finds checkpoints under `directory`.

    Each checkpoint is a folder ``epoch_NNNN`` written under a temporary name and renamed
    when complete; ``latest.json`` (replaced atomically) names the newest one, so a kill at
    any moment leaves the previous checkpoint usable. The last `keep` folders are kept.
    """

    def __init__(self, directory: str, *, keep: int = 2) -> None:
        self.directory = directory
        self.keep = keep

    def save(self, epoch: int, write: Callable[[str], None], state: dict[str, Any]) -> str:
        """Calls ``write(folder)`` to fill a new checkpoint, adds ``state.json``, publishes it."""
        os.makedirs(self.directory, exist_ok=True)
        name = f"epoch_{epoch:04d}"
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=self.directory)
        try:
            write(tmp)
            write_json(os.path.join(tmp, "state.json"), {"epoch": epoch, **state})
            final = os.path.join(self.directory, name)
            if os.path.exists(final):
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                shutil.rmtree(tmp)
        write_json(os.path.join(self.directory, POINTER), {"latest": name})
        self._prune(keep=name)
        return final

    def latest(self) -> str | None:
        """Returns the folder of the newest complete checkpoint, or None."""
        pointer = os.path.join(self.directory, POINTER)
        if not os.path.exists(pointer):
            return None
        with open(pointer, encoding="utf-8") as f:
            folder = os.path.join(self.directory, json.load(f)["latest"])
        return folder if os.path.isdir(folder) else None

    @staticmethod
    def read_state(folder: str) -> dict[str, Any]:
        """Returns the ``state.json`` of a checkpoint folder."""
        with open(os.path.join(folder, "state.json"), encoding="utf-8") as f:
            return dict(json.load(f))

    def _prune(self, keep: str) -> None:
        names = sorted(n for n in os.listdir(self.directory) if n.startswith("epoch_"))
        for name in names[: -self.keep]:
            if name != keep:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        for name in os.listdir(self.directory):
            if name.startswith(".tmp-"):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
