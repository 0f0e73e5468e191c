"""Atomic file output: a crash never leaves a half-written file behind."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path`; renames it onto `path` on success.

    The suffix is kept so that writers which dispatch on the extension still work. The
    temporary file is created with mode 0o666, which the process umask reduces as it does
    for any new file, so the result has a new file's permissions.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(path)[1]
    tmp = _new_file(directory, suffix)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _new_file(directory: str, suffix: str) -> str:
    """Creates an empty, uniquely named file in `directory`; returns its path."""
    for _ in range(100):
        name = os.path.join(directory, f".tmp-{secrets.token_hex(6)}{suffix}")
        try:
            fd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return name
    raise FileExistsError(f"could not create a temporary file in '{directory}'")


def write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def write_json(path: str, data: Any) -> None:
    """Writes `data` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(data, indent=2) + "\n")


def read_json(path: str, what: str) -> Any:
    """Reads a JSON file; a missing file or bad JSON is an error naming `what` and `path`.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not valid JSON.
    """
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} file '{path}' does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{what} file '{path}' is a directory; give a JSON file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{what} file '{path}' is not a text (UTF-8) file") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{what} file '{path}' is not valid JSON: {err}") from None
