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


def test_atomic_files_get_the_mode_of_a_new_file(tmp_path):
    import os

    from nnabla_nas.utils.io import write_text

    mask = os.umask(0o022)
    try:
        write_text(str(tmp_path / "a.txt"), "x")
    finally:
        os.umask(mask)
    assert os.stat(tmp_path / "a.txt").st_mode & 0o777 == 0o644
