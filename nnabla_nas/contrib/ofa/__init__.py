"""Once-for-All (Cai et al., ICLR 2020): one supernet whose sub-networks of any kernel
size, width and depth share its weights.

`elastic` holds the elastic layers the supernet is built from and `blocks` its stages and
inverted residual blocks, each with a `to_static()` that returns the plain layers of its
active sub-network. `network` builds the MobileNetV3 supernet (`OFASupernet`) and the plain
network of one architecture (`OFANet`), `arch` the settings and the architecture codec,
`space` the `OFASpace` registered as ``ofa``.
"""

from .arch import SETTINGS, validate_arch
from .blocks import ACTIVATIONS, ElasticMBConv, ElasticStage, MBConv
from .elastic import (
    ElasticBatchNormalization,
    ElasticDepthwiseConv,
    ElasticPointwiseConv,
    ElasticSqueezeExcitation,
    importance_order,
)
from .network import OFANet, OFASupernet
from .space import OFASpace

__all__ = [
    "ACTIVATIONS",
    "SETTINGS",
    "ElasticBatchNormalization",
    "ElasticDepthwiseConv",
    "ElasticMBConv",
    "ElasticPointwiseConv",
    "ElasticSqueezeExcitation",
    "ElasticStage",
    "MBConv",
    "OFANet",
    "OFASpace",
    "OFASupernet",
    "importance_order",
    "validate_arch",
]
