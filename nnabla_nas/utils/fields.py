"""Dataclass fields that carry the values a setting may take, for the config schema."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def choice(default: str | None, choices: Iterable[str]) -> Any:
    """A string field whose value must be one of `choices` (or None where the type allows
    it). A list field with ``choices`` metadata is checked per item. The config schema
    (`nnabla_nas.app.config`) enforces it when reading a file."""
    return field(default=default, metadata={"choices": tuple(choices)})


@dataclass(frozen=True)
class NoSettings:
    """The settings of a component without options of its own (an empty config section)."""
