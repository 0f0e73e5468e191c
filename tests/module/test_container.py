import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

from nnabla_nas import module as Mo


def linear_keys(n):
    return [f"{i}/{name}" for i in range(n) for name in ("_W", "_b")]


def test_sequential_chains_its_modules(variable):
    seq = Mo.Sequential(Mo.Linear(4, 3), Mo.ReLU(), Mo.Linear(3, 2))
    x = variable(5, 4)
    y = seq(x)
    y.forward()
    first, last = seq[0], seq[2]
    hidden = np.maximum(x.d @ first._W.d + first._b.d, 0)
    np.testing.assert_allclose(y.d, hidden @ last._W.d + last._b.d, rtol=1e-5, atol=1e-6)
    assert list(seq.get_parameters()) == ["0/_W", "0/_b", "2/_W", "2/_b"]


def test_empty_sequential_is_identity():
    x = nn.Variable((2, 3))
    assert Mo.Sequential()(x) is x


def test_sequential_slice_is_a_sequential_of_the_same_modules(variable):
    seq = Mo.Sequential(Mo.Linear(4, 3), Mo.ReLU(), Mo.Linear(3, 2))
    head = seq[1:]
    assert isinstance(head, Mo.Sequential)
    assert len(head) == 2 and head[0] is seq[1] and head[1] is seq[2]
    assert list(head.get_parameters()) == ["1/_W", "1/_b"]
    x = variable(2, 3)
    out = head(x)
    out.forward()
    np.testing.assert_allclose(out.d, np.maximum(x.d, 0) @ seq[2]._W.d, rtol=1e-5, atol=1e-6)


def test_nested_containers_join_keys():
    net = Mo.Sequential(Mo.ModuleList([Mo.Linear(2, 2), Mo.ModuleDict({"a": Mo.Linear(2, 1)})]))
    assert list(net.get_parameters()) == ["0/0/_W", "0/0/_b", "0/1/a/_W", "0/1/a/_b"]


def test_module_list_insert_and_delete_reindex():
    a, b, c = Mo.Linear(1, 1), Mo.Linear(1, 2), Mo.Linear(1, 3)
    ml = Mo.ModuleList([a, c])
    ml.insert(1, b)
    assert list(ml) == [a, b, c]
    params = ml.get_parameters()
    assert list(params) == linear_keys(3)
    assert params["1/_W"] is b._W and params["2/_b"] is c._b
    del ml[0]
    params = ml.get_parameters()
    assert list(params) == linear_keys(2)
    assert params["0/_W"] is b._W and params["1/_W"] is c._W
    assert ml.index(c) == 1


def test_module_list_append_extend_setitem():
    ml = Mo.ModuleList()
    assert len(ml) == 0 and ml.get_parameters() == {}
    ml.append(Mo.Linear(2, 2)).extend([Mo.ReLU(), Mo.Linear(2, 3)])
    assert [type(m).__name__ for m in ml] == ["Linear", "ReLU", "Linear"]
    new = Mo.Linear(2, 4)
    ml[1] = new
    assert ml[1] is new and ml[-1].get_parameters()["_W"].shape == (2, 3)
    assert list(ml.get_parameters()) == linear_keys(3)


def test_module_list_slice_shares_modules():
    mods = [Mo.Linear(1, 1) for _ in range(4)]
    ml = Mo.ModuleList(mods)
    part = ml[1:3]
    assert type(part) is Mo.ModuleList
    assert list(part) == mods[1:3]
    assert part.get_parameters()["0/_W"] is mods[1]._W
    del ml[::2]
    assert list(ml) == [mods[1], mods[3]]


@pytest.mark.parametrize("container", [Mo.ModuleList, lambda items: Mo.Sequential(*items)])
def test_module_containers_reject_non_modules(container):
    with pytest.raises(TypeError, match="holds Modules only, got int"):
        container([Mo.ReLU(), 3])


def test_module_dict():
    first, second = Mo.Linear(2, 3), Mo.Conv(1, 1, (1, 1))
    md = Mo.ModuleDict({"lin": first})
    md["conv"] = second
    assert list(md) == ["lin", "conv"]
    assert list(md.keys()) == ["lin", "conv"]
    assert list(md.values()) == [first, second]
    assert dict(md.items()) == {"lin": first, "conv": second}
    assert "conv" in md and "x" not in md and len(md) == 2
    assert md["conv"] is second
    assert list(md.get_parameters()) == ["lin/_W", "lin/_b", "conv/_W", "conv/_b"]
    del md["lin"]
    assert list(md.get_parameters()) == ["conv/_W", "conv/_b"]


@pytest.mark.parametrize("key", ["a/b", 1])
def test_module_dict_rejects_bad_keys(key):
    with pytest.raises(KeyError, match="strings without '/'"):
        Mo.ModuleDict()[key] = Mo.ReLU()


def test_module_dict_rejects_non_modules():
    with pytest.raises(TypeError, match="ModuleDict holds Modules only"):
        Mo.ModuleDict({"a": nn.Variable((1,))})


def test_parameter_list_insert_and_delete_reindex():
    p0, p1, p2 = (Mo.Parameter((i + 1,)) for i in range(3))
    pl = Mo.ParameterList([p0, p2])
    pl.insert(1, p1)
    assert list(pl) == [p0, p1, p2] and len(pl) == 3
    params = pl.get_parameters()
    assert list(params) == ["0", "1", "2"]
    assert [p.shape for p in params.values()] == [(1,), (2,), (3,)]
    del pl[0]
    params = pl.get_parameters()
    assert list(params) == ["0", "1"] and params["0"] is p1 and params["1"] is p2
    assert pl.index(p2) == 1
    with pytest.raises(ValueError, match="not in this ParameterList"):
        pl.index(p0)


def test_parameter_list_slicing_setitem_and_errors():
    ps = [Mo.Parameter((1,), initializer=float(i)) for i in range(4)]
    pl = Mo.ParameterList(ps)
    part = pl[::2]
    assert isinstance(part, Mo.ParameterList) and list(part) == [ps[0], ps[2]]
    pl[3] = replacement = Mo.Parameter((5,))
    assert pl.get_parameters()["3"] is replacement
    with pytest.raises(TypeError, match="Parameters only, got Variable"):
        pl.append(nn.Variable((1,)))
    assert repr(Mo.ParameterList([Mo.Parameter((2,))])) == (
        "ParameterList(Parameter(shape=(2,), need_grad=True))"
    )


def test_parameter_list_inside_a_module(variable):
    class Scales(Mo.Module):
        def __init__(self):
            self._scales = Mo.ParameterList(
                [Mo.Parameter((1, 3), initializer=np.full((1, 3), float(i + 1))) for i in range(2)]
            )

        def call(self, x):
            for s in self._scales:
                x = F.mul2(x, s)
            return x

    net = Scales()
    assert list(net.get_parameters()) == ["_scales/0", "_scales/1"]
    x = variable(1, 3)
    y = net(x)
    y.forward()
    np.testing.assert_allclose(y.d, 2 * x.d, rtol=1e-6)


@pytest.mark.parametrize("make", [Mo.ModuleList, lambda items: Mo.Sequential(*items)])
def test_plus_equals_appends_a_list_as_pytorch_does(make):
    first, second, third = Mo.Linear(2, 2), Mo.ReLU(), Mo.Linear(2, 3)
    ml = make([first])
    same = ml
    ml += [second, third]
    assert ml is same and list(ml) == [first, second, third]
    assert list(ml.get_parameters()) == ["0/_W", "0/_b", "2/_W", "2/_b"]
    joined = ml + (m for m in [Mo.ReLU()])
    assert type(joined) is type(ml) and len(joined) == 4 and len(ml) == 3
    assert joined[0] is first  # shared, not copied
    with pytest.raises(TypeError, match=r"extend and \+= take an iterable of Modules"):
        ml += Mo.ReLU()
    with pytest.raises(TypeError, match="holds Modules only, got int"):
        ml += [1]


def test_sequential_plus_equals_runs_the_added_modules(variable):
    net = Mo.Sequential(Mo.Lambda(lambda x: x * 2))
    net += [Mo.Lambda(lambda x: x + 1)]
    x = variable(2, 3)
    y = net(x)
    y.forward()
    np.testing.assert_allclose(y.d, x.d * 2 + 1, rtol=1e-6)


def test_module_dict_update_takes_a_mapping_or_pairs():
    a, b, c = Mo.ReLU(), Mo.Linear(1, 1), Mo.ReLU6()
    md = Mo.ModuleDict({"a": a})
    md.update({"b": b})
    md.update([("a", c)])
    assert dict(md.items()) == {"a": c, "b": b}
    with pytest.raises(KeyError, match="strings without '/'"):
        md.update({"x/y": a})


def test_parameter_list_plus_equals(variable):
    first = Mo.Parameter((2,))
    pl = Mo.ParameterList([first])
    pl += [Mo.Parameter((3,))]
    assert [p.shape for p in pl] == [(2,), (3,)]
    assert list(pl.get_parameters()) == ["0", "1"]
    with pytest.raises(TypeError, match=r"ParameterList.extend and \+= take an iterable"):
        pl += Mo.Parameter((1,))
