"""`LinearCalibration`: a least-squares correction of a network-level cost prediction.

The per-layer sum of `LatencyEstimator` leaves out what only a whole graph has: functions a
non-leaf module calls directly (residual ``F.add2``), the per-function overhead of running
a graph, memory effects between layers. A linear model over a few features of a network,
for example ``measured ≈ a * layer_sum + b * functions_in_graph + c``, fitted on networks
measured end to end, models what the sum misses. Fit it on some networks and judge it on
others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import lsq_linear

from ...utils.io import read_json, write_json

__all__ = ["CALIBRATION_FORMAT", "LinearCalibration"]

CALIBRATION_FORMAT = "nnabla_nas.latency_calibration/1"


def _matrix(features: Any, width: int | None = None) -> np.ndarray:
    x = np.asarray(features, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"features must be a (networks, features) array, got shape {x.shape}")
    if width is not None and x.shape[1] != width:
        raise ValueError(f"the calibration has {width} features, got {x.shape[1]} per network")
    if not np.all(np.isfinite(x)):
        raise ValueError("features must be finite")
    return x


class LinearCalibration:
    """``prediction = features @ weights + intercept``, fitted by least squares.

    Args:
        names: one name per feature (kept in the JSON file, checked by nothing else).
        weights: one coefficient per feature.
        intercept: the constant term.

    Example:
        >>> cal = LinearCalibration.fit([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]], [4.0, 5.0, 11.0])
        >>> [round(float(v), 6) for v in cal.predict([[1.0, 1.0]])]
        [3.0]
    """

    def __init__(self, names: Sequence[str], weights: Sequence[float], intercept: float) -> None:
        if len(names) != len(weights):
            raise ValueError(f"{len(names)} feature names for {len(weights)} weights")
        self.names = [str(n) for n in names]
        self.weights = np.asarray(weights, dtype=np.float64)
        self.intercept = float(intercept)

    @classmethod
    def fit(
        cls,
        features: Any,
        measured: Any,
        names: Sequence[str] | None = None,
        *,
        nonnegative: bool = False,
    ) -> LinearCalibration:
        """Least-squares fit of `measured` (one value per network) on `features`.

        Args:
            features: a (networks, features) array, or one feature per network as a vector.
            measured: the measured costs, one per network.
            names: the feature names; ``x0``, ``x1``, ... when None.
            nonnegative: constrain every weight (not the intercept) to be >= 0, so that no
                feature lowers the prediction (scipy's bounded least squares).

        Raises:
            ValueError: shapes disagree, values are not finite, or there are fewer networks
                than coefficients (features + 1).
        """
        x = _matrix(features)
        y = np.asarray(measured, dtype=np.float64)
        if y.shape != (x.shape[0],) or not np.all(np.isfinite(y)):
            raise ValueError(
                f"measured must hold one finite value per network ({x.shape[0]}), got shape "
                f"{y.shape}"
            )
        if x.shape[0] < x.shape[1] + 1:
            raise ValueError(
                f"fitting {x.shape[1] + 1} coefficients needs at least as many networks, "
                f"got {x.shape[0]}"
            )
        design = np.hstack([x, np.ones((x.shape[0], 1))])
        if nonnegative:
            # Columns scaled to one magnitude (ms, counts and the ones differ by 1e4) and
            # bounded-variable least squares, exact for these few columns even when some
            # are nearly collinear (a function count tracking a layer type's time).
            scale = np.abs(design).max(axis=0)
            scale[scale == 0] = 1.0
            low = [0.0] * x.shape[1] + [-np.inf]
            coef = lsq_linear(design / scale, y, bounds=(low, np.inf), method="bvls").x / scale
        else:
            coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        labels = list(names) if names is not None else [f"x{i}" for i in range(x.shape[1])]
        return cls(labels, coef[:-1], coef[-1])

    def predict(self, features: Any) -> np.ndarray:
        """The calibrated cost of each network (a vector, one value per row of `features`)."""
        return _matrix(features, len(self.weights)) @ self.weights + self.intercept

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": CALIBRATION_FORMAT,
            "names": self.names,
            "weights": [float(w) for w in self.weights],
            "intercept": self.intercept,
        }

    def save(self, path: str) -> None:
        """Writes the calibration as JSON to `path`, atomically."""
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str) -> LinearCalibration:
        """Reads a calibration written by `save`.

        Raises:
            FileNotFoundError: `path` does not exist.
            ValueError: the file is not JSON or not a calibration.
        """
        data = read_json(path, "latency calibration")
        if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT:
            raise ValueError(f"'{path}' is not a {CALIBRATION_FORMAT!r} file")
        try:
            names, weights = list(data["names"]), [float(w) for w in data["weights"]]
            return cls(names, weights, float(data["intercept"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"latency calibration '{path}': {err}") from None

    def __repr__(self) -> str:
        terms = " + ".join(f"{w:.6g}*{n}" for n, w in zip(self.names, self.weights, strict=True))
        return f"LinearCalibration({terms} + {self.intercept:.6g})"
