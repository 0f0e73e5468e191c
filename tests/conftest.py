"""Shared fixtures: seeded random generators and a clean nnabla parameter scope."""

import nnabla as nn
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _seeded():
    """Seeds numpy's and nnabla's global generators; empties nnabla's global scope after."""
    np.random.seed(0)
    nn.seed(0)
    yield
    nn.clear_parameters()


@pytest.fixture
def rng():
    """A fixed numpy generator for test data."""
    return np.random.default_rng(0)


@pytest.fixture
def variable(rng):
    """Makes an `nn.Variable` of standard-normal data of the given shape."""

    def make(*shape, need_grad=False):
        data = rng.standard_normal(shape).astype(np.float32)
        return nn.Variable.from_numpy_array(data, need_grad=need_grad)

    return make
