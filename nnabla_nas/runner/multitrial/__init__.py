"""Multi-trial architecture search: strategies propose architectures, a driver evaluates them.

`STRATEGIES` maps the names a config uses to the strategy classes.
"""

from .evolution import RegularizedEvolution
from .optuna_adapter import OptunaStrategy
from .pareto import hypervolume, hypervolume_2d, pareto_front
from .space import Arch, ChoiceSpace
from .strategy import Constraint, Objective, RandomSearch, Strategy, Trial

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "evolution": RegularizedEvolution,
    "optuna": OptunaStrategy,
}

__all__ = [
    "STRATEGIES",
    "Arch",
    "ChoiceSpace",
    "Constraint",
    "Objective",
    "OptunaStrategy",
    "RandomSearch",
    "RegularizedEvolution",
    "Strategy",
    "Trial",
    "hypervolume",
    "hypervolume_2d",
    "pareto_front",
]
