"""`ParamsEstimator`: the number of learnable parameters."""

from __future__ import annotations

import math

from ...module import Module
from .base import Estimator, Shape

__all__ = ["ParamsEstimator"]


class ParamsEstimator(Estimator):
    """Counts learnable parameters: those with ``need_grad=True``.

    BatchNormalization's running mean and variance, and beta and gamma of a fixed
    (``fix_parameters=True``, DARTS ``affine=False``) BatchNormalization, are not counted;
    architecture parameters (`MixedOp` alphas) are not layers and are not counted either.
    For a fixed network `cost` equals the size of ``get_parameters(grad_only=True)``.
    Input shapes do not matter; only layers of the last graph build are counted.
    """

    name = "params"
    unit = "parameters"

    def layer_cost(self, module: Module, input_shapes: list[Shape]) -> float:
        """The number of learnable parameters of one leaf layer."""
        return float(
            sum(math.prod(p.shape) for _, p in module.named_local_parameters() if p.need_grad)
        )
