"""`FairNasSearcher`: FairNAS strict fairness (Chu et al., ICCV 2021): every candidate
trained once per step, then SPOS's evolutionary search over paths."""

from __future__ import annotations

import numpy as np

from .spos import Path, SposSearcher


class FairNasSearcher(SposSearcher):
    """Trains every candidate of every choice once per step, then evolves paths.

    FairNAS (Chu et al., "FairNAS: Rethinking Evaluation Fairness of Weight Sharing
    Neural Architecture Search", ICCV 2021) makes the supernet's training strictly fair:
    each step draws m paths, m the largest number of candidates of any choice, from a
    random permutation of each choice's candidates, so that every candidate is on exactly
    one of the m paths; the gradients of the m paths on the same batch add up, and the
    weights make one update. A choice with n < m candidates lists ceil(m / n) independent
    permutations one after the other and keeps the first m entries: each of its
    candidates is on floor(m / n) or ceil(m / n) paths, as even as m paths allow (the
    paper's spaces have one number of candidates per choice).

    Everything else is `SposSearcher`'s: no architecture parameter learns, the same
    evolutionary search with BatchNorm recalibration after the last epoch (`SposSettings`,
    the ``fairnas:`` section), the same hard cost budget. A step costs m forward and
    backward passes.
    """

    def step_paths(self) -> list[Path]:
        """m paths covering every candidate of every choice (see the class docstring)."""
        sizes = self.sizes
        m = max(sizes)
        columns = [
            np.concatenate([self.rng.permutation(n) for _ in range(-(-m // n))])[:m] for n in sizes
        ]
        return [tuple(int(column[j]) for column in columns) for j in range(m)]
