"""The MobileNetV2 search space (Sandler et al., 2018; ProxylessNAS, Cai et al., 2019).

`SearchNet` is the supernet, one `MixedOp` per block after the first stage over inverted
residual blocks of kernel 3, 5, 7 and expansion 3, 6 (and 'skip' where the shape allows);
its `genotype()` derives an architecture. `TrainNet` builds the network of a genotype;
`arch` holds the stage settings, validation and JSON files.
"""

from .arch import SETTINGS, Stage, load_arch, save_arch, validate_genotype
from .modules import CANDIDATE_NAMES, CANDIDATES, InvertedResidual, register
from .network import SearchNet, TrainNet
from .space import MobileNetSpace

__all__ = [
    "CANDIDATES",
    "CANDIDATE_NAMES",
    "SETTINGS",
    "InvertedResidual",
    "MobileNetSpace",
    "SearchNet",
    "Stage",
    "TrainNet",
    "load_arch",
    "register",
    "save_arch",
    "validate_genotype",
]
