"""The Module system: layers, containers and `MixedOp` over nnabla.

Imported as ``from nnabla_nas import module as Mo``.
"""

from .activation import Hsigmoid, Hswish, LeakyReLU, ReLU, ReLU6
from .batchnorm import BatchNormalization
from .container import ModuleDict, ModuleList, ParameterList, Sequential
from .convolution import Conv, DwConv
from .linear import Linear
from .misc import Dropout, DropPath, Identity, Lambda, Merging, Resize, Zero
from .mixedop import (
    MODES,
    Choice,
    GumbelDraw,
    MixedOp,
    choice_probs,
    draw_gumbel,
    find_choices,
    most_likely,
)
from .module import Module, mismatch_text, read_parameter_attrs, read_parameters
from .noise import Noise, collect_noise, uniform
from .parameter import Parameter
from .pooling import AvgPool, GlobalAvgPool, MaxPool
from .recompute import recompute_activations
from .squeeze import SqueezeExcitation, make_divisible

__all__ = [
    "MODES",
    "AvgPool",
    "BatchNormalization",
    "Choice",
    "Conv",
    "DropPath",
    "Dropout",
    "DwConv",
    "GlobalAvgPool",
    "GumbelDraw",
    "Hsigmoid",
    "Hswish",
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
    "Noise",
    "Parameter",
    "ParameterList",
    "ReLU",
    "ReLU6",
    "Resize",
    "Sequential",
    "SqueezeExcitation",
    "Zero",
    "choice_probs",
    "collect_noise",
    "draw_gumbel",
    "find_choices",
    "make_divisible",
    "mismatch_text",
    "most_likely",
    "read_parameter_attrs",
    "read_parameters",
    "recompute_activations",
    "uniform",
]
