"""The DARTS cell search space (Liu et al., 2019).

`SearchNet` is the supernet whose `genotype()` derives an architecture; `TrainNet` builds
the network of a genotype; `genotype` holds validation and JSON files.
"""

from .genotype import DARTS_V2, load_genotype, save_genotype, validate_genotype
from .modules import CANDIDATE_NAMES, CANDIDATES, MixedOp, register
from .network import SearchNet, TrainNet
from .space import DartsSpace

__all__ = [
    "CANDIDATES",
    "CANDIDATE_NAMES",
    "DARTS_V2",
    "DartsSpace",
    "MixedOp",
    "SearchNet",
    "TrainNet",
    "load_genotype",
    "register",
    "save_genotype",
    "validate_genotype",
]
