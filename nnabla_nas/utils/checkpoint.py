"""Checkpoints that a crash cannot corrupt: complete folders, published by a pointer file."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

from .io import write_json

POINTER = "latest.json"
STATE = "state.json"

logger = logging.getLogger("nnabla_nas")


class CheckpointError(ValueError):
    """A checkpoint cannot be read; the message names the file and what to do."""


class Checkpointer:
    """Writes and finds checkpoints under `directory`.

    Each checkpoint is a folder ``epoch_NNNN`` (the number of epochs done, from 1, as
    everywhere a run numbers its epochs) written under a temporary name and renamed
    when complete; ``latest.json`` (replaced atomically) names the newest one, so a kill at
    any moment leaves the previous checkpoint usable. The last `keep` folders are kept.
    When the pointer is missing, unreadable or names a folder that is gone or incomplete,
    `latest` falls back to the newest intact folder, with a warning.
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
            write_json(os.path.join(tmp, STATE), {"epoch": epoch, **state})
            final = os.path.join(self.directory, name)
            if os.path.exists(final):
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if os.path.exists(tmp):
                shutil.rmtree(tmp)
        write_json(os.path.join(self.directory, POINTER), {"latest": name})
        self._prune(name)
        return final

    def latest(self) -> str | None:
        """Returns the folder of the newest complete checkpoint, or None."""
        pointer = os.path.join(self.directory, POINTER)
        named, problem = self._pointed(pointer)
        if named is not None and _intact(named):
            return named
        fallback = self._newest_intact()
        if problem is None and named is not None:
            problem = f"it names '{named}', which is missing or incomplete"
        if problem is not None and fallback is not None:
            logger.warning(f"checkpoint pointer '{pointer}': {problem}; using {fallback}")
        return fallback

    def _pointed(self, pointer: str) -> tuple[str | None, str | None]:
        """The folder `pointer` names, or why it names none (None when it does not exist)."""
        if not os.path.exists(pointer):
            return None, None
        try:
            with open(pointer, encoding="utf-8") as f:
                name = json.load(f)["latest"]
            if not isinstance(name, str) or os.sep in name or not name.startswith("epoch_"):
                raise ValueError(f"'latest' is {name!r}, not a checkpoint folder name")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            return None, f"unreadable ({type(err).__name__}: {err})"
        return os.path.join(self.directory, name), None

    def _newest_intact(self) -> str | None:
        if not os.path.isdir(self.directory):
            return None
        names = sorted((n for n in os.listdir(self.directory) if n.startswith("epoch_")),
                       reverse=True)  # fmt: skip
        return next((os.path.join(self.directory, n) for n in names
                     if _intact(os.path.join(self.directory, n))), None)  # fmt: skip

    @staticmethod
    def read_state(folder: str) -> dict[str, Any]:
        """Returns the ``state.json`` of a checkpoint folder.

        Raises:
            CheckpointError: the file is missing, not JSON, or has no integer ``epoch``.
        """
        path = os.path.join(folder, STATE)
        try:
            with open(path, encoding="utf-8") as f:
                state = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as err:
            raise CheckpointError(
                f"checkpoint state '{path}' cannot be read ({type(err).__name__}: {err}); "
                f"delete the folder '{folder}' to resume from the checkpoint before it"
            ) from None
        epoch = state.get("epoch") if isinstance(state, dict) else None
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise CheckpointError(
                f"checkpoint state '{path}' has no epoch number; delete the folder '{folder}' "
                "to resume from the checkpoint before it"
            )
        return dict(state)

    def _prune(self, newest: str) -> None:
        """Keeps the `keep` newest folders up to `newest` and drops later ones (left by a
        run that went further before a resume repeated epochs) and unfinished ones."""
        names = sorted(n for n in os.listdir(self.directory) if n.startswith("epoch_"))
        kept = [n for n in names if n <= newest][-self.keep :]
        for name in names:
            if name not in kept:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
        for name in os.listdir(self.directory):
            if name.startswith(".tmp-"):
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)


def _intact(folder: str) -> bool:
    """Whether `folder` is a complete checkpoint: a readable state with an epoch."""
    try:
        Checkpointer.read_state(folder)
    except CheckpointError:
        return False
    return os.path.isdir(folder)
