"""Checks on rendered figures shared by the diagram, plot and run-figure tests.

The tests of `tests/visualize` import this as ``figure_checks``; those of other folders
as ``visualize.figure_checks`` (``tests/`` is on the path, as the folder of the root
``conftest.py``).
"""

import os
import xml.etree.ElementTree as ET

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread

SVG = "{http://www.w3.org/2000/svg}"

# Diagrams are large: at least 300x500 pixels and more than 50 colours.
DIAGRAM = ((300, 500), 50)


def png(path, min_size=(200, 300), min_colors=20):
    """Reads a PNG as packed 0xRRGGBB pixels; asserts its size and that it is not blank."""
    image = imread(path)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image.shape[0] >= min_size[0] and image.shape[1] >= min_size[1]
    rgb = np.round(image[..., :3] * 255).astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert len(np.unique(packed)) > min_colors
    return packed


def has_color(packed, color, count=20):
    """Whether at least `count` pixels have exactly `color`."""
    r, g, b = (round(c * 255) for c in to_rgb(color))
    return int(np.count_nonzero(packed == (r << 16) | (g << 8) | b)) >= count


def svg_root(path):
    return ET.parse(path).getroot()


def svg_texts(path):
    """The text of every <text> element (tspans joined), in document order."""
    return ["".join(t.itertext()) for t in svg_root(path).iter(f"{SVG}text")]


def svg_ids(path):
    return {el.get("id") for el in svg_root(path).iter() if el.get("id")}


def svg_lines(path, gid):
    """The lines of the text of element `gid` (the group ``label-<gid>``)."""
    group = next(el for el in svg_root(path).iter() if el.get("id") == f"label-{gid}")
    return ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]


def svg_style(path, gid):
    """The styles of element `gid` and everything inside it, joined."""
    group = next(el for el in svg_root(path).iter() if el.get("id") == gid)
    return " ".join(el.get("style", "") for el in group.iter())


def no_temporary_files(folder):
    return not [name for name in os.listdir(folder) if name.startswith(".tmp-")]


def overlaps(fig, label_prefix="label-", node_prefix="node-"):
    """The display boxes of the labels and nodes of the one axes of `fig`, and whether
    any label overlaps another label or a node."""
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [
        t.get_window_extent(renderer)
        for t in ax.texts
        if (t.get_gid() or "").startswith(label_prefix)
    ]
    nodes = [
        p.get_window_extent(renderer)
        for p in ax.patches
        if (p.get_gid() or "").startswith(node_prefix)
    ]
    clash = any(a.overlaps(b) for i, a in enumerate(labels) for b in [*labels[i + 1 :], *nodes])
    return labels, nodes, clash
