"""The supernet evaluator of a multi-trial search, from the folder of a finished spos or
fairnas search: its supernet with its final weights, its data split and its protocol."""

from __future__ import annotations

from itertools import islice

import nnabla as nn

from ..contrib.space import Space
from ..module import read_parameter_attrs
from ..runner.algorithm import Algorithm
from ..runner.loop import epoch_rng
from ..runner.multitrial.supernet import SupernetEvaluator
from .build import FINGERPRINT, fingerprint, make_data, make_transform, nnabla_context
from .config import ConfigError, SearchConfig, load_config
from .run import RunFolder

__all__ = ["supernet_evaluator"]


def supernet_evaluator(cfg: SearchConfig, space: Space) -> SupernetEvaluator:
    """Scores candidates as the search in ``multitrial.supernet`` scored its paths.

    The run's search net is built from its own ``config.yaml`` and loads its final
    ``weights.h5``; a candidate's BatchNorm statistics are recalibrated on the first
    `calib_batches` batches of the run's weight split in the order of the epoch after its
    last, and its accuracy is measured on the first `eval_batches` batches of the run's
    validation split (the multi-trial section's numbers, else the run's own ``spos:`` /
    ``fairnas:`` settings): the batches of the run's evolution, so that without graph
    noise (augmentation, dropout) a path scores what it scored there. `check_search` has
    checked the folder (a finished path search of this space and model).

    Raises:
        ConfigError: the run's config or weights do not make its supernet.
    """
    mt = cfg.multitrial
    assert mt is not None and mt.supernet is not None
    run = RunFolder(mt.supernet)
    try:
        source = load_config(SearchConfig, run.file("config"))
    except ConfigError as err:
        raise ConfigError(f"multitrial.supernet: '{run.file('config')}': {err}") from None
    data = make_data(source.dataset, source.seed, search=True)
    context = nnabla_context(cfg)
    with nn.context_scope(context):
        net = space.make_search_net(
            data.sample_shape[0], data.classes, seed=source.seed, options=source.model.options
        )
    weights = run.file("weights")
    mark = read_parameter_attrs(weights).get(FINGERPRINT)
    if mark is not None and mark != fingerprint(space.name, source.model.options):
        raise ConfigError(
            f"multitrial.supernet: '{weights}' was trained for another network than the one "
            f"of '{run.file('config')}'"
        )
    try:
        net.load_parameters(weights, raise_if_missing=True)
    except (KeyError, ValueError) as err:
        raise ConfigError(
            f"multitrial.supernet: '{weights}' does not fit its supernet: {err}"
        ) from None
    settings = source.settings
    calib_batches = mt.calib_batches or settings.calib_batches
    eval_batches = mt.eval_batches or settings.eval_batches
    weights_split = data.train["train"]
    weights_split.set_epoch(source.epochs)  # as the run's evolution read it
    calib = list(islice(weights_split, calib_batches))
    valid = list(data.eval if eval_batches is None else islice(data.eval, eval_batches))
    algorithm = Algorithm(net, {}, transform=make_transform(source.dataset), context=context)
    return SupernetEvaluator(
        algorithm, calib, valid, noise=lambda: epoch_rng(source.seed, source.epochs)
    )
