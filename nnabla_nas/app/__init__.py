"""The application layer: configs, run folders and the commands built on them.

This is the only layer that reads configs and builds objects through the registries;
`nnabla_nas.cli` adds argv. From Python::

    from nnabla_nas.app import SearchConfig, load_config, run_search
    cfg = load_config(SearchConfig, "darts-digits-search")
    result = run_search(cfg, "runs/my-search")
    print(result.arch)
"""

from .config import (
    ConfigError,
    CostConfig,
    DatasetConfig,
    ModelConfig,
    MultiTrialConfig,
    OptimizerConfig,
    RunConfig,
    SearchConfig,
    TrainConfig,
    load_config,
    parse_config,
    to_dict,
)
from .exporting import TrainedRun, export_run, load_run
from .figures import draw_figures
from .profile import profile
from .report import render_report, write_report
from .run import Manifest, RunError, RunFolder
from .search import SearchResult, run_search
from .train import run_train

__all__ = [
    "ConfigError",
    "CostConfig",
    "DatasetConfig",
    "Manifest",
    "ModelConfig",
    "MultiTrialConfig",
    "OptimizerConfig",
    "RunConfig",
    "RunError",
    "RunFolder",
    "SearchConfig",
    "SearchResult",
    "TrainConfig",
    "TrainedRun",
    "draw_figures",
    "export_run",
    "load_config",
    "load_run",
    "parse_config",
    "profile",
    "render_report",
    "run_search",
    "run_train",
    "to_dict",
    "write_report",
]
