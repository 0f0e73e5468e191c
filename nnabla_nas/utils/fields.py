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


def limited(
    default: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """A number field whose value must lie in a range: at least `minimum`, at most
    `maximum`, greater than `above`, less than `below` (None, where the type allows it,
    is always valid). The config schema checks it when reading a file."""
    bounds = {"minimum": minimum, "maximum": maximum, "above": above, "below": below}
    return field(default=default, metadata={"limits": bounds})


def limit_violation(value: Any, limits: dict[str, float | None]) -> str | None:
    """What is wrong with `value` under the `limits` of `limited`, or None."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    words = {
        "minimum": ("at least", lambda v, b: v >= b),
        "maximum": ("at most", lambda v, b: v <= b),
        "above": ("greater than", lambda v, b: v > b),
        "below": ("less than", lambda v, b: v < b),
    }
    wanted = [(words[k][0], b) for k, b in limits.items() if b is not None]
    if all(words[k][1](value, b) for k, b in limits.items() if b is not None):
        return None
    return "must be " + " and ".join(f"{w} {b:g}" for w, b in wanted) + f", got {value!r}"
