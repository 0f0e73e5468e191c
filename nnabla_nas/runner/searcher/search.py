"""`Searcher`: the base of algorithms that learn an architecture."""

from __future__ import annotations

from typing import Any

from ..algorithm import Algorithm


class Searcher(Algorithm):
    """Learns the architecture parameters and the weights of a search space.

    A searcher implements `train_on_batch` (one step: weights and, by its own rule, the
    architecture) and inherits `valid_on_batch`. Its result is the architecture the
    model derives from the learned parameters.
    """

    def architecture(self) -> dict[str, Any]:
        """The architecture derived from the current architecture parameters."""
        derive = getattr(self.model, "genotype", None)
        if derive is None:
            raise NotImplementedError(
                f"{type(self.model).__name__} has no genotype(); a search space derives "
                "its architecture with a genotype() method"
            )
        return dict(derive())
