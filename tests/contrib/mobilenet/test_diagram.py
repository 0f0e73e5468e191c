import os

import pytest
from matplotlib import _pylab_helpers
from visualize.figure_checks import (
    DIAGRAM,
    has_color,
    no_temporary_files,
    svg_ids,
    svg_lines,
    svg_style,
    svg_texts,
)
from visualize.figure_checks import png as check_png

from nnabla_nas.contrib.mobilenet import diagram
from nnabla_nas.contrib.mobilenet.arch import SETTINGS, searchable_blocks
from nnabla_nas.contrib.mobilenet.diagram import COLORS, draw_mobilenet
from nnabla_nas.contrib.mobilenet.modules import CANDIDATE_NAMES
from nnabla_nas.contrib.registry import get_space

# The cifar10 stages have 16 searchable blocks; 'skip' only where the shape is kept.
MOBILENET = {
    "settings": "cifar10",
    "blocks": [
        "k3_e3", "skip", "k5_e6", "k7_e3", "skip", "k7_e6", "k5_e3", "skip",
        "k3_e6", "k5_e6", "skip", "k3_e6", "k7_e6", "k5_e3", "skip", "k3_e3",
    ],
}  # fmt: skip
MOBILENET_CUSTOM = {
    "settings": "cifar10",
    "blocks": ["k3_e3", "skip", "k3_e3", "skip", "k7_e6", "skip"],
    "stages": [[1, 16, 1, 1], [6, 24, 2, 1], [6, 32, 2, 2], [6, 64, 2, 2]],
}


def test_mobilenet_chain_of_blocks(tmp_path):
    paths = draw_mobilenet(MOBILENET, str(tmp_path), stem="net")
    assert paths == [str(tmp_path / "net.svg"), str(tmp_path / "net.png")]
    svg = paths[0]
    ids = svg_ids(svg)
    assert {f"block-{i}" for i in range(16)} | {"input", "stem", "fixed-0", "head"} <= ids
    blocks = searchable_blocks(SETTINGS["cifar10"].stages)
    for i, (name, block) in enumerate(zip(MOBILENET["blocks"], blocks, strict=True)):
        shape = f"{block.out_channels} ch" + (f", s{block.stride}" if block.stride > 1 else "")
        assert svg_lines(svg, f"block-{i}") == [name, shape]
        dashed = "stroke-dasharray" in svg_style(svg, f"block-{i}")
        assert dashed == (name == "skip")
    assert svg_lines(svg, "fixed-0") == ["k3_e1", "16 ch", "fixed"]
    assert svg_lines(svg, "stem") == ["stem", "conv 3x3", "32 ch"]
    assert svg_lines(svg, "head") == ["head", "conv 1x1", "1280 ch"]
    texts = svg_texts(svg)
    assert "MobileNetV2 (cifar10)" in texts
    assert {"stage 1", "stage 6"} <= set(texts)

    rgb = check_png(paths[1], *DIAGRAM)
    for kernel_face, _ in diagram._KERNEL_STYLES.values():
        assert has_color(rgb, kernel_face, count=200)
    assert no_temporary_files(tmp_path)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_mobilenet_custom_stages_and_errors(tmp_path):
    (svg, _) = draw_mobilenet(MOBILENET_CUSTOM, str(tmp_path))
    texts = svg_texts(svg)
    assert "MobileNetV2 (cifar10, custom stages)" in texts
    assert svg_lines(svg, "block-4") == ["k7_e6", "64 ch, s2"]
    assert {f"block-{i}" for i in range(6)} <= svg_ids(svg) and "block-6" not in svg_ids(svg)
    bad = dict(MOBILENET_CUSTOM, blocks=["skip", *MOBILENET_CUSTOM["blocks"][1:]])
    with pytest.raises(ValueError, match=r"'skip' is not allowed"):
        draw_mobilenet(bad, str(tmp_path / "bad"))
    with pytest.raises(ValueError, match="has 2 blocks"):
        draw_mobilenet({"settings": "cifar10", "blocks": ["k3_e3", "k3_e3"]}, str(tmp_path))
    assert not (tmp_path / "bad").exists()


def test_mobilenet_colors_cover_the_candidates():
    assert get_space("mobilenet").colors is COLORS
    assert list(COLORS) == list(CANDIDATE_NAMES)
    assert len(set(COLORS.values())) == len(COLORS)


def test_space_draw_writes_the_chain(tmp_path):
    space = get_space("mobilenet")
    names = ["arch.svg", "arch.png"]
    folder = tmp_path / "figures"
    assert space.draw(MOBILENET_CUSTOM, str(folder)) == [str(folder / n) for n in names]
    assert sorted(os.listdir(folder)) == sorted(names)
    assert no_temporary_files(folder)
    path = str(tmp_path / "arch.json")
    space.write(path, MOBILENET)
    (svg, _) = space.draw(space.read(path), str(tmp_path / "read"), stem="x")
    assert svg == str(tmp_path / "read" / "x.svg")
    assert "MobileNetV2 (cifar10)" in svg_texts(svg)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_space_draw_refuses_what_is_not_a_mobilenet_genotype(tmp_path):
    space = get_space("mobilenet")
    with pytest.raises(ValueError, match=r"unknown MobileNetV2 settings 'mnist'"):
        space.draw({"settings": "mnist", "blocks": []}, str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown keys \['width'\], missing keys \['settings'\]"):
        space.draw({"blocks": ["k3_e3"], "width": 2}, str(tmp_path))
    darts = {"normal": [], "normal_concat": [], "reduce": [], "reduce_concat": []}
    with pytest.raises(ValueError, match=r"missing keys \['settings', 'blocks'\]"):
        space.draw(darts, str(tmp_path))
    assert os.listdir(tmp_path) == []
