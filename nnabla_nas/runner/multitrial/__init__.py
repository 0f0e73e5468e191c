"""Multi-trial architecture search: strategies propose architectures, a driver evaluates them.

`STRATEGIES` maps the names a config uses (``searcher: evolution``) to the strategy
classes; each class's `Strategy.Settings` is its config section. Optuna is imported only
when an `OptunaStrategy` is made.
"""

from ...utils.registry import Registry
from .bananas import BananasSearch, BananasSettings
from .evolution import EvolutionSettings, RegularizedEvolution
from .local_search import LocalSearch, LocalSearchSettings
from .optuna_adapter import OptunaSettings, OptunaStrategy
from .pareto import hypervolume, hypervolume_2d, pareto_front
from .space import Arch, ChoiceSpace
from .strategy import Constraint, Objective, RandomSearch, Strategy, StrategyParts, Trial

STRATEGIES: Registry[type[Strategy]] = Registry("multi-trial strategy")
STRATEGIES.add("random", RandomSearch)
STRATEGIES.add("evolution", RegularizedEvolution)
STRATEGIES.add("optuna", OptunaStrategy)
STRATEGIES.add("local_search", LocalSearch)
STRATEGIES.add("bananas", BananasSearch)

__all__ = [
    "STRATEGIES",
    "Arch",
    "BananasSearch",
    "BananasSettings",
    "ChoiceSpace",
    "Constraint",
    "EvolutionSettings",
    "LocalSearch",
    "LocalSearchSettings",
    "Objective",
    "OptunaSettings",
    "OptunaStrategy",
    "RandomSearch",
    "RegularizedEvolution",
    "Strategy",
    "StrategyParts",
    "Trial",
    "hypervolume",
    "hypervolume_2d",
    "pareto_front",
]
