"""Building runs from configs: data splits, schedules, model options."""

import numpy as np
import pytest

from nnabla_nas.config import ConfigError, DatasetConfig, OptimizerConfig, SearchConfig
from nnabla_nas.experiment import make_data, make_scheduler, model_options
from nnabla_nas.optimizer import CosineScheduler


def rows(loader):
    return {img.tobytes() for img in loader.dataset.images}


def test_search_splits_are_disjoint_and_test_is_held_out():
    data = make_data(DatasetConfig(), seed=0, search=True)
    train, valid, test = rows(data.train["train"]), rows(data.train["valid"]), rows(data.test)
    assert not train & valid and not train & test and not valid & test
    assert len(train) + len(valid) + len(test) == 1797  # digits has no duplicate images
    assert data.eval.dataset is data.train["valid"].dataset


def test_retraining_uses_both_search_splits_and_the_same_test_set():
    search = make_data(DatasetConfig(), seed=0, search=True)
    train = make_data(DatasetConfig(), seed=5, search=False)
    assert rows(train.train["train"]) == rows(search.train["train"]) | rows(search.train["valid"])
    assert rows(train.test) == rows(search.test)


def test_cosine_schedule_with_warmup_spans_the_run():
    cfg = OptimizerConfig(lr=0.1, min_lr=0.01, scheduler="cosine", warmup_epochs=1)
    schedule = make_scheduler(cfg, epochs=5, steps=10)
    cosine = CosineScheduler(0.1, 50, min_lr=0.01)  # the warm-up scales its first epoch
    assert schedule(0) == pytest.approx(0.0)
    assert schedule(5) == pytest.approx(0.5 * cosine(5))
    assert schedule(10) == pytest.approx(cosine(10))
    assert schedule(50) == pytest.approx(0.01)
    assert np.all(np.diff([schedule(i) for i in range(10, 51)]) <= 1e-12)


def test_model_options_are_checked_against_the_space():
    cfg = SearchConfig(model={"name": "darts", "init_channels": 4, "num_cells": 3})
    _, options = model_options(cfg, "search")
    assert options == {"init_channels": 4, "num_cells": 3}
    with pytest.raises(ConfigError, match="model: unknown key 'auxiliary'"):
        model_options(SearchConfig(model={"auxiliary": True}), "search")
