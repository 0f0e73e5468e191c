import json

import pytest

from nnabla_nas.contrib.ofa.arch import MAX_DEPTH, NUM_STAGES, arch_of, validate_arch

BLOCK = {"kernel": 5, "expand": 4}


def stage(depth=2, blocks=None):
    return {
        "depth": depth,
        "blocks": [dict(BLOCK) for _ in range(depth)] if blocks is None else blocks,
    }


def arch(**extra):
    return {"stages": [stage() for _ in range(NUM_STAGES)], **extra}


def test_a_valid_architecture_is_returned_as_a_json_copy():
    given = arch(resolution=160)
    got = validate_arch(given)
    assert got == given and got is not given
    assert json.loads(json.dumps(got)) == got
    assert validate_arch(arch()) == arch()  # the resolution is optional


def test_the_blocks_past_the_depth_are_dropped():
    given = arch()
    given["stages"][1] = stage(3, [{"kernel": 3, "expand": 6}] * MAX_DEPTH)
    got = validate_arch(given)
    assert got["stages"][1] == {"depth": 3, "blocks": [{"kernel": 3, "expand": 6}] * 3}
    assert validate_arch(got) == got


def test_expansion_ratios_written_as_floats_are_accepted():
    given = arch()
    given["stages"][0]["blocks"][0]["expand"] = 6.0
    assert validate_arch(given)["stages"][0]["blocks"][0] == {"kernel": 5, "expand": 6}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(depth=3), r"the OFA architecture: unknown key 'depth'; valid keys "
         r"are 'stages', 'resolution'; remove it"),
        (lambda a: a["stages"][2]["blocks"][1].update(kernel=4), r"stages\[2\]\.blocks\[1\]\."
         r"kernel: 4 is not an allowed kernel size; use one of 3, 5, 7"),
        (lambda a: a["stages"][0]["blocks"][0].update(expand=5), r"stages\[0\]\.blocks\[0\]\."
         r"expand: 5 is not an allowed expansion ratio; use one of 3, 4, 6"),
        (lambda a: a["stages"][4].update(depth=5), r"stages\[4\]\.depth: 5 is not an allowed "
         r"depth; use one of 2, 3, 4"),
        (lambda a: a["stages"].pop(), r"stages: expected a list of 5 stages \(one per elastic "
         r"stage of the supernet\), got 4 entries"),
        (lambda a: a["stages"][1].update(depth=3), r"stages\[1\]\.blocks: 2 blocks for depth 3; "
         r"list from 3 to 4 blocks \(the first 3 are used\)"),
        (lambda a: a["stages"][1]["blocks"].extend([BLOCK] * 3), r"stages\[1\]\.blocks: 5 "
         r"blocks for depth 2"),
        (lambda a: a["stages"][3].update(width=1), r"stages\[3\]: unknown key 'width'; valid "
         r"keys are 'depth', 'blocks'"),
        (lambda a: a["stages"][3]["blocks"][0].pop("kernel"), r"stages\[3\]\.blocks\[0\]: "
         r"missing key 'kernel'"),
        (lambda a: a.update(resolution="big"), r"resolution: expected the input side as a "
         r"positive int \(e\.g\. 224\), got 'big'; or leave it out"),
        (lambda a: a["stages"][0].update(depth=True), r"stages\[0\]\.depth: True is not"),
    ],
)  # fmt: skip
def test_bad_architectures_name_the_field_the_allowed_values_and_the_fix(change, message):
    bad = arch()
    change(bad)
    with pytest.raises(ValueError, match=message):
        validate_arch(bad)


def test_not_an_object():
    with pytest.raises(ValueError, match="the OFA architecture: expected an object"):
        validate_arch([1, 2])


def test_arch_of_builds_the_normalised_form():
    got = arch_of([2] * NUM_STAGES, [[(5, 4), (5, 4)]] * NUM_STAGES, 32)
    assert got == arch(resolution=32)
