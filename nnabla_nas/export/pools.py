"""The correction of nnabla-converter's padded average poolings in an ONNX graph."""

from __future__ import annotations

from typing import Any

from .onnx_graph import ints, producers, set_attribute, set_ints

__all__ = ["fix_average_pools"]


def _remove_unused(graph: Any, node: Any) -> None:
    """Removes `node`, then the Constant nodes that fed only it."""
    graph.node.remove(node)
    used = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    for other in list(graph.node):
        feeds = other.output[0] in node.input and other.output[0] not in used
        if other.op_type == "Constant" and feeds:
            graph.node.remove(other)


def fix_average_pools(model: Any, network: Any) -> int:
    """Corrects the ONNX form of nnabla's padded average poolings, in place.

    nnabla-converter 1.39.0 writes a padded ``F.average_pooling`` as a ``Pad`` node
    followed by an unpadded ``AveragePool``, so every padded position is counted in the
    average. That is right only where nnabla counts it too:

    - ``including_pad=False`` (DARTS' ``avg_pool_3x3``) averages each window over the input
      positions it covers only; the converter pads with ``mode='edge'``, replicating the
      border rows and columns into the padding, so every output whose window reaches the
      padding is wrong (the interior is right).
    - ``ignore_border=False`` with ``including_pad=True`` counts the padding of `pad` but
      not the extra end padding that completes the last window; the converter counts
      that too.

    Each such pair is rewritten so that the ``Pad`` node adds (zeros) only what nnabla
    counts, and the rest becomes the ``pads`` of the ``AveragePool`` with
    ``count_include_pad=0``, which leaves it out of the average; a ``Pad`` node left with
    nothing to add is removed.

    Args:
        model: the converted ``onnx.ModelProto``.
        network: the NNP network (protobuf) it was converted from, which holds the
            poolings' parameters.

    Returns:
        The number of poolings rewritten.
    """
    graph = model.graph
    made_by = producers(graph)
    fixed = 0
    for function in network.function:
        if function.type != "AveragePooling":
            continue
        param = function.average_pooling_param
        output = function.output[0]
        pool = made_by.get(output)
        if pool is not None and pool.op_type == "Reshape":  # pooling of the last dims only
            pool = made_by.get(pool.input[0])
        if pool is None or pool.op_type != "AveragePool":
            raise ValueError(f"ONNX export: no AveragePool node computes {output!r}")
        pad = made_by.get(pool.input[0])
        if pad is None or pad.op_type != "Pad":
            continue  # no padding: nothing is miscounted
        pads = ints(pad, "pads", 1, graph, made_by)
        if pads is None:
            raise ValueError(f"ONNX export: the pads of Pad node {pad.name!r} are not a constant")
        rank, spatial = len(pads) // 2, len(param.kernel.dim)
        if any(pads[: rank - spatial]) or any(pads[rank : 2 * rank - spatial]):
            raise ValueError(f"ONNX export: the padding before {output!r} pads non-pooled axes")
        begin, end = pads[rank - spatial : rank], pads[2 * rank - spatial :]
        # What nnabla counts in the average, on each side of each pooled axis.
        counted = list(param.pad.dim) if param.including_pad else [0] * spatial
        keep_begin = [min(b, c) for b, c in zip(begin, counted, strict=True)]
        keep_end = [min(e, c) for e, c in zip(end, counted, strict=True)]
        excluded = [p - k for p, k in zip(begin + end, keep_begin + keep_end, strict=True)]
        if not any(excluded):
            continue
        if any(keep_begin + keep_end):
            zeros = [0] * (rank - spatial)
            set_ints(pad, "pads", 1, zeros + keep_begin + zeros + keep_end, graph, made_by)
            set_attribute(pad, "mode", "constant")
        else:
            pool.input[0] = pad.input[0]
            _remove_unused(graph, pad)
        set_attribute(pool, "pads", excluded)
        set_attribute(pool, "count_include_pad", 0)
        fixed += 1
    return fixed
