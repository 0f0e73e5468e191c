import pytest

from nnabla_nas.utils.registry import registrar


def test_register_adds_once_under_the_name():
    table = {}
    register = registrar(table, "widget")

    @register("double")
    def double(x):
        return 2 * x

    assert table == {"double": double} and table["double"](3) == 6
    with pytest.raises(ValueError, match="a widget named 'double' is already registered"):
        register("double")(lambda x: x)
    assert table["double"] is double
