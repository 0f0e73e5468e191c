"""The DARTS cell space searched by sampling (ProxylessNAS-style).

The same cells and candidates as `nnabla_nas.contrib.darts`; every choice starts in
``'sample'`` mode, so a graph holds one path. `TrainNet` and the genotype are DARTS's.
"""

from functools import partial

from ..darts.genotype import load_genotype, save_genotype
from ..darts.network import SearchNet as _DartsSearchNet
from ..darts.network import TrainNet

SearchNet = partial(_DartsSearchNet, mode="sample")

__all__ = ["SearchNet", "TrainNet", "load_genotype", "save_genotype"]
