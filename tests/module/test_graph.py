"""`no_gradient`: a pass that leaves some parameters' gradients alone."""

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas.module.graph import no_gradient


def test_no_gradient_leaves_the_given_parameters_out_of_the_backward_and_restores_them():
    x = nn.Variable.from_numpy_array(np.arange(6, dtype=np.float32).reshape(2, 3))
    w1 = nn.Variable.from_numpy_array(np.full((3, 4), 0.5, np.float32), need_grad=True)
    w2 = nn.Variable.from_numpy_array(np.full((3, 4), -1.0, np.float32), need_grad=True)
    fixed = nn.Variable.from_numpy_array(np.ones((3, 4), np.float32), need_grad=False)
    loss = F.sum(F.affine(x, w1) * F.affine(x, w2) + F.affine(x, fixed))
    w1.g, w2.g = 7.0, 0.0
    with no_gradient([w1, fixed]):
        assert not w1.need_grad
        loss.forward(clear_no_need_grad=True)
        loss.backward(clear_buffer=True)
    assert w1.need_grad and w2.need_grad and not fixed.need_grad  # as they were
    np.testing.assert_array_equal(w1.g, 7.0)  # not computed, not accumulated
    # d/dw2 sum((x w1) * (x w2)) = x^T (x w1)
    np.testing.assert_allclose(w2.g, x.d.T @ (x.d @ w1.d), rtol=1e-6)


def test_no_gradient_restores_after_an_error():
    w = nn.Variable((2,), need_grad=True)
    with pytest.raises(RuntimeError), no_gradient([w]):
        raise RuntimeError("in the block")
    assert w.need_grad
