"""Building blocks of the DARTS cell space."""

from ...module.mixedop import MixedOp

__all__ = ["MixedOp"]
