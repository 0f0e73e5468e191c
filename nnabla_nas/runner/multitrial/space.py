"""`ChoiceSpace`: a discrete search space of named categorical decisions."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

Arch = tuple[str, ...]


class ChoiceSpace:
    """A space of ``n`` categorical decisions; an architecture is one choice per decision.

    Args:
        choices: the allowed values of each decision, e.g. ``[OPS] * 6`` for NAS-Bench-201.
        names: one name per decision (default ``'edge_0'``, ``'edge_1'``, ...).
        canonical: the one choice tuple of an architecture among those that differ only
            in decisions it does not use (e.g. the blocks past a stage's depth); what
            `sample`, `mutate` and `neighbours` give is canonical, so a strategy that
            avoids architectures it has seen does not propose one twice. None: every
            tuple is an architecture of its own.

    Example:
        >>> space = ChoiceSpace([['conv', 'pool']] * 3)
        >>> space.size
        8
        >>> space.validate(('conv', 'pool', 'conv'))
        ('conv', 'pool', 'conv')
    """

    def __init__(
        self,
        choices: Sequence[Sequence[str]],
        names: Sequence[str] | None = None,
        canonical: Callable[[Arch], Arch] | None = None,
    ):
        self.choices: tuple[tuple[str, ...], ...] = tuple(tuple(c) for c in choices)
        self._canonical = canonical
        if names is None:
            names = [f"edge_{i}" for i in range(len(self.choices))]
        self.names: tuple[str, ...] = tuple(names)
        self._check()

    def _check(self) -> None:
        if not self.choices:
            raise ValueError("a ChoiceSpace needs at least one decision")
        if len(self.names) != len(self.choices):
            raise ValueError(
                f"got {len(self.names)} names for {len(self.choices)} decisions; give one each"
            )
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"decision names must be unique, got {list(self.names)}")
        for name, values in zip(self.names, self.choices, strict=True):
            if not values:
                raise ValueError(f"decision {name!r} has no choices")
            if len(set(values)) != len(values):
                raise ValueError(f"decision {name!r} lists a choice twice: {list(values)}")

    def __len__(self) -> int:
        """The number of decisions."""
        return len(self.choices)

    def __repr__(self) -> str:
        body = ", ".join(f"{n}={list(c)}" for n, c in zip(self.names, self.choices, strict=True))
        return f"ChoiceSpace({body})"

    @property
    def size(self) -> int:
        """The number of distinct architectures (the product of the choice counts)."""
        return math.prod(len(c) for c in self.choices)

    def validate(self, arch: Sequence[str]) -> Arch:
        """Returns `arch` as a tuple, or raises a ValueError naming the first wrong decision."""
        arch = tuple(arch)
        if len(arch) != len(self.choices):
            raise ValueError(
                f"an architecture has {len(self.choices)} decisions ({list(self.names)}), "
                f"got {len(arch)}: {arch}"
            )
        for name, values, value in zip(self.names, self.choices, arch, strict=True):
            if value not in values:
                raise ValueError(
                    f"decision {name!r} has no choice {value!r}; choices: {list(values)}"
                )
        return arch

    def canonical(self, arch: Sequence[str]) -> Arch:
        """The canonical tuple of `arch` (itself without a `canonical` function)."""
        arch = self.validate(arch)
        return arch if self._canonical is None else self.validate(self._canonical(arch))

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random architecture (a uniform choice per decision, canonical)."""
        return self.canonical(tuple(values[rng.integers(len(values))] for values in self.choices))

    def mutate(self, arch: Sequence[str], rng: np.random.Generator) -> Arch:
        """`arch` with exactly one decision changed: a uniform decision among those with
        more than one choice, set to a uniform different value."""
        arch = self.validate(arch)
        mutable = [i for i, values in enumerate(self.choices) if len(values) > 1]
        if not mutable:
            raise ValueError("cannot mutate: every decision has a single choice")
        i = mutable[rng.integers(len(mutable))]
        others = [v for v in self.choices[i] if v != arch[i]]
        return self.canonical((*arch[:i], others[rng.integers(len(others))], *arch[i + 1 :]))

    def neighbours(self, arch: Sequence[str]) -> list[Arch]:
        """Every architecture differing from `arch` in exactly one decision, in decision
        order, then in each decision's choice order (canonical, each once, `arch` not)."""
        arch = self.validate(arch)
        found = [
            self.canonical((*arch[:i], value, *arch[i + 1 :]))
            for i, values in enumerate(self.choices)
            for value in values
            if value != arch[i]
        ]
        own = self.canonical(arch)
        return [a for a in dict.fromkeys(found) if a != own]

    def one_hot(self, archs: Sequence[Sequence[str]]) -> np.ndarray:
        """One row per architecture: a 0/1 column per choice of each decision, in order."""
        offsets = np.cumsum([0, *(len(values) for values in self.choices[:-1])])
        encoded = np.zeros((len(archs), sum(len(values) for values in self.choices)))
        for row, arch in enumerate(archs):
            encoded[row, offsets + np.array(self.indices(arch))] = 1.0
        return encoded

    def indices(self, arch: Sequence[str]) -> tuple[int, ...]:
        """The position of each chosen value in its decision's choices."""
        arch = self.validate(arch)
        return tuple(values.index(v) for values, v in zip(self.choices, arch, strict=True))

    def to_dict(self, arch: Sequence[str]) -> dict[str, str]:
        """`arch` keyed by decision name (JSON-friendly)."""
        return dict(zip(self.names, self.validate(arch), strict=True))

    def from_dict(self, params: Mapping[str, str]) -> Arch:
        """The architecture of a name -> choice mapping, e.g. read from JSON."""
        missing = [n for n in self.names if n not in params]
        extra = sorted(set(params) - set(self.names))
        if missing or extra:
            raise ValueError(f"architecture keys: missing {missing}, unknown {extra}")
        return self.validate([params[n] for n in self.names])
