"""The Module system: layers, containers and `MixedOp` over nnabla.

Imported as ``from nnabla_nas import module as Mo``.
"""

from .activation import LeakyReLU, ReLU, ReLU6
from .batchnorm import BatchNormalization
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .convolution import Conv, DwConv
from .linear import Linear
from .misc import Dropout, Identity, Lambda, Merging, Zero
from .mixedop import MixedOp, most_likely
from .module import Module, read_parameters
from .parameter import Parameter
from .pooling import AvgPool, GlobalAvgPool, MaxPool

__all__ = [
    "AvgPool",
    "BatchNormalization",
    "Conv",
    "Dropout",
    "DwConv",
    "GlobalAvgPool",
    "Identity",
    "Lambda",
    "LeakyReLU",
    "Linear",
    "MaxPool",
    "Merging",
    "MixedOp",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ParameterList",
    "ReLU",
    "ReLU6",
    "Sequential",
    "Zero",
    "most_likely",
    "read_parameters",
]
