import json
import os

import pytest

from nnabla_nas.utils.checkpoint import Checkpointer
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
