import json

import numpy as np
import pytest

from nnabla_nas.contrib.estimator.calibration import CALIBRATION_FORMAT, LinearCalibration


def exact_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(1.0, 10.0, size=(12, 2))
    return x, 1.1 * x[:, 0] + 0.02 * x[:, 1] + 0.3


def test_fit_recovers_exact_linear_relation():
    x, y = exact_data()
    cal = LinearCalibration.fit(x, y, names=["layer_sum", "functions"])
    assert cal.weights == pytest.approx([1.1, 0.02])
    assert cal.intercept == pytest.approx(0.3)
    assert cal.predict(x) == pytest.approx(y)
    assert cal.names == ["layer_sum", "functions"]


def test_one_feature_as_vector():
    cal = LinearCalibration.fit([1.0, 2.0, 3.0], [3.0, 5.0, 7.0])
    assert cal.names == ["x0"]
    assert cal.predict([10.0]) == pytest.approx([21.0])


def test_least_squares_on_noisy_data_beats_the_mean():
    x, y = exact_data()
    noisy = y + np.random.default_rng(1).normal(0, 0.05, size=y.shape)
    cal = LinearCalibration.fit(x, noisy)
    assert np.mean((cal.predict(x) - noisy) ** 2) < np.var(noisy)


def test_save_load_round_trip(tmp_path):
    x, y = exact_data()
    cal = LinearCalibration.fit(x, y, names=["a", "b"])
    path = str(tmp_path / "cal.json")
    cal.save(path)
    data = json.loads(open(path).read())
    assert data["format"] == CALIBRATION_FORMAT and data["names"] == ["a", "b"]
    loaded = LinearCalibration.load(path)
    assert loaded.predict(x) == pytest.approx(cal.predict(x))
    assert "a" in repr(loaded)


@pytest.mark.parametrize(
    "features, measured, message",
    [
        ([[1.0, 2.0]], [1.0], "at least"),
        ([[1.0], [2.0]], [1.0], "one finite value"),
        ([[1.0], [np.nan]], [1.0, 2.0], "finite"),
        (np.ones((2, 2, 2)), [1.0, 2.0], "array"),
    ],
)
def test_fit_rejects_bad_input(features, measured, message):
    with pytest.raises(ValueError, match=message):
        LinearCalibration.fit(features, measured)


def test_predict_checks_the_feature_count():
    cal = LinearCalibration.fit([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="2 features"):
        cal.predict([[1.0, 2.0, 3.0]])


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ValueError, match="not a"):
        LinearCalibration.load(str(path))
    path.write_text(json.dumps({"format": CALIBRATION_FORMAT, "names": ["a"]}))
    with pytest.raises(ValueError, match="calibration"):
        LinearCalibration.load(str(path))
    with pytest.raises(FileNotFoundError):
        LinearCalibration.load(str(tmp_path / "missing.json"))
