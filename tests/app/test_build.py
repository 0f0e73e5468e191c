"""Building runs from configs: data splits, transforms, schedules, model options."""

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas.app.build import make_data, make_scheduler, make_transform
from nnabla_nas.app.config import (
    ConfigError,
    DatasetConfig,
    OptimizerConfig,
    SearchConfig,
    check_search,
)
from nnabla_nas.dataset import transforms as T
from nnabla_nas.module import collect_noise
from nnabla_nas.optimizer import CosineScheduler
from nnabla_nas.runner.searcher.ofa import OFASearcher, OFASettings, Phase


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


def test_a_segmented_schedule_restarts_and_spans_each_segment():
    cfg = OptimizerConfig(lr=0.1, min_lr=0.0, scheduler="cosine", warmup_epochs=1)
    schedule = make_scheduler(cfg, epochs=5, steps=10, segments=[2, 1, 2])
    assert schedule(5) == pytest.approx(0.5 * CosineScheduler(0.1, 20)(5))  # warm-up once
    for start, epochs in ((20, 1), (30, 2)):
        assert schedule(start) == pytest.approx(0.1)  # back to the base rate
        half = start + 5 * epochs
        assert schedule(half) == pytest.approx(0.05)  # halfway through this segment
    assert schedule(29) < 0.01 and schedule(49) < 0.01


def test_ofa_restarts_its_schedule_per_phase_only_when_asked():
    phases = [Phase("full", 2), Phase("kernel", 1)]
    assert OFASearcher.schedule_segments(OFASettings(phases, restart_lr=True), 3) == [2, 1]
    assert OFASearcher.schedule_segments(OFASettings(phases), 3) is None


def test_model_options_are_checked_against_the_space():
    cfg = SearchConfig()
    cfg.model.options = {"init_channels": 4, "num_cells": 3}
    check_search(cfg)
    assert cfg.model.options["init_channels"] == 4 and cfg.model.options["num_choices"] == 4
    bad = SearchConfig()
    bad.model.options = {"auxiliary": True}
    with pytest.raises(ConfigError, match="model: unknown key 'auxiliary'"):
        check_search(bad)


def _crop(transform):
    return next(t for t in transform.transforms if isinstance(t, T.RandomCrop))


def test_the_crop_fits_the_datasets_images():
    digits = DatasetConfig(augment=True, options={"image_size": 16})
    crop = _crop(make_transform(digits))
    assert crop.shape == (16, 16) and crop.pad_width == (2, 2, 2, 2)
    cifar = DatasetConfig(name="cifar10", augment=True, options={"root": "/nowhere"})
    crop = _crop(make_transform(cifar))
    assert crop.shape == (32, 32) and crop.pad_width == (4, 4, 4, 4)
    x = nn.Variable((2, 1, 16, 16))
    with collect_noise():
        assert make_transform(digits)(x, training=True).shape == (2, 1, 16, 16)


def test_normalisation_needs_one_value_or_one_per_channel():
    # Three values for the one channel of digits: an error (not silently accepted).
    three = DatasetConfig(mean=[0.1, 0.2, 0.3], std=[1.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="need 1 value each"):
        make_transform(three)
    one = make_transform(DatasetConfig(mean=[0.5], std=[0.25]))
    x = nn.Variable.from_numpy_array(np.full((1, 1, 8, 8), 0.75, np.float32))
    y = one(x, training=False)
    y.forward()
    np.testing.assert_allclose(y.d, 1.0)


def test_cifar10_is_normalised_with_its_own_statistics_by_default():
    cifar = DatasetConfig(name="cifar10", options={"root": "/nowhere"})
    (norm,) = make_transform(cifar).transforms
    np.testing.assert_allclose(norm.mean, [0.4914, 0.4822, 0.4465], rtol=1e-6)
    off = DatasetConfig(name="cifar10", normalize=False, options={"root": "/nowhere"})
    assert make_transform(off) is None
