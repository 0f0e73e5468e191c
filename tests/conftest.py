"""Shared fixtures: seeded random generators, a clean nnabla parameter scope, a reader of
TensorBoard event files, and the toy search space registered in every test process."""

import copy
import glob
import struct

import nnabla as nn
import numpy as np
import pytest
import toy_space  # noqa: F401  (registers the "toy" search space)
from tensorboardX.proto.event_pb2 import Event
from tensorboardX.record_writer import masked_crc32c


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


def read_events(log_dir):
    """Every `Event` of the event files in `log_dir`, from the TFRecord framing:
    uint64 length, uint32 masked CRC of it, the data, uint32 masked CRC of the data."""
    events = []
    for path in sorted(glob.glob(f"{log_dir}/events.out.tfevents.*")):
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            header = data[pos : pos + 8]
            (length,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[pos + 8 : pos + 12])[0] == masked_crc32c(header)
            record = data[pos + 12 : pos + 12 + length]
            (crc,) = struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])
            assert crc == masked_crc32c(record)
            events.append(Event.FromString(record))
            pos += 16 + length
    return events


@pytest.fixture(name="read_events")
def _read_events():
    """`read_events(log_dir)`: every `Event` of the event files in `log_dir`."""
    return read_events


# The smallest DARTS search worth running in a test: 3 cells of 4 channels on 8x8 digits.
TINY_DARTS_SEARCH = {
    "seed": 1,
    "epochs": 3,
    "dataset": {"name": "digits", "batch_size": 64, "test_fraction": 0.5},
    "model": {
        "name": "darts",
        "init_channels": 4,
        "num_cells": 3,
        "num_choices": 2,
        "multiplier": 2,
        "stem_multiplier": 1,
    },
    "optimizer": {"lr": 0.05},
}


@pytest.fixture(scope="session")
def tiny_darts_search():
    """A fresh copy of `TINY_DARTS_SEARCH`, a search config as a dict (shared by the
    session: copy before changing it)."""
    return copy.deepcopy(TINY_DARTS_SEARCH)
