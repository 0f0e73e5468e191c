"""Checks of the network options the spaces share, each a one-line ValueError naming the
option."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["check_candidates", "check_positive"]


def check_positive(**values: int) -> None:
    """Raises a ValueError naming the first of `values` that is not a positive int (a bool
    is not one)."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_candidates(candidates: Sequence[str], registry: Iterable[str]) -> tuple[str, ...]:
    """`candidates` as a tuple, or a ValueError unless they are distinct names of
    `registry` (a space's op registry), at least one."""
    names, known = tuple(candidates), list(registry)
    unknown = [n for n in names if n not in known]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(
            f"candidates must be distinct registered ops, got {list(names)}; unknown "
            f"{unknown}; registered: {known}"
        )
    return names
