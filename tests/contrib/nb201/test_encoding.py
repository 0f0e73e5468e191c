"""NAS-Bench-201 path encoding: the paths of the cell, codes by hand, and the space's hook."""

import doctest

import numpy as np
import pytest

from nnabla_nas.contrib.nb201 import encoding
from nnabla_nas.contrib.nb201.arch import all_archs
from nnabla_nas.contrib.nb201.encoding import PATH_COLUMNS, PATHS, path_encoding
from nnabla_nas.contrib.registry import get_space


def columns(arch):
    code = path_encoding([arch])[0]
    return {PATH_COLUMNS[i]: code[i] for i in np.flatnonzero(code)}


def test_the_four_paths_from_input_to_output():
    # Edges in order: (0->1), (0->2), (1->2), (0->3), (1->3), (2->3).
    assert PATHS == ((3,), (0, 4), (1, 5), (0, 2, 5))
    assert len(PATH_COLUMNS) == 4 + 4**2 + 4**3
    assert PATH_COLUMNS[0] == ("skip_connect",) and PATH_COLUMNS[4] == ("skip_connect",) * 2


def test_codes_by_hand():
    conv, skip, pool = "nor_conv_3x3", "skip_connect", "avg_pool_3x3"
    assert columns((conv, conv, conv, conv, conv, conv)) == {
        (conv,): 1, (conv, conv): 2, (conv, conv, conv): 1
    }  # fmt: skip
    # Two paths run conv, conv above; 'none' on 0->1 cuts the two paths through node 1.
    assert columns(("none", skip, pool, skip, conv, skip)) == {(skip,): 1, (skip, skip): 1}
    assert columns(("none",) * 6) == {}
    assert columns((conv, "none", skip, "none", "none", pool)) == {(conv, skip, pool): 1}


def test_every_architecture_is_coded_and_paths_count_at_most_four():
    code = path_encoding(all_archs())
    assert code.shape == (15625, 84)
    assert code.sum(axis=1).max() == 4 and (code.sum(axis=1) == 0).sum() > 0
    with pytest.raises(ValueError, match="unknown op"):
        path_encoding([("conv",) * 6])


def test_docstring_example_runs():
    assert doctest.testmod(encoding).failed == 0


def test_the_space_offers_it_to_predictors():
    assert get_space("nb201").choice_encoding() is path_encoding
    assert get_space("darts").choice_encoding() is None
