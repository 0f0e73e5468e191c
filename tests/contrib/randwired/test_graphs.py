"""The random graph generators (ER, BA, WS) and the paper's conversion to a DAG."""

import itertools
import re

import networkx as nx
import numpy as np
import pytest

from nnabla_nas.contrib.randwired.graphs import (
    INPUT,
    OUTPUT,
    parse_generator,
    random_graph,
    stage_seed,
    to_dag,
)


def graph(text, n, seed=0):
    return random_graph(parse_generator(text), n, seed)


@pytest.mark.parametrize(
    ("text", "canonical", "name", "params"),
    [
        ("WS(4, 0.75)", "WS(4, 0.75)", "WS", (4, 0.75)),
        ("ws(4,.75)", "WS(4, 0.75)", "WS", (4, 0.75)),
        (" ER( 0.2 ) ", "ER(0.2)", "ER", (0.2,)),
        ("BA(5)", "BA(5)", "BA", (5,)),
        ("ER(1)", "ER(1.0)", "ER", (1.0,)),
    ],
)
def test_generator_texts_parse_to_the_papers_names_and_parameters(text, canonical, name, params):
    spec = parse_generator(text)
    assert (spec.name, spec.params, str(spec)) == (name, params, canonical)
    assert parse_generator(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("XX(1)", "generator: expected ER(P), BA(M) or WS(K, P), e.g. WS(4, 0.75), got 'XX(1)'"),
        (
            "WS 4 0.75",
            "generator: expected ER(P), BA(M) or WS(K, P), e.g. WS(4, 0.75), got 'WS 4 0.75'",
        ),
        ("WS(4)", "generator 'WS(4)': WS takes 2 parameter(s) (K, P), got 1"),
        ("ER(2)", "generator 'ER(2)': P is a probability in [0, 1], got 2.0"),
        ("ER(x)", "generator 'ER(x)': P must be a probability, got 'x'"),
        ("BA(0)", "generator 'BA(0)': M must be at least 1, got 0"),
        ("BA(2.5)", "generator 'BA(2.5)': M must be an int, got '2.5'"),
        ("WS(3, 0.5)", "generator 'WS(3, 0.5)': K must be even and at least 2, got 3"),
    ],
)
def test_bad_generator_texts_are_one_line_errors(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_generator(text)


@pytest.mark.parametrize(
    ("text", "n", "message"),
    [
        ("WS(4, 0.5)", 4, "generator WS(4, 0.5): K must be below a stage's node count, got a "
                          "stage of 4 nodes; raise nodes or lower K"),
        ("BA(3)", 2, "generator BA(3): M must be below"),
        ("ER(0.5)", 0, "a stage needs at least one node, got 0"),
    ],
)  # fmt: skip
def test_a_stage_too_small_for_its_generator_is_refused(text, n, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        graph(text, n)


def test_er_joins_each_pair_with_probability_p():
    assert graph("ER(0)", 10).number_of_edges() == 0
    assert graph("ER(1)", 10).number_of_edges() == 45
    counts = [graph("ER(0.2)", 32, seed).number_of_edges() for seed in range(200)]
    # 496 pairs x 0.2 = 99.2 edges on average; the mean of 200 graphs has a std of 0.63.
    assert abs(np.mean(counts) - 99.2) < 3 * 0.63
    assert all(graph("ER(0.2)", 32, s).number_of_nodes() == 32 for s in range(5))


@pytest.mark.parametrize(("n", "m"), [(8, 1), (16, 5), (32, 5)])
def test_ba_adds_m_edges_per_node_after_the_m_initial_ones(n, m):
    for seed in range(5):
        dag = to_dag(graph(f"BA({m})", n, seed))
        inner = [(u, v) for u, v in dag if u != INPUT and v != OUTPUT]
        assert len(inner) == m * (n - m)
        parents = {v: [u for u, w in inner if w == v] for v in range(n)}
        # Nodes 0..M-1 are the initial ones, node M joins them all, each later node M
        # earlier ones: the DAG's input nodes are exactly the initial ones.
        assert [len(parents[v]) for v in range(n)] == [0] * m + [m] * (n - m)
        assert sorted(parents[m]) == list(range(m))
        assert [v for u, v in dag if u == INPUT] == list(range(m))


@pytest.mark.parametrize(("n", "k"), [(8, 2), (16, 4), (32, 6)])
def test_ws_starts_from_a_ring_of_degree_k_and_keeps_its_edge_count(n, k):
    ring = graph(f"WS({k}, 0)", n)
    assert dict(ring.degree()) == dict.fromkeys(range(n), k)
    expected = {frozenset((i, (i + j) % n)) for i in range(n) for j in range(1, k // 2 + 1)}
    assert {frozenset(e) for e in ring.edges} == expected
    for p, seed in itertools.product((0.25, 0.75, 1.0), range(3)):
        rewired = graph(f"WS({k}, {p})", n, seed)
        assert rewired.number_of_nodes() == n and rewired.number_of_edges() == n * k // 2
        assert nx.number_of_selfloops(rewired) == 0


@pytest.mark.parametrize("text", ["ER(0.3)", "BA(3)", "WS(4, 0.75)"])
def test_the_same_seed_draws_the_same_graph_and_another_seed_another(text):
    first, again, other = graph(text, 16, 7), graph(text, 16, 7), graph(text, 16, 8)
    assert sorted(first.edges) == sorted(again.edges)
    assert sorted(first.edges) != sorted(other.edges)


def test_each_stage_gets_its_own_seed():
    seeds = [stage_seed(0, s) for s in range(4)] + [stage_seed(1, s) for s in range(4)]
    assert len(set(seeds)) == 8
    assert stage_seed(3, 2) == stage_seed(3, 2)


def test_to_dag_directs_edges_upwards_and_adds_the_input_and_output_node():
    g = nx.Graph([(3, 1), (1, 0), (2, 3)])
    g.add_node(4)  # isolated: it reads the input and feeds the output
    assert to_dag(g) == [
        (INPUT, 0), (INPUT, 2), (INPUT, 4),
        (0, 1), (1, 3), (2, 3),
        (3, OUTPUT), (4, OUTPUT),
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["ER(0.3)", "BA(2)", "WS(4, 0.75)"])
def test_the_dag_of_a_drawn_graph_is_acyclic_with_one_input_and_one_output(text):
    for seed in range(5):
        dag = to_dag(graph(text, 12, seed))
        directed = nx.DiGraph(dag)
        assert nx.is_directed_acyclic_graph(directed)
        inner = [(u, v) for u, v in dag if u != INPUT and v != OUTPUT]
        assert all(u < v for u, v in inner)
        has_parent, has_child = {v for _, v in inner}, {u for u, _ in inner}
        assert set(directed.successors(INPUT)) == set(range(12)) - has_parent
        assert set(directed.predecessors(OUTPUT)) == set(range(12)) - has_child
        assert nx.descendants(directed, INPUT) == set(range(12)) | {OUTPUT}


def test_to_dag_needs_nodes_labelled_from_zero():
    with pytest.raises(ValueError, match=r"to_dag needs nodes labelled 0\.\.1, got \[1, 2\]"):
        to_dag(nx.Graph([(1, 2)]))
