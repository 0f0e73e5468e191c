"""Searchers: learn the architecture and the weights of a search space in one supernet.

`SEARCHERS` maps the names a config uses (``searcher: darts``) to the classes; each
class's `Searcher.Settings` is its config section. A new searcher is one file here and
one line below.
"""

from ...utils.registry import Registry
from .darts import DartsSearcher, DartsSettings
from .fairnas import FairNasSearcher
from .gdas import GdasSearcher, GdasSettings
from .ofa import OFASearcher, OFASettings
from .pnas import PnasSettings, ProxylessNasSearcher
from .search import Cost, CostModel, NoSettings, Searcher, SearchParts
from .spos import SposSearcher, SposSettings

SEARCHERS: Registry[type[Searcher]] = Registry("searcher")
SEARCHERS.add("darts", DartsSearcher)
SEARCHERS.add("pnas", ProxylessNasSearcher)
SEARCHERS.add("gdas", GdasSearcher)
SEARCHERS.add("spos", SposSearcher)
SEARCHERS.add("fairnas", FairNasSearcher)
SEARCHERS.add("ofa", OFASearcher)

__all__ = [
    "SEARCHERS",
    "Cost",
    "CostModel",
    "DartsSearcher",
    "DartsSettings",
    "FairNasSearcher",
    "GdasSearcher",
    "GdasSettings",
    "NoSettings",
    "OFASearcher",
    "OFASettings",
    "PnasSettings",
    "ProxylessNasSearcher",
    "SearchParts",
    "Searcher",
    "SposSearcher",
    "SposSettings",
]
