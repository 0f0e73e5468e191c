"""The Zoph (NASNet) cell search space (Zoph et al., CVPR 2018).

`SearchNet` is the supernet whose `genotype()` derives an architecture; `TrainNet` builds
the network of a genotype; `genotype` holds validation and derivation, `ops` the registry
of the paper's operations.
"""

from .genotype import unused_blocks, validate_genotype
from .network import SearchNet, TrainNet
from .ops import DEFAULT_CANDIDATES, OPS, register
from .space import ZophSpace

__all__ = [
    "DEFAULT_CANDIDATES",
    "OPS",
    "SearchNet",
    "TrainNet",
    "ZophSpace",
    "register",
    "unused_blocks",
    "validate_genotype",
]
