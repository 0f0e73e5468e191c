"""`RunFolder` and `run.json`: nothing written before the checks, the outcome recorded."""

import contextlib
import json
import os

import pytest

from nnabla_nas.app.run import Manifest, RunError, RunFolder


def manifest(**changes):
    base = {"command": "search", "kind": "one-shot", "searcher": "darts", "space": "darts",
            "dataset": "digits", "seed": 0}  # fmt: skip
    return Manifest(**{**base, **changes})


def read(run):
    with open(run.file("manifest")) as f:
        return json.load(f)


def test_start_writes_the_config_and_the_manifest(tmp_path):
    run = RunFolder(str(tmp_path / "run"))
    run.start(manifest(), "epochs: 1\n", resume=False)
    assert run.config_text() == "epochs: 1\n"
    data = read(run)
    assert data["status"] == "running" and data["ended"] is None and data["resumed"] == []
    assert data["format"] == "nnabla_nas.run/1" and data["nnabla_version"]
    assert run.manifest() == Manifest(**data)


@pytest.mark.parametrize("session_error", [None, RuntimeError("diverged"), KeyboardInterrupt()])
def test_a_session_records_how_the_run_ended(tmp_path, session_error):
    run = RunFolder(str(tmp_path / "run"))
    expected = {None: "finished", RuntimeError: "failed", KeyboardInterrupt: "interrupted"}
    outcome = pytest.raises(type(session_error)) if session_error else contextlib.nullcontext()
    with outcome, run.session(manifest(), "x: 1\n", resume=False):
        assert read(run)["status"] == "running"
        if session_error is not None:
            raise session_error
    data = read(run)
    assert data["status"] == expected[type(session_error) if session_error else None]
    assert data["ended"] is not None
    assert data["error"] == ("RuntimeError: diverged" if isinstance(session_error, RuntimeError)
                             else None)  # fmt: skip
    assert os.path.isfile(run.file("log"))


def test_an_existing_run_or_foreign_files_are_never_overwritten(tmp_path):
    run = RunFolder(str(tmp_path / "run"))
    run.start(manifest(), "a: 1\n", resume=False)
    with pytest.raises(RunError, match="already holds a run; pass --resume"):
        run.start(manifest(), "b: 2\n", resume=False)
    assert run.config_text() == "a: 1\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(RunError, match="holds files that no run wrote"):
        RunFolder(str(mine)).start(manifest(), "a: 1\n", resume=False)
    assert sorted(os.listdir(mine)) == ["notes.txt"]
    (tmp_path / "file").write_text("")
    with pytest.raises(RunError, match="is a file"):
        RunFolder(str(tmp_path / "file")).start(manifest(), "a: 1\n", resume=False)


def test_resume_continues_only_the_same_run(tmp_path):
    run = RunFolder(str(tmp_path / "run"))
    run.end(run.start(manifest(), "a: 1\n", resume=False), "interrupted")
    before = read(run)
    for other, message in [
        (manifest(searcher="pnas"), "searcher is 'pnas', the run's is 'darts'"),
        (manifest(seed=3), "seed is 3"),
        (manifest(command="train", kind="train", searcher=None), "command is 'train'"),
    ]:
        with pytest.raises(RunError, match=message):
            run.start(other, "a: 1\n", resume=True)
    with pytest.raises(RunError, match="the config differs"):
        run.start(manifest(), "a: 2\n", resume=True)
    assert read(run) == before  # refused: nothing written
    resumed = run.start(manifest(), "a: 1\n", resume=True)
    assert resumed.status == "running" and resumed.started == before["started"]
    assert len(resumed.resumed) == 1
    with pytest.raises(RunError, match=r"has no run\.json"):
        RunFolder(str(tmp_path)).start(manifest(), "a: 1\n", resume=True)
    with pytest.raises(RunError, match="does not exist"):
        RunFolder(str(tmp_path / "nowhere")).start(manifest(), "a: 1\n", resume=True)


def test_bad_manifests_are_refused(tmp_path):
    run = RunFolder(str(tmp_path))
    for data, message in [
        ([], "is not a 'nnabla_nas.run/1' manifest"),
        ({"format": "other"}, "is not a"),
        ({"format": "nnabla_nas.run/1", "command": "search"}, "missing keys"),
        ({**vars(manifest()), "status": "done"}, "bad status"),
        ({**vars(manifest()), "extra": 1}, "unknown keys"),
    ]:
        (tmp_path / "run.json").write_text(json.dumps(data))
        with pytest.raises(RunError, match=message):
            run.manifest()


def test_the_run_knows_its_own_files(tmp_path):
    run = RunFolder(str(tmp_path))
    assert run.owns(str(tmp_path / "weights.h5")) and run.owns(str(tmp_path / "config.yaml"))
    assert run.owns(str(tmp_path / "checkpoint" / "epoch_0001" / "model.npz"))
    assert not run.owns(str(tmp_path / "model.onnx")) and not run.owns(str(tmp_path.parent))
