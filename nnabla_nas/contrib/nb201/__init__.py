"""The NAS-Bench-201 cell search space (Dong & Yang, 2020) and its benchmark table.

`SearchNet` is the supernet (6 alphas shared by all cells) whose `genotype()` derives an
architecture; `TrainNet` builds the network of an architecture; `arch` holds the format
(op tuple, official string, index, JSON files); `NB201Table` gives the accuracy and
measured latencies of all 15,625 architectures without training.
"""

from .arch import (
    OPS,
    all_archs,
    arch_from_index,
    arch_index,
    arch_record,
    as_ops,
    choices,
    format_arch,
    load_arch,
    parse_arch,
    save_arch,
    validate_arch,
)
from .modules import CANDIDATES, register
from .network import SearchNet, TrainNet
from .space import NB201Space
from .table import NB201Table

__all__ = [
    "CANDIDATES",
    "OPS",
    "NB201Space",
    "NB201Table",
    "SearchNet",
    "TrainNet",
    "all_archs",
    "arch_from_index",
    "arch_index",
    "arch_record",
    "as_ops",
    "choices",
    "format_arch",
    "load_arch",
    "parse_arch",
    "register",
    "save_arch",
    "validate_arch",
]
