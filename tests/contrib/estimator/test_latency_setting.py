"""The latency table's measurement setting (a foreign table refused unless imported) and
its calibrations: fitted on paths measured end to end, stored with the table, reused."""

import json
import logging

import nnabla as nn
import numpy as np
import pytest
from nnabla.ext_utils import get_extension_context

from nnabla_nas import module as Mo
from nnabla_nas.contrib.estimator import LatencyEstimator
from nnabla_nas.contrib.estimator.latency import (
    SETTING_KEYS,
    TABLE_FORMAT,
    _Features,
    measurement_setting,
)
from nnabla_nas.contrib.registry import get_space
from nnabla_nas.module import find_choices, most_likely

FAST = {"warmup": 1, "repeats": 2}
SHAPE = (1, 1, 8, 8)
QUICK = {"paths": 6, "rounds": 2, "runs": 2}


def toy(seed=0):
    """A supernet of 2 choices of 3 candidates (conv3, conv1, skip): 9 paths."""
    return get_space("toy").make_search_net(1, 10, seed=seed, options={"channels": 4})


def saved_table(tmp_path, **changes):
    """A table measured here, then its setting edited by `changes` (None: removed)."""
    path = str(tmp_path / "latency.json")
    estimator = LatencyEstimator(path, **FAST)
    estimator.cost(toy(), SHAPE)
    estimator.save()
    data = json.loads(open(path).read())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data["setting"][key] = value
    open(path, "w").write(json.dumps(data))
    return path, estimator


def test_the_table_records_the_setting_it_was_measured_in(tmp_path):
    path, estimator = saved_table(tmp_path)
    data = json.loads(open(path).read())
    assert data["format"] == TABLE_FORMAT
    assert data["setting"] == measurement_setting("") == estimator.setting
    assert sorted(data["setting"]) == sorted(SETTING_KEYS)
    assert data["setting"]["nnabla"] == nn.__version__
    assert LatencyEstimator(path).setting == data["setting"]  # reloads without a complaint


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"device": "ARM Cortex-A53 (aarch64, 4 CPUs)"}, "another setting: device 'ARM"),
        ({"nnabla": "1.0.0"}, r"nnabla '1.0.0' \(here"),
        ({"threads": "4"}, "threads '4'"),
        ({"setting": None}, "records no measurement setting"),
    ],
)
def test_a_table_of_another_setting_is_refused(tmp_path, changes, match):
    path, _ = saved_table(tmp_path, **changes)
    with pytest.raises(ValueError, match=match) as err:
        LatencyEstimator(path)
    assert "import_table" in str(err.value) and "\n" not in str(err.value)


def test_a_table_from_another_thread_setting_is_refused_by_the_estimator_too(tmp_path):
    path, _ = saved_table(tmp_path)
    with pytest.raises(ValueError, match="threads"):
        LatencyEstimator(path, threads="2")


def test_an_imported_table_serves_its_times_here_and_remembers_where_it_came_from(tmp_path, caplog):
    path, original = saved_table(tmp_path, device="elsewhere (x86_64, 64 CPUs)")
    with caplog.at_level(logging.WARNING, logger="nnabla_nas"):
        imported = LatencyEstimator(path, import_table=True, threads="2", **FAST)
    assert "imported" in caplog.text
    # Its entries are taken as measured in this setting: nothing is measured again.
    assert imported.cost(toy(), SHAPE) == pytest.approx(original.cost(toy(), SHAPE))
    assert imported.measurements == 0
    out = str(tmp_path / "here.json")
    imported.save(out)
    data = json.loads(open(out).read())
    assert data["setting"]["threads"] == "2" and data["setting"] == imported.setting
    assert [s["device"] for s in data["imported_from"]] == ["elsewhere (x86_64, 64 CPUs)"]
    assert {e["threads"] for e in data["entries"]} == {"2"}
    # Saved in this setting, the table is now this setting's own.
    again = LatencyEstimator(out, threads="2", **FAST)
    assert again.imported_from == data["imported_from"]


def test_calibration_fits_measured_paths_and_is_stored_and_reused(tmp_path):
    path = str(tmp_path / "latency.json")
    model = toy()
    alphas = [c.alpha.d.copy() for c in find_choices(model)]
    estimator = LatencyEstimator(path, scope="toy 4ch", **FAST)
    assert estimator.calibration is None and estimator.predictor.startswith("layer sum")
    raw = estimator.cost(model, SHAPE)
    record = estimator.calibrate(model, SHAPE, **QUICK)
    # The supernet is as it was: alphas and modes.
    for c, before in zip(find_choices(model), alphas, strict=True):
        np.testing.assert_array_equal(c.alpha.d, before)
    assert all(m.training for _, m in model.get_modules())
    assert record["paths"] == 6 and len(record["points"]) == 6
    assert len({tuple(p[:2]) for p in record["points"]}) >= 3  # distinct paths, features
    assert all(p[2] > 0 for p in record["points"])
    weights = record["weights"]
    assert weights["layer_sum"] >= 0 and weights["functions"] >= 0
    quality = record["quality"]
    assert 0 <= quality["within10"] <= 100 and quality["rounds"] == 2
    assert estimator.predictor.startswith("calibrated") and "6 paths" in estimator.predictor
    # The calibrated cost is the fitted line over the features of the network.
    with most_likely(model):
        by_type, functions = (
            estimator.layer_sums_by_type(model, SHAPE),
            estimator.layer_functions(model),
        )
        assert sum(by_type.values()) == pytest.approx(estimator.layer_sum(model, SHAPE))
        expected = weights["functions"] * functions + sum(
            weights.get(f"type:{name}", weights["layer_sum"]) * ms for name, ms in by_type.items()
        )
        assert estimator.cost(model, SHAPE) == pytest.approx(expected + record["intercept"])
    assert estimator.layer_sum(model, SHAPE) == pytest.approx(raw)
    estimator.save()
    # Reused: a new estimator of the same scope predicts the same, measuring nothing.
    reloaded = LatencyEstimator(path, scope="toy 4ch", **FAST)
    assert reloaded.calibration == json.loads(json.dumps(record))
    assert reloaded.cost(model, SHAPE) == pytest.approx(estimator.cost(model, SHAPE))
    assert reloaded.measurements == 0
    # Another scope (another network family or input) uses the raw layer sum.
    other = LatencyEstimator(path, scope="toy 8ch", **FAST)
    assert other.calibration is None and other.cost(model, SHAPE) == pytest.approx(raw)


def test_the_calibrated_expectation_and_choice_costs_include_the_intercept():
    model = toy()
    estimator = LatencyEstimator(scope="toy", **FAST)
    estimator.calibrate(model, SHAPE, **QUICK)
    estimator.calibrations["toy"]["intercept"] = 0.25  # a known offset on top of the fit
    choices = find_choices(model)
    for c in choices:  # one path: conv3 then skip
        c.alpha.d = np.where(np.arange(c.alpha.size) == 0, 30.0, -30.0).reshape(c.alpha.shape)
    choices[1].alpha.d = np.array([-30.0, -30.0, 30.0]).reshape(choices[1].alpha.shape)
    with most_likely(model):
        path_cost = estimator.cost(model, SHAPE)
    expected = estimator.expected(model, SHAPE)
    expected.forward()
    assert float(expected.d.reshape(-1)[0]) == pytest.approx(path_cost, rel=1e-4)
    constant, per_op = estimator.choice_costs(model, SHAPE)
    picked = sum(float(per_op[id(op)][int(np.argmax(c.alpha.d))]) for c in choices for op in c.ops)
    assert constant + picked == pytest.approx(path_cost, rel=1e-4)
    with estimator.uncalibrated():
        assert estimator.offset() == 0.0
    assert estimator.offset() == 0.25
    rows = estimator.table(model, SHAPE)
    assert rows[-1] == ("(offset)", "offset", 0.25)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"paths": 4}, "paths >= 5"),
        ({"paths": 10}, "9 paths"),
        ({"rounds": 0}, "rounds >= 1"),
    ],
)
def test_bad_calibration_requests_are_clear_errors(kwargs, match):
    estimator = LatencyEstimator(scope="toy", **FAST)
    with pytest.raises(ValueError, match=match):
        estimator.calibrate(toy(), SHAPE, **{**QUICK, **kwargs})
    assert estimator.calibrations == {}


def test_calibration_needs_a_scope_and_a_supernet():
    with pytest.raises(ValueError, match="scope"):
        LatencyEstimator(**FAST).calibrate(toy(), SHAPE, **QUICK)
    fixed = get_space("toy").make_train_net(1, 10, {"blocks": ["conv3", "skip"]}, seed=0,
                                            options={"channels": 4})  # fmt: skip
    with pytest.raises(ValueError, match="supernet"):
        LatencyEstimator(scope="toy", **FAST).calibrate(fixed, SHAPE, **QUICK)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"weights": {"layer_sum": -1.0, "functions": 0.0}}, ">= 0"),
        ({"weights": {"layer_sum": 1.0, "functions": 0.0, "Conv": 1.0}}, "type:<layer type>"),
        ({"weights": {"layer_sum": 1.0, "type:Conv": 1.0}}, "keys"),
        ({"intercept": "x"}, "intercept"),
        ({"scope": ""}, "scope"),
    ],
)
def test_a_malformed_calibration_in_the_table_is_a_clear_error(tmp_path, change, match):
    path = str(tmp_path / "latency.json")
    estimator = LatencyEstimator(path, scope="toy", **FAST)
    estimator.calibrate(toy(), SHAPE, **QUICK)
    estimator.save()
    data = json.loads(open(path).read())
    data["calibrations"][0].update(change)
    open(path, "w").write(json.dumps(data))
    with pytest.raises(ValueError, match=f"calibration 0 .*{match}"):
        LatencyEstimator(path, scope="toy")


def test_a_cpu_table_holds_in_every_cpu_context_whatever_its_device_id(tmp_path):
    path = str(tmp_path / "latency.json")
    with nn.context_scope(get_extension_context("cpu", device_id="")):
        searched = LatencyEstimator(path, **FAST)
        cost = searched.cost(toy(), SHAPE)
        searched.save()
    here = LatencyEstimator(path, **FAST)  # nnabla's default context: device id '0'
    assert here.cost(toy(), SHAPE) == pytest.approx(cost) and here.measurements == 0


def synthetic_calibration(slopes, seed=0):
    """A calibration fitted on 20 made-up networks whose measured latency is `slopes` (per
    layer type) times their layer times, plus 0.3 ms, with 1% noise."""
    rng = np.random.default_rng(seed)
    features, truth = [], []
    for _ in range(20):
        by_type = {
            "Conv": rng.uniform(2, 4),
            "DwConv": rng.uniform(1, 2),
            "ReLU": rng.uniform(0.2, 0.5),
        }
        features.append(_Features(float(rng.integers(30, 60)), by_type))
        truth.append(sum(slopes[t] * ms for t, ms in by_type.items()) + 0.3)
    noisy = np.array(truth) * (1 + 0.01 * rng.standard_normal(len(truth)))
    times = np.broadcast_to(noisy[:, None, None], (20, 2, 3)).copy()
    estimator = LatencyEstimator(scope="synthetic", **FAST)
    return estimator, estimator._fit("synthetic", features, times, 2, 3)


def test_calibration_weighs_large_layer_types_apart_when_that_predicts_better():
    estimator, record = synthetic_calibration({"Conv": 1.5, "DwConv": 0.6, "ReLU": 1.0})
    w = record["weights"]
    # The two largest types get weights of their own; never every type: ReLU shares the
    # common weight, which also prices types the calibration has not seen.
    assert set(w) == {"type:Conv", "type:DwConv", "layer_sum", "functions"}
    assert w["layer_sum"] > 0.5  # the one-slope fit's, never left free (to fall to 0)
    assert w["type:Conv"] == pytest.approx(1.5, rel=0.05)
    assert w["type:DwConv"] == pytest.approx(0.6, rel=0.15)
    assert record["quality"]["within10"] == 100.0 and record["quality"]["tau"] > 0.8
    assert "Conv ms" in estimator.predictor and "other layers' ms" in estimator.predictor
    # A layer costs the weight of its type times its time, plus its functions.
    conv = Mo.Conv(4, 4, (3, 3), pad=(1, 1), rng=np.random.RandomState(0))
    shapes = [(1, 4, 8, 8)]
    with estimator.uncalibrated():
        ms = estimator.layer_cost(conv, shapes)
    calls = estimator._functions(conv, shapes)
    expected = w["type:Conv"] * ms + w["functions"] * calls
    assert estimator.layer_cost(conv, shapes) == pytest.approx(expected)


def test_calibration_keeps_one_slope_when_all_types_share_it():
    _, record = synthetic_calibration({"Conv": 1.2, "DwConv": 1.2, "ReLU": 1.2})
    assert set(record["weights"]) == {"layer_sum", "functions"}
    assert record["weights"]["layer_sum"] == pytest.approx(1.2, rel=0.05)


def test_no_layer_type_is_priced_at_zero():
    # DwConv's time adds nothing measured: its own weight would be 0, so it joins the
    # common weight, and every weight that prices layers stays above 0.
    _, record = synthetic_calibration({"Conv": 1.5, "DwConv": 0.0, "ReLU": 1.0})
    w = record["weights"]
    assert "type:Conv" in w and "type:DwConv" not in w and w["layer_sum"] > 0
    assert all(v > 0 for k, v in w.items() if k != "functions")
