"""Once-for-All (Cai et al., ICLR 2020): one supernet whose sub-networks of any kernel
size, width and depth share its weights.

`elastic` holds the elastic layers the supernet is built from and `blocks` its stages and
inverted residual blocks, each with a `to_static()`
that returns the plain layers of its active sub-network.
"""

from .blocks import ACTIVATIONS, ElasticMBConv, ElasticStage, MBConv
from .elastic import (
    ElasticBatchNormalization,
    ElasticDepthwiseConv,
    ElasticPointwiseConv,
    ElasticSqueezeExcitation,
    importance_order,
)

__all__ = [
    "ACTIVATIONS",
    "ElasticBatchNormalization",
    "ElasticDepthwiseConv",
    "ElasticMBConv",
    "ElasticPointwiseConv",
    "ElasticSqueezeExcitation",
    "ElasticStage",
    "MBConv",
    "importance_order",
]
