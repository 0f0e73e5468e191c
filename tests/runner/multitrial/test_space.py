"""ChoiceSpace: validation, uniform sampling, one-decision mutation."""

import collections
import itertools

import numpy as np
import pytest
from scipy import stats

from nnabla_nas.runner.multitrial import ChoiceSpace

from .synthetic import OPS, SPACE


def test_size_names_and_repr():
    space = ChoiceSpace([["a", "b"], ["x", "y", "z"]])
    assert space.size == 6
    assert len(space) == 2
    assert space.names == ("edge_0", "edge_1")
    assert repr(space) == "ChoiceSpace(edge_0=['a', 'b'], edge_1=['x', 'y', 'z'])"
    assert SPACE.size == 5**6


@pytest.mark.parametrize(
    ("choices", "names", "message"),
    [
        ([], None, "at least one decision"),
        ([["a"], []], None, "no choices"),
        ([["a", "a"]], None, "twice"),
        ([["a"], ["b"]], ["n"], "1 names for 2 decisions"),
        ([["a"], ["b"]], ["n", "n"], "unique"),
    ],
)
def test_bad_space_is_a_clear_error(choices, names, message):
    with pytest.raises(ValueError, match=message):
        ChoiceSpace(choices, names)


def test_validate():
    assert SPACE.validate(["skip"] * 6) == ("skip",) * 6
    with pytest.raises(ValueError, match="6 decisions"):
        SPACE.validate(("skip",) * 5)
    with pytest.raises(ValueError, match="'edge_2' has no choice 'conv5'"):
        SPACE.validate(("skip", "skip", "conv5", "skip", "skip", "skip"))


def test_dict_round_trip_and_errors():
    arch = ("none", "skip", "conv1", "conv3", "pool", "skip")
    assert SPACE.from_dict(SPACE.to_dict(arch)) == arch
    assert SPACE.indices(arch) == (0, 1, 2, 3, 4, 1)
    with pytest.raises(ValueError, match=r"missing \['edge_5'\], unknown \['x'\]"):
        SPACE.from_dict({**{f"edge_{i}": "skip" for i in range(5)}, "x": "skip"})


def test_sample_is_deterministic_for_a_generator_seed():
    first = [SPACE.sample(np.random.default_rng(7)) for _ in range(3)]
    assert first == [SPACE.sample(np.random.default_rng(7))] * 3


def test_sample_is_uniform_per_decision_and_jointly():
    rng = np.random.default_rng(0)
    samples = [SPACE.sample(rng) for _ in range(5000)]
    for d in range(6):
        counts = collections.Counter(arch[d] for arch in samples)
        assert stats.chisquare([counts[op] for op in OPS]).pvalue > 1e-3
    small = ChoiceSpace([["a", "b"], ["x", "y", "z"]])
    counts = collections.Counter(small.sample(rng) for _ in range(6000))
    joint = [counts[arch] for arch in itertools.product("ab", "xyz")]
    assert stats.chisquare(joint).pvalue > 1e-3


def test_mutate_changes_exactly_one_decision_uniformly():
    rng = np.random.default_rng(1)
    arch = ("none", "skip", "conv1", "conv3", "pool", "skip")
    counts: collections.Counter = collections.Counter()
    for _ in range(6000):
        child = SPACE.mutate(arch, rng)
        changed = [d for d in range(6) if child[d] != arch[d]]
        assert len(changed) == 1
        counts[changed[0], child[changed[0]]] += 1
    assert len(counts) == 6 * 4
    assert stats.chisquare(list(counts.values())).pvalue > 1e-3


def test_mutate_skips_single_choice_decisions():
    space = ChoiceSpace([["a"], ["x", "y"], ["k"]])
    rng = np.random.default_rng(0)
    assert {space.mutate(("a", "x", "k"), rng) for _ in range(20)} == {("a", "y", "k")}
    with pytest.raises(ValueError, match="single choice"):
        ChoiceSpace([["a"]]).mutate(("a",), rng)


def test_one_hot_has_a_column_per_choice_of_each_decision():
    space = ChoiceSpace([["a", "b"], ["x", "y", "z"]])
    code = space.one_hot([("a", "z"), ("b", "x")])
    assert code.tolist() == [[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]]
    assert SPACE.one_hot([SPACE.sample(np.random.default_rng(0))]).sum() == 6
    with pytest.raises(ValueError, match="has no choice"):
        space.one_hot([("a", "w")])


def test_a_canonical_function_makes_sampled_mutated_and_neighbouring_archs_canonical():
    # The second decision is unused when the first is 'off': its canonical value is 'a'.
    def canonical(arch):
        return (arch[0], "a" if arch[0] == "off" else arch[1])

    space = ChoiceSpace([["on", "off"], ["a", "b", "c"]], canonical=canonical)
    rng = np.random.default_rng(0)
    drawn = {space.sample(rng) for _ in range(50)}
    assert drawn == {("on", "a"), ("on", "b"), ("on", "c"), ("off", "a")}
    assert space.canonical(("off", "c")) == ("off", "a")
    for _ in range(20):
        assert space.mutate(("off", "a"), rng) in {("off", "a"), ("on", "a")}
    assert space.neighbours(("off", "c")) == [("on", "c")]  # the others are itself
    assert space.neighbours(("on", "b")) == [("off", "a"), ("on", "a"), ("on", "c")]
