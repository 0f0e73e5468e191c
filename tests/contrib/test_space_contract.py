"""The contract every registered search space keeps, the toy space of the tests included:
both networks, the architecture codec, the diagram, ONNX export and multi-trial choices."""

import json

import nnabla as nn
import numpy as np
import onnx
import onnxruntime
import pytest

from nnabla_nas.contrib.registry import SPACES, get_space, register_space
from nnabla_nas.contrib.space import Space
from nnabla_nas.export import export_onnx
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.searcher import SEARCHERS, SearchParts

NAMES = SPACES.names()
SHAPE = (1, 8, 8)  # one digits image
CLASSES = 10


def quick(space, which):
    valid = space.options(which)
    return {k: v for k, v in space.quick_options.items() if k in valid}


def nets(name):
    space = get_space(name)
    search = space.make_search_net(SHAPE[0], CLASSES, seed=0, options=quick(space, "search"))
    arch = space.derive(search)
    train = space.make_train_net(SHAPE[0], CLASSES, arch, seed=0, options=quick(space, "train"))
    return space, search, arch, train


def forward(model, x, training):
    with model.modes(training=training):
        y = model(nn.Variable.from_numpy_array(x))
    y.forward()
    return y.d


def test_the_registry_holds_the_built_in_spaces_and_the_toy():
    assert {"darts", "mobilenet", "nb201", "toy"} <= set(NAMES)
    assert all(isinstance(get_space(n), Space) and get_space(n).name == n for n in NAMES)
    with pytest.raises(ValueError, match="unknown search space 'resnet'; registered: darts"):
        get_space("resnet")
    with pytest.raises(ValueError, match="already registered"):
        register_space(get_space("toy"))


@pytest.mark.parametrize("name", NAMES)
def test_both_networks_build_and_run(name):
    space, search, _, train = nets(name)
    # The same seed gives the same network, whatever ran before.
    np.random.seed(123)
    nn.seed(321)
    again = space.make_search_net(SHAPE[0], CLASSES, seed=0, options=quick(space, "search"))
    for (k, a), b in zip(search.get_parameters().items(), again.get_parameters().values(),
                         strict=True):  # fmt: skip
        np.testing.assert_array_equal(a.d, b.d, err_msg=k)
    x = np.random.default_rng(0).random((2, *SHAPE), dtype=np.float32)
    assert forward(search, x, training=True).shape == (2, CLASSES)
    assert forward(train, x, training=False).shape == (2, CLASSES)
    assert not train.get_arch_parameters()
    # A one-shot supernet has alphas; a weight-sharing one without (Once-for-All) is
    # searched through its space's decisions.
    assert search.get_arch_parameters() or space.decisions(search)


@pytest.mark.parametrize("name", NAMES)
def test_the_architecture_round_trips_through_json(name, tmp_path):
    space, _, arch, _ = nets(name)
    assert space.validate(arch) == arch
    assert json.loads(json.dumps(arch)) == arch
    path = str(tmp_path / "arch.json")
    space.write(path, arch)
    assert space.read(path) == arch
    assert space.describe(arch) and "\n" not in space.describe(arch)


@pytest.mark.parametrize("name", NAMES)
def test_bad_architecture_files_are_clear_errors(name, tmp_path):
    space = get_space(name)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=f"'{broken}' is not valid JSON"):
        space.read(str(broken))
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"bogus": [1, 2]}))
    with pytest.raises(ValueError, match=f"architecture file '{wrong}' \\({name} space\\)"):
        space.read(str(wrong))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        space.read(str(tmp_path / "missing.json"))


@pytest.mark.parametrize("name", NAMES)
def test_the_space_draws_its_architecture(name, tmp_path):
    space, _, arch, _ = nets(name)
    paths = space.draw(arch, str(tmp_path / "figures"))
    assert {p.rsplit(".", 1)[1] for p in paths} == {"svg", "png"}
    for path in paths:
        with open(path, "rb") as f:
            head = f.read(8)
        assert head.startswith(b"\x89PNG") if path.endswith(".png") else b"<" in head
    assert all(isinstance(c, str) and c.startswith("#") for c in space.colors.values())


@pytest.mark.parametrize("name", NAMES)
def test_the_train_network_exports_to_onnx_as_nnabla_computes_it(name, tmp_path):
    _, _, _, train = nets(name)
    x = np.random.default_rng(1).random((1, *SHAPE), dtype=np.float32)
    path = export_onnx(train, x.shape, str(tmp_path / "net.onnx"))
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": x})
    np.testing.assert_allclose(got, forward(train, x, training=False), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_the_train_network_exports_to_onnx_with_named_nodes_and_any_batch(name, tmp_path):
    _, _, _, train = nets(name)
    path = export_onnx(train, (1, *SHAPE), str(tmp_path / "net.onnx"), dynamic_batch=True)
    names = [node.name for node in onnx.load(path).graph.node]
    assert all(names) and len(set(names)) == len(names)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        x = np.random.default_rng(batch).random((batch, *SHAPE), dtype=np.float32)
        (got,) = session.run(None, {"x": x})
        np.testing.assert_allclose(got, forward(train, x, training=False), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_the_space_offers_multi_trial_choices(name):
    space, search, arch, _ = nets(name)
    decisions = space.decisions(search)
    assert decisions and all(d.options for d in decisions)
    assert len({d.label for d in decisions}) == len(decisions)
    rng = np.random.default_rng(0)
    before = [p.d.copy() for p in search.get_arch_parameters().values()]
    for _ in range(5):
        choices = tuple(d.options[rng.integers(len(d.options))] for d in decisions)
        chosen = space.from_choices(search, choices)
        assert space.validate(chosen) == chosen
        assert space.parse_choices(space.format_choices(choices)) == choices
    after = [p.d for p in search.get_arch_parameters().values()]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert space.derive(search) == arch  # the net is left as it was
    with pytest.raises(ValueError, match="one per decision"):
        space.from_choices(search, ())


@pytest.mark.parametrize("searcher", SEARCHERS.names())
@pytest.mark.parametrize("name", NAMES)
def test_every_searcher_takes_a_step_on_every_space(name, searcher):
    space = get_space(name)
    cls = SEARCHERS[searcher]
    if cls.spaces and name not in cls.spaces:
        pytest.skip(f"searcher {searcher} trains the {' and '.join(cls.spaces)} space only")
    model = space.make_search_net(SHAPE[0], CLASSES, seed=0, options=quick(space, "search"))
    if not cls.spaces and not model.get_arch_parameters():
        pytest.skip(f"the search net of {name} has no architecture parameters to search")
    arch = model.get_arch_parameters(True)
    parts = SearchParts(
        Optimizer(model.get_net_parameters(True), "sgd", 0.05),
        Optimizer(arch, "adam", 0.1) if arch else None,
    )
    algorithm = cls.create(model, parts, cls.Settings())
    algorithm.start_epoch(0, np.random.default_rng(0))
    rng = np.random.default_rng(0)

    def batch():
        return rng.random((4, *SHAPE), dtype=np.float32), rng.integers(0, CLASSES, (4, 1))

    params = model.get_parameters(grad_only=True)
    before = {k: p.d.copy() for k, p in params.items()}
    metrics = algorithm.train_on_batch({"train": batch(), "valid": batch()})
    assert np.isfinite(metrics["loss"])
    moved = {k for k, p in params.items() if not np.array_equal(before[k], p.d)}
    assert moved - set(model.get_arch_parameters())  # the weights learned
    assert np.isfinite(algorithm.valid_on_batch(batch())["loss"])
    assert space.validate(space.derive(model)) == space.derive(model)
