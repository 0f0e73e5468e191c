"""The example of the user's README runs unchanged against the package."""

import contextlib
import io
import re
from pathlib import Path

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest

# Copied verbatim from the ```python block of the README (seed/README.md).
SEED_EXAMPLE = r'''from collections import OrderedDict

from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts.modules import MixedOp
from nnabla_nas.contrib.model import Model


class MyModel(Model):
    def __init__(self):
        self._block = MixedOp(
            operators=[
                Mo.Conv(in_channels=3, out_channels=3, kernel=(3, 3), pad=(1, 1)),
                Mo.MaxPool(kernel=(3, 3), stride=(1, 1), pad=(1, 1)),
                Mo.Identity()
            ],
            mode='full'
        )
        self._classifier = Mo.Sequential(
            Mo.ReLU(),
            Mo.GlobalAvgPool(),
            Mo.Linear(3, 10)
        )

    def call(self, input):
        out = self._block(input)
        out = self._classifier(out)
        return out

    def get_arch_parameters(self, grad_only=False):
        r"""Returns an `OrderedDict` containing architecture parameters."""
        p = self.get_parameters(grad_only)
        return OrderedDict([(k, v) for k, v in p.items() if 'alpha' in k])

    def get_net_parameters(self, grad_only=False):
        r"""Returns an `OrderedDict` containing model parameters."""
        p = self.get_parameters(grad_only)
        return OrderedDict([(k, v) for k, v in p.items() if 'alpha' not in k])

if __name__ == '__main__':
    net = MyModel()
    print(net)
'''

README = Path(__file__).resolve().parents[2] / "shared" / "seed" / "README.md"


def run_example():
    """Runs the example as a script; returns its globals and what it printed."""
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(SEED_EXAMPLE, "seed_example.py", "exec"), namespace)
    return namespace, out.getvalue()


def test_example_prints_the_module_tree():
    namespace, printed = run_example()
    for name in (
        "MyModel",
        "MixedOp",
        "Conv",
        "MaxPool",
        "Identity",
        "Sequential",
        "ReLU",
        "GlobalAvgPool",
        "Linear",
    ):
        assert re.search(rf"\b{name}\(", printed), name
    assert printed.startswith("MyModel(\n  (_block): MixedOp(mode='full', num_ops=3")
    assert isinstance(namespace["net"], namespace["MyModel"])


def test_example_is_not_run_on_import():
    namespace = {"__name__": "seed_example"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(SEED_EXAMPLE, "seed_example.py", "exec"), namespace)
    assert out.getvalue() == "" and "net" not in namespace


def test_example_model_trains(rng):
    namespace, _ = run_example()
    net = namespace["MyModel"]()
    x = nn.Variable.from_numpy_array(rng.standard_normal((4, 3, 8, 8)).astype(np.float32))
    t = nn.Variable.from_numpy_array(rng.integers(0, 10, (4, 1)).astype(np.int32))
    out = net(x)
    assert out.shape == (4, 10)
    loss = F.mean(F.softmax_cross_entropy(out, t))
    params = net.get_parameters(grad_only=True)
    for p in params.values():
        p.grad.zero()
    loss.forward(clear_no_need_grad=True)
    loss.backward(clear_buffer=True)
    assert np.isfinite(loss.d) and loss.d > 0
    assert list(params) == [
        "_block/_alpha",
        "_block/_ops/0/_W",
        "_block/_ops/0/_b",
        "_classifier/2/_W",
        "_classifier/2/_b",
    ]
    for key, p in params.items():
        assert np.abs(p.g).sum() > 0, key


def test_example_split_agrees_with_the_base_class():
    namespace, _ = run_example()
    net = namespace["MyModel"]()
    base = namespace["Model"]
    assert list(net.get_arch_parameters()) == ["_block/_alpha"]
    assert list(net.get_arch_parameters()) == list(base.get_arch_parameters(net))
    assert list(net.get_net_parameters()) == list(base.get_net_parameters(net))


@pytest.mark.skipif(not README.exists(), reason="the shared seed README is not next to the repo")
def test_copy_matches_the_readme():
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert code is not None and code.group(1) == SEED_EXAMPLE
