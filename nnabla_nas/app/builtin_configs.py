"""The example configs shipped in the package (``nnabla_nas/configs/*.yaml``), by name.

A config's name is its file's stem with ``-`` for ``_`` (``darts_digits_search.yaml`` is
``darts-digits-search``); ``-c`` takes a name wherever it takes a file, and a path is
always a path::

    >>> "darts-digits-search" in builtin_configs()
    True
    >>> config_file("darts-digits-search").endswith("darts_digits_search.yaml")
    True
"""

from __future__ import annotations

import os
from importlib import resources

from ..utils.io import write_text

__all__ = [
    "builtin_config",
    "builtin_configs",
    "builtin_name_for",
    "config_file",
    "config_summary",
    "copy_config",
    "name_of",
]

_SUFFIX = ".yaml"


def name_of(path: str) -> str:
    """The built-in name a config file would have: its stem, ``_`` written ``-``."""
    stem = os.path.basename(path)
    for suffix in (".yaml", ".yml"):
        stem = stem.removesuffix(suffix)
    return stem.replace("_", "-")


def builtin_configs() -> dict[str, str]:
    """Name -> file of every built-in config, sorted by name."""
    folder = resources.files("nnabla_nas") / "configs"
    files = [str(f) for f in folder.iterdir() if f.name.endswith(_SUFFIX)]
    return {name_of(f): f for f in sorted(files, key=name_of)}


def _looks_like_path(arg: str) -> bool:
    return "/" in arg or os.sep in arg or arg.endswith((".yaml", ".yml")) or os.path.exists(arg)


def _names() -> str:
    return ", ".join(builtin_configs())


def builtin_config(name: str) -> str:
    """The file of built-in config `name` (``_`` or ``-`` alike).

    Raises:
        ValueError: no built-in config has that name; the message lists the names.
    """
    found = builtin_configs().get(name.replace("_", "-"))
    if found is None:
        raise ValueError(f"no built-in config is named {name!r}; use one of: {_names()}")
    return found


def config_file(arg: str) -> str:
    """The file `arg` names: a path as given, or the file of a built-in config's name.

    Raises:
        ValueError: `arg` is not a path and no built-in config has that name; the message
            lists the names.
    """
    if _looks_like_path(arg):
        return arg
    try:
        return builtin_config(arg)
    except ValueError:
        raise ValueError(
            f"config {arg!r} is neither a file nor a built-in config; give a YAML file's path "
            f"or one of: {_names()}"
        ) from None


def builtin_name_for(path: str) -> str | None:
    """The built-in config whose name a missing file's name matches (an old
    ``examples/darts_digits_search.yaml`` is ``darts-digits-search``), or None."""
    name = name_of(path)
    return name if name in builtin_configs() else None


def config_summary(path: str) -> str:
    """The first line of the file's leading comment, without the ``#``."""
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    return first.lstrip("#").strip() if first.startswith("#") else ""


def copy_config(name: str, output: str) -> str:
    """Copies built-in config `name` to the file `output` (into it, if it is a folder),
    never over an existing file; returns the path written.

    Raises:
        ValueError: an unknown name, or a file already at the destination.
    """
    source = builtin_config(name)
    target = os.path.join(output, os.path.basename(source)) if os.path.isdir(output) else output
    if os.path.lexists(target):
        raise ValueError(
            f"'{target}' already exists; give another -o, or remove it to copy {name} there"
        )
    with open(source, encoding="utf-8") as f:
        write_text(target, f.read())
    return target
