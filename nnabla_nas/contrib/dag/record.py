"""The JSON record of a `Graph`'s wiring (`Graph.record`): its validation and choices.

A record is what an ``arch.json`` of a graph holds and what its diagram draws, so it is
checked like the graph itself (the same `topological_order`) without building a module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .topology import as_names, topological_order

__all__ = ["record_choices", "validate_record"]

_KEYS = {"name", "parents", "op"}
_CHOICE_KEYS = {"choice", "candidates"}


def _node(entry: Any, i: int) -> dict[str, Any]:
    where = f"graph node {i}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected a mapping of {sorted(_KEYS)}, got {entry!r}")
    keys = set(entry)
    if (
        not keys >= _KEYS
        or not keys <= _KEYS | _CHOICE_KEYS
        or (keys & _CHOICE_KEYS and not keys >= _CHOICE_KEYS)
    ):
        raise ValueError(
            f"{where}: the keys are name, parents, op, and choice with candidates for a "
            f"choice node; got {sorted(keys)}"
        )
    name = as_names(entry["name"], where)[0]
    parents = entry["parents"]
    if not isinstance(parents, list):
        raise ValueError(f"{where} ({name!r}): parents must be a list of names, got {parents!r}")
    if not isinstance(entry["op"], str):
        raise ValueError(f"{where} ({name!r}): op must be a text, got {entry['op']!r}")
    node = {"name": name, "parents": list(as_names(parents, f"{where} parents")),
            "op": entry["op"]}  # fmt: skip
    if "choice" in entry:
        candidates = entry["candidates"]
        if not (isinstance(entry["choice"], str) and entry["choice"]):
            raise ValueError(f"{where} ({name!r}): choice must be a label, got {entry['choice']!r}")
        if (
            not isinstance(candidates, list)
            or not candidates
            or not all(isinstance(c, str) for c in candidates)
            or len(set(candidates)) != len(candidates)
        ):
            raise ValueError(
                f"{where} ({name!r}): candidates must be a list of distinct names, got "
                f"{candidates!r}"
            )  # fmt: skip
        node.update(choice=entry["choice"], candidates=list(candidates))
    return node


def validate_record(record: Any) -> dict[str, Any]:
    """Checks the record of a graph and returns a normalised copy.

    Raises:
        ValueError: a missing or unknown key, a wrong type, any wiring mistake a `Graph`
            refuses (duplicate or unknown names, a cycle, a node leading to no output...),
            or choice nodes of one label with different candidates.
    """
    if not isinstance(record, Mapping) or set(record) != {"inputs", "outputs", "nodes"}:
        got = sorted(record) if isinstance(record, Mapping) else repr(record)
        raise ValueError(f"a graph record has the keys inputs, outputs and nodes, got {got}")
    if not isinstance(record["nodes"], list):
        raise ValueError(f"graph nodes: expected a list, got {record['nodes']!r}")
    for key in ("inputs", "outputs"):
        if not isinstance(record[key], list):
            raise ValueError(f"graph {key}: expected a list of names, got {record[key]!r}")
    inputs, outputs = as_names(record["inputs"], "inputs"), as_names(record["outputs"], "outputs")
    nodes = [_node(entry, i) for i, entry in enumerate(record["nodes"])]
    topological_order(inputs, [(n["name"], n["parents"]) for n in nodes], outputs)
    clean = {"inputs": list(inputs), "outputs": list(outputs), "nodes": nodes}
    record_choices(clean)
    return clean


def record_choices(record: Mapping[str, Any]) -> dict[str, list[str]]:
    """The candidates of each choice label of a (valid) record, in node order."""
    found: dict[str, list[str]] = {}
    for node in record["nodes"]:
        if "choice" not in node:
            continue
        label, candidates = node["choice"], node["candidates"]
        if found.setdefault(label, candidates) != candidates:
            raise ValueError(
                f"graph node {node['name']!r}: choice {label!r} has the candidates "
                f"{found[label]} elsewhere, here {candidates}; one label is one choice"
            )
    return found
