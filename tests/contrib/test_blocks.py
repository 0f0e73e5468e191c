import numpy as np
import pytest

from nnabla_nas import module as Mo
from nnabla_nas.contrib.blocks import AuxiliaryHeadCIFAR


@pytest.mark.parametrize("size", [8, 9, 16])
def test_auxiliary_head_output_shape(size, variable):
    head = AuxiliaryHeadCIFAR(6, 10)
    y = head(variable(2, 6, size, size))
    assert y.shape == (2, 10)
    y.forward()
    assert np.isfinite(y.d).all()


def test_auxiliary_head_has_the_darts_layers():
    head = AuxiliaryHeadCIFAR(6, 10)
    convs = [m for _, m in head.get_modules() if isinstance(m, Mo.Conv)]
    assert [c._W.shape for c in convs] == [(128, 6, 1, 1), (768, 128, 2, 2)]
    assert all(c._b is None for c in convs)
    assert head._classifier._W.shape == (768, 10)


def test_auxiliary_head_on_8x8_maps_is_the_darts_head(variable):
    head = AuxiliaryHeadCIFAR(6, 10)
    x = variable(2, 6, 8, 8)
    features = head._features[:-1](x)
    assert features.shape == (2, 768, 1, 1)


def test_auxiliary_head_rejects_small_maps(variable):
    with pytest.raises(ValueError, match=r"at least 8x8.*got 7x7"):
        AuxiliaryHeadCIFAR(6, 10)(variable(2, 6, 7, 7))


def test_auxiliary_head_rejects_wrong_channels(variable):
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 6, H, W\)"):
        AuxiliaryHeadCIFAR(6, 10)(variable(2, 4, 8, 8))
