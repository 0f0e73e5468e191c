"""Once-for-All (Cai et al., ICLR 2020): one supernet whose sub-networks of any kernel
size, width and depth share its weights.

`elastic` holds the elastic layers the supernet is built from, each with a `to_static()`
that returns the plain layers of its active sub-network.
"""

from .elastic import (
    ACTIVATIONS,
    ElasticBatchNormalization,
    ElasticDepthwiseConv,
    ElasticMBConv,
    ElasticPointwiseConv,
    ElasticSqueezeExcitation,
    ElasticStage,
    MBConv,
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
