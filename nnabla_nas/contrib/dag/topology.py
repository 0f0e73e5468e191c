"""The wiring of a DAG by names: its checks and its topological order.

Shared by `Graph` (whose nodes are modules) and by the validation of a graph's JSON
record (whose nodes are names and texts), so both refuse the same mistakes with the same
one-line messages.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

__all__ = ["as_names", "topological_order"]


def as_names(value: str | Sequence[str], what: str) -> tuple[str, ...]:
    """`value` as a tuple of names; a single string is one name.

    Raises:
        ValueError: an entry is not a non-empty string without ``'/'`` (names become the
            module paths of parameters, e.g. ``'stem/_W'``).
    """
    names = (value,) if isinstance(value, str) else tuple(value)
    for name in names:
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(
                f"{what}: a name is a non-empty string without '/', got {name!r}; rename it"
            )
    return names


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names)


def _check_names(inputs: Sequence[str], parents: Sequence[tuple[str, Sequence[str]]]) -> None:
    if not inputs:
        raise ValueError("a graph needs at least one input; name it in inputs")
    names = [*inputs, *(name for name, _ in parents)]
    repeated = sorted({n for n in names if names.count(n) > 1}, key=names.index)
    if repeated:
        raise ValueError(
            f"duplicate names {_quoted(repeated)}: inputs and nodes share one namespace; "
            "give each its own name"
        )
    known = set(names)
    unknown = [(node, p) for node, ps in parents for p in ps if p not in known]
    if unknown:
        listed = ", ".join(f"{p!r} of node {node!r}" for node, p in unknown)
        raise ValueError(
            f"unknown parents {listed}; a parent is an input or a node (known: {_quoted(names)})"
        )
    orphans = [node for node, ps in parents if not ps]
    if orphans:
        raise ValueError(
            f"nodes {_quoted(orphans)} have no parents; give each one or more of the inputs "
            "or nodes"
        )


def _cycle(remaining: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle among `remaining`, the nodes a topological sort could not place: each of
    them has a parent among them, so following such parents must come back to a node.
    Returned in the direction of the data (each a parent of the next), from the node
    given first, closed."""
    left = set(remaining)
    path: list[str] = []
    node = remaining[0]
    while node not in path:
        path.append(node)
        node = next(p for p in parents[node] if p in left)
    loop = path[path.index(node) :]
    loop.reverse()  # followed child -> parent; the data flows the other way
    first = min(range(len(loop)), key=lambda i: remaining.index(loop[i]))
    loop = loop[first:] + loop[:first]  # from the node given first
    return [*loop, loop[0]]


def topological_order(
    inputs: Sequence[str],
    parents: Sequence[tuple[str, Sequence[str]]],
    outputs: Sequence[str],
) -> list[str]:
    """The nodes in an order where each comes after its parents (ties in the order given).

    Args:
        inputs: the names of the graph's inputs.
        parents: ``(node, its parents)`` in the order the nodes were given.
        outputs: the nodes whose values the graph returns.

    Raises:
        ValueError: one line naming the nodes at fault and the fix, for a duplicate name,
            an unknown parent, a node without parents, an unknown output, a cycle (its
            nodes in order), a node that leads to no output or an input no node reads.

    Example:
        >>> topological_order(["x"], [("b", ["a"]), ("a", ["x"])], ["b"])
        ['a', 'b']
    """
    _check_names(inputs, parents)
    of = {node: tuple(ps) for node, ps in parents}
    if not outputs:
        raise ValueError("a graph needs at least one output; name a node in outputs")
    bad = [o for o in outputs if o not in of]
    if bad:
        raise ValueError(
            f"outputs {_quoted(bad)} are no nodes; an output is one of the nodes "
            f"{_quoted(list(of))}"
        )
    index = {node: i for i, (node, _) in enumerate(parents)}
    waiting = {node: len({p for p in ps if p in of}) for node, ps in of.items()}
    children: dict[str, list[str]] = {node: [] for node in of}
    for node, ps in of.items():
        for p in set(ps):
            if p in of:
                children[p].append(node)
    ready = [index[n] for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = parents[heapq.heappop(ready)][0]
        order.append(node)
        for child in children[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, index[child])
    if len(order) < len(of):
        placed = set(order)
        loop = _cycle([n for n, _ in parents if n not in placed], of)
        raise ValueError(
            f"the nodes {' -> '.join(repr(n) for n in loop)} form a cycle (each is a parent "
            "of the next); remove one of these parents"
        )
    _check_used(inputs, of, outputs)
    return order


def _check_used(
    inputs: Sequence[str], parents: Mapping[str, Sequence[str]], outputs: Sequence[str]
) -> None:
    """Every node leads to an output and every input is read, or a ValueError."""
    needed: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(parents.get(name, ()))
    dead = [n for n in parents if n not in needed]
    if dead:
        raise ValueError(
            f"nodes {_quoted(dead)} lead to no output; remove them, use them as parents or "
            "list them in outputs"
        )
    unread = [name for name in inputs if name not in needed]
    if unread:
        raise ValueError(f"inputs {_quoted(unread)} are read by no node; remove them from inputs")
