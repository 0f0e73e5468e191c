import json
import math

import nnabla as nn
import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts import DARTS_V2, TrainNet
from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.estimator.latency import pooled_latency, release_memory_cache

from .helpers import assert_unchanged, snapshot

FAST = {"warmup": 1, "repeats": 3}


def small_net():
    return Mo.Sequential(
        Mo.Conv(1, 2, (3, 3), pad=(1, 1)), Mo.BatchNormalization(2, 4), Mo.ReLU(), Mo.Identity()
    )


def test_pooled_latency_is_the_25th_percentile_of_all_rounds():
    times = np.array([[[4.0, 1.0], [3.0, 2.0]], [[9.0, 9.0], [5.0, 9.0]]])
    np.testing.assert_allclose(pooled_latency(times), [1.75, 8.0])


def test_layer_latencies_are_positive_and_finite():
    net = small_net()
    estimator = LatencyEstimator(**FAST)
    rows = estimator.table(net, input_shape=(1, 1, 8, 8))
    assert [t for _, t, _ in rows] == ["Conv", "BatchNormalization", "ReLU", "Identity"]
    assert all(math.isfinite(c) and c > 0 for _, _, c in rows[:3])
    assert rows[3][2] == 0  # returns its input: nothing to run
    assert estimator.measurements == 3


def test_table_round_trip_measures_nothing_new(tmp_path):
    path = str(tmp_path / "latency.json")
    first = LatencyEstimator(path, **FAST)
    cost = first.cost(small_net(), input_shape=(1, 1, 8, 8))
    first.save()
    second = LatencyEstimator(path, **FAST)
    assert len(second) == len(first) == 3
    assert second.cost(small_net(), input_shape=(1, 1, 8, 8)) == pytest.approx(cost)
    assert second.measurements == 0
    data = json.loads(open(path).read())
    assert data["unit"] == "ms" and data["entries"][0]["input_shapes"]


def test_key_includes_input_shape():
    estimator = LatencyEstimator(**FAST)
    net = small_net()
    estimator.cost(net, input_shape=(1, 1, 8, 8))
    estimator.cost(net, input_shape=(1, 1, 8, 8))
    assert estimator.measurements == 3
    estimator.cost(net, input_shape=(1, 1, 6, 6))
    assert estimator.measurements == len(estimator) == 6


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"format": "other", "entries": []}, "format"),
        ({"format": "nnabla_nas.latency_table/1", "entries": {}}, "list"),
        ({"format": "nnabla_nas.latency_table/1", "entries": [{"layer": "Conv"}]}, "entry 0"),
    ],
)
def test_bad_table_is_a_clear_error(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=match):
        LatencyEstimator(str(path))


def test_save_without_path_is_a_clear_error():
    with pytest.raises(ValueError, match="no path"):
        LatencyEstimator().save()


def test_measuring_a_darts_train_net_keeps_weights_and_modes():
    net = TrainNet(1, 4, 3, 10, DARTS_V2)
    before = snapshot(net)
    estimator = LatencyEstimator(warmup=1, repeats=2)
    assert estimator.cost(net, input_shape=(2, 1, 8, 8)) > 0
    timing = estimator.measure_network(net, (2, 1, 8, 8), runs=3)
    assert 0 < timing["min"] <= timing["latency"] <= timing["median"] <= timing["max"]
    assert_unchanged(net, before)
    assert all(m.training for _, m in net.get_modules())


def test_measure_network_runs_a_built_graph():
    net = small_net()
    net(nn.Variable((1, 1, 8, 8)))
    timing = LatencyEstimator(warmup=0).measure_network(net, (1, 1, 8, 8), runs=2)
    assert set(timing) == {"latency", "median", "min", "max"}


def test_networks_measured_side_by_side_rank_a_big_network_above_a_small_one():
    small = small_net()
    big = TrainNet(1, 16, 3, 10, DARTS_V2)
    before = snapshot(big)
    timed = LatencyEstimator(warmup=1).measure_networks(
        [small, big], (1, 1, 8, 8), rounds=2, runs=3
    )
    assert timed["rounds"] == 2 and timed["runs"] == 3
    small_ms, big_ms = timed["latency"]
    assert all(a <= m for a, m in zip(timed["latency"], timed["median"], strict=True))
    assert 0 < small_ms < big_ms
    assert timed["noise_tau"] == 1.0  # two networks this far apart rank alike in both halves
    assert_unchanged(big, before)
    assert all(m.training for _, m in big.get_modules())


@pytest.mark.parametrize("models, rounds, runs", [([], 2, 3), ([None], 0, 3), ([None], 2, 0)])
def test_bad_side_by_side_measurements_are_clear_errors(models, rounds, runs):
    models = [small_net() if m is None else m for m in models]
    with pytest.raises(ValueError, match="measure_networks needs at least one model"):
        LatencyEstimator().measure_networks(models, (1, 1, 8, 8), rounds=rounds, runs=runs)


def test_releasing_the_memory_cache_keeps_live_graphs_and_their_outputs():
    net = small_net()
    x = nn.Variable.from_numpy_array(np.random.default_rng(0).standard_normal((2, 1, 8, 8)))
    with net.modes(training=False):
        y = net(x)
    y.forward()
    before = y.d.copy()
    garbage = [nn.NdArray.from_numpy_array(np.ones((256, 256))) for _ in range(4)]
    del garbage
    release_memory_cache()
    y.forward()
    np.testing.assert_array_equal(y.d, before)


def test_calibrating_on_networks_fits_and_stores_their_scope(tmp_path):
    nets = [TrainNet(1, c, 3, 10, DARTS_V2) for c in (2, 4, 6, 8, 10)]
    table = str(tmp_path / "t.json")
    estimator = LatencyEstimator(table, warmup=1, repeats=2, rounds=1)
    record = estimator.calibrate_networks(nets, (1, 1, 8, 8), scope="nets", rounds=2, runs=2)
    assert record["scope"] == "nets" and record["paths"] == 5
    assert all(len(p) == 3 and min(p) > 0 for p in record["points"])  # sum, calls, ms
    estimator.save()
    again = LatencyEstimator(table, scope="nets")
    assert again.predictor.startswith("calibrated")
    with pytest.raises(ValueError, match="at least 5 networks"):
        estimator.calibrate_networks(nets[:2], (1, 1, 8, 8), scope="nets")
