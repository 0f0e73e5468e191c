"""Randomly wired networks (Xie, Kirillov, Girshick and He, ICCV 2019) as a search space.

`graphs` draws the paper's random graphs (ER, BA, WS) and turns them into DAGs; `arch`
holds the architecture format (the graphs and each node's op) and its validation; `ops`
the registry of node ops; `SearchNet` chooses each node's op by a `MixedOp`, `TrainNet`
builds the network of an architecture.
"""

from .arch import StageGraph, validate_arch
from .graphs import GENERATORS, GeneratorSpec, parse_generator, random_graph, to_dag
from .network import SearchNet, TrainNet
from .ops import DEFAULT_CANDIDATES, OPS, register
from .space import RandWiredSpace

__all__ = [
    "DEFAULT_CANDIDATES",
    "GENERATORS",
    "OPS",
    "GeneratorSpec",
    "RandWiredSpace",
    "SearchNet",
    "StageGraph",
    "TrainNet",
    "parse_generator",
    "random_graph",
    "register",
    "to_dag",
    "validate_arch",
]
