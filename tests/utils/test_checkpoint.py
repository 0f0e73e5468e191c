import json
import os
import shutil

import pytest

from nnabla_nas.utils.checkpoint import Checkpointer, CheckpointError
from nnabla_nas.utils.io import atomic_path, write_json


def write_marker(value):
    def write(folder):
        with open(os.path.join(folder, "data.txt"), "w") as f:
            f.write(value)

    return write


def test_save_publishes_latest_and_keeps_last_two(tmp_path):
    ck = Checkpointer(str(tmp_path), keep=2)
    assert ck.latest() is None
    for epoch in range(4):
        ck.save(epoch, write_marker(f"e{epoch}"), {"metrics": {"loss": float(epoch)}})
    latest = ck.latest()
    assert latest.endswith("epoch_0003")
    assert open(os.path.join(latest, "data.txt")).read() == "e3"
    assert Checkpointer.read_state(latest) == {"epoch": 3, "metrics": {"loss": 3.0}}
    assert sorted(n for n in os.listdir(tmp_path) if n.startswith("epoch_")) == [
        "epoch_0002",
        "epoch_0003",
    ]


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path):
    ck = Checkpointer(str(tmp_path))
    ck.save(0, write_marker("good"), {})

    def crash(folder):
        write_marker("half")(folder)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ck.save(1, crash, {})
    assert ck.latest().endswith("epoch_0000")
    assert not any(n.startswith(".tmp-") for n in os.listdir(tmp_path))
    assert not os.path.exists(tmp_path / "epoch_0001")


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "arch.json"
    write_json(str(target), {"a": 1})
    with pytest.raises(RuntimeError), atomic_path(str(target)) as tmp:
        open(tmp, "w").write("{broken")
        raise RuntimeError
    assert json.loads(target.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["arch.json"]


def saved(tmp_path, epochs, keep=5):
    ck = Checkpointer(str(tmp_path), keep=keep)
    for epoch in range(epochs):
        ck.save(epoch, write_marker(f"e{epoch}"), {})
    return ck


def test_a_deleted_latest_folder_falls_back_to_the_newest_intact_one(tmp_path, caplog):
    ck = saved(tmp_path, 3)
    shutil.rmtree(tmp_path / "epoch_0002")
    assert ck.latest().endswith("epoch_0001")
    assert "names '" in caplog.text and "missing or incomplete; using" in caplog.text
    # An incomplete folder (no state) is passed over as well.
    os.remove(tmp_path / "epoch_0001" / "state.json")
    assert ck.latest().endswith("epoch_0000")


@pytest.mark.parametrize("pointer", ["{not json", "{}", '{"latest": 3}', '{"latest": "../x"}',
                                     b"\x00\xff\xfe"])  # fmt: skip
def test_a_corrupt_pointer_falls_back_with_a_warning(tmp_path, caplog, pointer):
    ck = saved(tmp_path, 2)
    path = tmp_path / "latest.json"
    path.write_bytes(pointer if isinstance(pointer, bytes) else pointer.encode())
    assert ck.latest().endswith("epoch_0001")
    assert f"checkpoint pointer '{path}': unreadable" in caplog.text


@pytest.mark.parametrize("state", ["{oops", "{}", '{"epoch": "3"}', "[]", '{"epoch": -1}'])
def test_a_corrupt_state_is_a_clear_error_naming_the_file_and_the_fix(tmp_path, state):
    ck = saved(tmp_path, 1)
    folder = tmp_path / "epoch_0000"
    (folder / "state.json").write_text(state)
    with pytest.raises(CheckpointError, match=f"'{folder}/state.json'.*delete the folder"):
        Checkpointer.read_state(str(folder))
    assert ck.latest() is None  # no intact checkpoint left


def test_no_more_than_keep_folders_and_no_temporary_folder_stay(tmp_path):
    ck = saved(tmp_path, 4, keep=2)
    os.makedirs(tmp_path / ".tmp-orphan")  # a save killed halfway
    # A resumed run repeats epoch 1 after a kill: the later folders of the old timeline go.
    ck.save(1, write_marker("again"), {})
    assert sorted(os.listdir(tmp_path)) == ["epoch_0001", "latest.json"]
    assert ck.latest().endswith("epoch_0001")
