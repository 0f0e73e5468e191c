"""Searchers: learn the architecture and the weights of a search space."""

from .darts import DartsSearcher
from .pnas import ProxylessNasSearcher
from .search import Searcher

__all__ = ["DartsSearcher", "ProxylessNasSearcher", "Searcher"]
