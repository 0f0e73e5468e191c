import pytest

from nnabla_nas.utils.io import read_json, write_json


def test_read_json_round_trip_and_errors(tmp_path):
    path = tmp_path / "a.json"
    write_json(str(path), {"ops": ["skip", 1]})
    assert read_json(str(path), "architecture") == {"ops": ["skip", 1]}
    with pytest.raises(FileNotFoundError, match=r"architecture file '.*missing\.json' does not"):
        read_json(str(tmp_path / "missing.json"), "architecture")
    path.write_text("{oops")
    with pytest.raises(ValueError, match=r"genotype file '.*a\.json' is not valid JSON"):
        read_json(str(path), "genotype")
