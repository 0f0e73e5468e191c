"""Export of a network to NNP and ONNX: every candidate op and whole networks give
nnabla's outputs. Exporting a run folder is tested in tests/app/test_exporting.py."""

import os
import sys

import nnabla as nn
import nnabla.functions as F
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from nnabla.utils.nnp_graph import NnpLoader

import nnabla_nas.export as export_module
from nnabla_nas import module as Mo
from nnabla_nas.contrib.darts import modules as darts_ops
from nnabla_nas.contrib.darts.network import TrainNet as DartsNet
from nnabla_nas.contrib.mobilenet import modules as mobilenet_ops
from nnabla_nas.contrib.mobilenet.network import TrainNet as MobileNet
from nnabla_nas.export import (
    FORMATS,
    ONNX_OPSETS,
    convert,
    export,
    export_nnp,
    export_onnx,
    infer_format,
)

ATOL, RTOL = 1e-4, 1e-5

# Every DARTS op in both cells: the normal cell has stride-1 edges, the reduction cell
# stride 2 from its inputs (FactorizedReduce for skip_connect) and stride 1 between nodes.
GENOTYPE = {
    "normal": [
        ["avg_pool_3x3", 0], ["sep_conv_5x5", 1], ["dil_conv_5x5", 2], ["max_pool_3x3", 1],
        ["skip_connect", 0], ["sep_conv_3x3", 3],
    ],
    "normal_concat": [2, 3, 4],
    "reduce": [
        ["avg_pool_3x3", 0], ["skip_connect", 1], ["dil_conv_3x3", 2], ["sep_conv_3x3", 0],
        ["max_pool_3x3", 1], ["avg_pool_3x3", 3],
    ],
    "reduce_concat": [2, 3, 4],
}  # fmt: skip
MOBILENET = {
    "settings": "cifar10",
    "blocks": ["k5_e3", "skip", "k7_e6"],
    "stages": [[1, 8, 1, 1], [6, 8, 2, 2], [3, 16, 1, 1]],
}


def randomise(module, rng):
    """Random weights everywhere; BN gets non-trivial running statistics and affine terms."""
    for key, p in module.get_parameters().items():
        if key.endswith("_var"):
            p.d = rng.uniform(0.5, 2.0, p.shape)
        elif key.endswith("_gamma"):
            p.d = rng.uniform(0.5, 1.5, p.shape)
        else:
            p.d = 0.5 * rng.standard_normal(p.shape)
    return module


def reference(module, x):
    """nnabla's inference output of `module` on `x`."""
    with module.modes(training=False):
        y = module(nn.Variable.from_numpy_array(x))
    if y.parent is not None:  # not the identity
        y.forward()
    return y.d.copy()


def run_nnp(path, x):
    graph = NnpLoader(path).get_network("network", batch_size=len(x))
    graph.inputs["x"].d = x
    graph.outputs["y"].forward()
    return graph.outputs["y"].d.copy()


def run_onnx(path, x):
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(["y"], {"x": x.astype(np.float32)})[0]


def assert_exports_match(module, x, folder, opset=export_module.DEFAULT_OPSET):
    expected = reference(module, x)
    nnp = export_nnp(module, x.shape, str(folder / "m.nnp"))
    np.testing.assert_allclose(run_nnp(nnp, x), expected, atol=ATOL, rtol=RTOL)
    path = export_onnx(module, x.shape, str(folder / "m.onnx"), opset=opset)
    np.testing.assert_allclose(run_onnx(path, x), expected, atol=ATOL, rtol=RTOL)
    return expected


def images(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("name", darts_ops.CANDIDATE_NAMES)
def test_every_darts_op_exports_exactly(name, stride, tmp_path, rng):
    op = randomise(darts_ops.CANDIDATES[name](4, stride, True), rng)
    # An odd size, so that strided windows and FactorizedReduce's shift meet the border.
    expected = assert_exports_match(op, images(rng, 2, 4, 7, 7), tmp_path)
    assert expected.shape == (2, 4, 7 if stride == 1 else 4, 7 if stride == 1 else 4)


MOBILENET_CASES = [
    (name, cin, cout, stride)
    for name in mobilenet_ops.CANDIDATE_NAMES
    for cin, cout, stride in [(8, 8, 1), (8, 16, 2)]
    if mobilenet_ops.skip_allowed(cin, cout, stride) or name != mobilenet_ops.SKIP
]


@pytest.mark.parametrize(("name", "cin", "cout", "stride"), MOBILENET_CASES)
def test_every_mobilenet_block_exports_exactly(name, cin, cout, stride, tmp_path, rng):
    block = randomise(mobilenet_ops.candidate(name, cin, cout, stride), rng)
    assert_exports_match(block, images(rng, 2, cin, 7, 7), tmp_path)


@pytest.mark.parametrize("opset", [11, 13, 7])
def test_darts_train_net_exports_exactly(opset, tmp_path, rng):
    # Auxiliary head and drop path exist in training only; the export leaves them out.
    net = randomise(DartsNet(3, 4, 3, 10, GENOTYPE, auxiliary=True, drop_path=0.3), rng)
    expected = assert_exports_match(net, images(rng, 2, 3, 8, 8), tmp_path, opset=opset)
    assert expected.shape == (2, 10) and np.ptp(expected) > 0.1
    assert net.training  # the export restores the mode


def test_mobilenet_train_net_exports_exactly(tmp_path, rng):
    net = randomise(MobileNet(3, 10, MOBILENET, dropout=0.2, drop_path=0.1), rng)
    expected = assert_exports_match(net, images(rng, 2, 3, 8, 8), tmp_path)
    assert np.ptp(expected) > 0.1


@pytest.mark.parametrize("opset", [11, 13])
def test_mobilenet_v3_layers_export_exactly(opset, tmp_path, rng):
    # Hswish around a squeeze-and-excitation block: the hard gates and the broadcast product.
    net = randomise(
        Mo.Sequential(Mo.Conv(3, 8, (3, 3), pad=(1, 1)), Mo.Hswish(), Mo.SqueezeExcitation(8)),
        rng,
    )
    expected = assert_exports_match(net, 2 * images(rng, 2, 3, 6, 6), tmp_path, opset=opset)
    assert (expected < 0).any() and np.ptp(expected) > 0.1


def onnx_without_fix(module, shape, path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(convert, "fix_average_pools", lambda model, network: 0)
        return export_onnx(module, shape, path)


def test_average_pooling_excludes_the_padding_only_with_the_fix(tmp_path, rng, monkeypatch):
    pool = darts_ops.CANDIDATES["avg_pool_3x3"](3, 1, True)
    x = images(rng, 1, 3, 6, 6)
    expected = reference(pool, x)
    broken = run_onnx(onnx_without_fix(pool, x.shape, str(tmp_path / "raw.onnx"), monkeypatch), x)
    border = np.ones((6, 6), dtype=bool)
    border[1:-1, 1:-1] = False
    # The converter alone replicates the border into the padding: interior right, border wrong.
    np.testing.assert_allclose(broken[..., ~border], expected[..., ~border], atol=ATOL)
    assert np.all(np.abs(broken[..., border] - expected[..., border]).max(axis=(0, 1)) > 1e-3)
    # Counting the padding (the include-pad average) is wrong at the border too.
    including = F.average_pooling(nn.Variable.from_numpy_array(x), (3, 3), (1, 1), True, (1, 1))
    including.forward()
    assert np.abs(including.d[..., border] - expected[..., border]).min() > 1e-4
    fixed = export_onnx(pool, x.shape, str(tmp_path / "fixed.onnx"))
    np.testing.assert_allclose(run_onnx(fixed, x), expected, atol=ATOL, rtol=RTOL)
    nodes = onnx.load(fixed).graph.node
    assert "Pad" not in [n.op_type for n in nodes]
    (node,) = [n for n in nodes if n.op_type == "AveragePool"]
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attributes["count_include_pad"] == 0 and list(attributes["pads"]) == [1, 1, 1, 1]


@pytest.mark.parametrize("including_pad", [True, False])
@pytest.mark.parametrize("opset", [11, 9])
def test_average_pooling_without_ignore_border(including_pad, opset, tmp_path, rng):
    # The last window overhangs the padding: nnabla does not count the overhang.
    def pool(x):
        return F.average_pooling(x, (3, 5), (2, 3), False, (1, 2), including_pad=including_pad)

    assert_exports_match(Mo.Lambda(pool), images(rng, 1, 2, 6, 6), tmp_path, opset=opset)


def test_including_pad_pooling_is_left_as_converted(tmp_path, rng):
    pool = Mo.AvgPool((3, 3), stride=(1, 1), pad=(1, 1))
    assert_exports_match(pool, images(rng, 1, 2, 5, 5), tmp_path)
    ops = [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert "Pad" in ops and "AveragePool" in ops


def test_export_writes_fixed_shapes_and_names(tmp_path, rng):
    net = randomise(DartsNet(1, 4, 3, 10, GENOTYPE), rng)
    path = export(net, (3, 1, 8, 8), str(tmp_path / "net.onnx"))
    graph = onnx.load(path).graph
    assert [i.name for i in graph.input if i.name == "x"] == ["x"]
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 1, 8, 8] and [o.name for o in graph.output] == ["y"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]
    assert nn.get_parameters() == {}  # the global parameter scope is untouched


def test_nnp_holds_the_parameters_the_graph_reads_and_modes_are_kept(tmp_path, rng):
    import zipfile

    import h5py

    net = randomise(DartsNet(1, 4, 3, 10, GENOTYPE, auxiliary=True), rng)
    stem = net._stem
    stem.training = False
    path = export_nnp(net, (1, 1, 8, 8), str(tmp_path / "m.nnp"))
    with zipfile.ZipFile(path) as archive:
        archive.extract("parameter.h5", tmp_path)
    with h5py.File(tmp_path / "parameter.h5") as f:
        saved = set()
        f.visititems(lambda key, obj: saved.add(key) if isinstance(obj, h5py.Dataset) else None)
    used = {k for k in net.get_parameters() if not k.startswith("_aux_head")}
    assert saved == used
    assert net.training and net._classifier.training and not stem.training
    assert all(not m.training for _, m in stem.get_modules())


def test_input_transform_is_part_of_the_graph(tmp_path, rng):
    from nnabla_nas.dataset.transforms import Normalize

    net = randomise(MobileNet(1, 10, MOBILENET), rng)
    normalize = Normalize([0.3], [0.2])
    x = rng.uniform(0, 1, (2, 1, 8, 8)).astype(np.float32)
    expected = reference(net, (x - 0.3) / 0.2)
    for fmt, run in (("nnp", run_nnp), ("onnx", run_onnx)):
        path = export(net, x.shape, str(tmp_path / f"m.{fmt}"), transform=normalize)
        np.testing.assert_allclose(run(path, x), expected, atol=ATOL, rtol=RTOL)


# -- errors -------------------------------------------------------------------------
@pytest.fixture
def tiny():
    return Mo.Conv(1, 2, (3, 3), pad=(1, 1))


def test_unknown_format_is_a_clear_error(tiny, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'tflite'; use one of: nnp, onnx"):
        export(tiny, (1, 1, 4, 4), str(tmp_path / "m.tflite"), format="tflite")
    with pytest.raises(ValueError, match=r"cannot tell the export format .*\*\.onnx"):
        export(tiny, (1, 1, 4, 4), str(tmp_path / "m.bin"))
    assert FORMATS == ("nnp", "onnx")


def test_an_onnx_file_may_have_any_name_but_nnp_needs_its_extension(tiny, tmp_path, rng):
    x = images(rng, 1, 1, 4, 4)
    path = export(tiny, x.shape, str(tmp_path / "model.bin"), format="onnx")
    np.testing.assert_allclose(run_onnx(path, x), reference(tiny, x), atol=ATOL)
    with pytest.raises(ValueError, match=r"an NNP file must be named \*\.nnp"):
        export(tiny, x.shape, str(tmp_path / "model.bin"), format="nnp")


def test_infer_format_goes_by_the_extension_and_refuses_a_mismatch(tiny, tmp_path):
    assert infer_format("a/m.nnp") == "nnp" and infer_format("a/M.ONNX") == "onnx"
    assert infer_format("m.bin", "onnx") == "onnx" and infer_format("m.onnx", "onnx") == "onnx"
    for path, fmt in (("m.nnp", "onnx"), ("m.onnx", "nnp")):
        with pytest.raises(ValueError, match=rf"named as a \.{path[2:]} file .* name it \*\.{fmt}"):
            infer_format(path, fmt)
    with pytest.raises(ValueError, match=r"named as a \.nnp file but the format is onnx"):
        export(tiny, (1, 1, 4, 4), str(tmp_path / "m.nnp"), format="onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, d: export_onnx(m, (1, 1, 4, 4), f"{d}/m.onnx", opset=6), "opset 6"),
        (lambda m, d: export_nnp(m, (1, 1, 4, 4), d), "is a directory"),
        (lambda m, d: export_onnx(m, (1, 1, 4, 4), ""), "must be a file name"),
        (lambda m, d: export_nnp(m, (1, 0, 4, 4), f"{d}/m.nnp"), "must be positive"),
        (lambda m, d: export_nnp(m, [1, 1.5], f"{d}/m.nnp"), "tuple of ints"),
    ],
)
def test_bad_arguments_are_clear_errors(tiny, tmp_path, call, message):
    with pytest.raises(ValueError, match=message):
        call(tiny, str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_functions_the_converter_lacks_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"cannot convert the function\(s\) \['Mish'\]"):
        export_onnx(Mo.Lambda(F.mish), (1, 2), str(tmp_path / "m.onnx"))
    assert os.listdir(tmp_path) == []


def test_several_outputs_cannot_be_exported(tmp_path):
    class Two(Mo.Module):
        def call(self, x):
            return x, x

    with pytest.raises(ValueError, match="single output"):
        export_nnp(Two(), (1, 2), str(tmp_path / "m.nnp"))


@pytest.mark.parametrize(
    ("missing", "command"),
    [
        ("onnx", "pip install 'nnabla-nas[export]' && pip install --no-deps nnabla-converter"),
        ("nnabla.utils.converter.onnx", "never imports: pip install --no-deps nnabla-converter"),
    ],
)
def test_missing_packages_say_what_to_install(tiny, tmp_path, monkeypatch, missing, command):
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(ImportError) as info:
        export(tiny, (1, 1, 4, 4), str(tmp_path / "m.onnx"))
    assert str(info.value).endswith(f"{command}==1.39.0")
    assert os.listdir(tmp_path) == []


def test_opsets_are_the_converters():
    assert export_module.DEFAULT_OPSET in ONNX_OPSETS and 6 not in ONNX_OPSETS


@pytest.mark.parametrize("opset", [o for o in ONNX_OPSETS if o >= 11])
@pytest.mark.parametrize(("side", "mode"), [(6, "linear"), (11, "linear"), (5, "nearest")])
def test_resize_exports_exactly(side, mode, opset, tmp_path, rng):
    net = Mo.Sequential(Mo.Resize(side, mode), Mo.Conv(3, 4, (3, 3), pad=(1, 1)))
    expected = assert_exports_match(randomise(net, rng), images(rng, 2, 3, 8, 8), tmp_path, opset)
    assert expected.shape == (2, 4, side, side)


@pytest.mark.parametrize("opset", [o for o in ONNX_OPSETS if o < 11])
def test_resize_before_opset_11_is_a_clear_error(opset, tmp_path):
    net = Mo.Sequential(Mo.Resize(6), Mo.Conv(3, 4, (1, 1)))
    with pytest.raises(ValueError, match=f"needs opset 11 or later, not {opset}; export at opset"):
        export_onnx(net, (1, 3, 8, 8), str(tmp_path / "m.onnx"), opset=opset)
    assert not os.listdir(tmp_path)
