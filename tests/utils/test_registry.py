import pytest

from nnabla_nas.utils import registry as registry_module
from nnabla_nas.utils.registry import Registry, registrar


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


class _Entry:
    """What `importlib.metadata.entry_points` yields: a name and a loader."""

    def __init__(self, name, value):
        self.name, self._value = name, value

    def load(self):
        return self._value


def test_registry_lists_its_components_and_names_them_in_errors():
    reg = Registry("gadget")
    reg.add("b", 2)
    reg.add("a", 1)
    assert reg.names() == ["a", "b"] and list(reg) == ["a", "b"] and len(reg) == 2
    assert reg.items() == [("a", 1), ("b", 2)] and reg.values() == [1, 2]
    assert reg["a"] == 1 and "b" in reg and "c" not in reg
    with pytest.raises(ValueError, match="unknown gadget 'c'; registered: a, b"):
        reg["c"]
    with pytest.raises(ValueError, match="a gadget named 'a' is already registered"):
        reg.add("a", 3)
    reg.remove("a")
    assert reg.names() == ["b"]


def test_registry_loads_components_of_other_packages_from_entry_points(monkeypatch):
    class Plugin:
        name = "plugin"

    groups = []

    def entry_points(group):
        groups.append(group)
        return [_Entry("plugin", Plugin), _Entry("ready", "made")]

    monkeypatch.setattr(registry_module.metadata, "entry_points", entry_points)
    reg = Registry("search space", entry_points="nnabla_nas.spaces")
    reg.add("ready", "built in")
    assert isinstance(reg["plugin"], Plugin)  # a class is instantiated once
    assert reg["plugin"] is reg["plugin"]
    assert reg["ready"] == "built in"  # a built-in name is not replaced
    assert groups == ["nnabla_nas.spaces"]  # looked up once, on the first unknown name
    assert reg.names() == ["plugin", "ready"]
