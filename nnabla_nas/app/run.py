"""`RunFolder`: the one way a run folder is read and written, with its ``run.json`` manifest.

The manifest is written when a run starts and updated when it ends; it says what made
the folder (command, searcher, space, dataset, seed, the command line, for a retraining
the architecture file and the search run it came from), how it went (status, start and
end times) and where (host, CPU, nnabla, Python and package versions, the package's git
commit when it runs from a clone). Report, export, profile and resume read it; nothing
guesses the kind of a folder from the files it holds.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import nnabla as nn
import yaml
from filelock import FileLock, Timeout

from .. import __version__
from ..contrib.estimator.latency import cpu_model
from ..utils.io import read_json, write_json, write_text
from ..utils.logging import log_to_file

__all__ = ["MANIFEST_FORMAT", "STATUSES", "Manifest", "RunError", "RunFolder"]

MANIFEST_FORMAT = "nnabla_nas.run/1"
STATUSES = ("running", "finished", "failed", "interrupted")
KINDS = ("one-shot", "multi-trial", "train")


class RunError(ValueError):
    """A run folder cannot be used as asked; the message says why and what to do."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def source_commit() -> str | None:
    """The git commit of the package's source (``<sha>-dirty`` with uncommitted changes),
    when it runs from a clone; None for an installed wheel or without git."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        done = subprocess.run(
            ["git", "-C", here, "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


@dataclass
class Manifest:
    """The ``run.json`` of a run folder."""

    command: str  # 'search' or 'train'
    kind: str  # 'one-shot', 'multi-trial' or 'train'
    space: str  # model.name
    dataset: str  # dataset.name
    seed: int  # the run's seed
    searcher: str | None = None  # a search's searcher or strategy
    status: str = "running"  # 'running', 'finished', 'failed' or 'interrupted'
    started: str = field(default_factory=_now)  # UTC, ISO 8601; a resume keeps it
    ended: str | None = None  # UTC, ISO 8601; None while running
    error: str | None = None  # a failed run's exception, 'Type: message'
    # One entry per resume: its time and the settings it changed ({key: [old, new]}).
    resumed: list[dict[str, Any]] = field(default_factory=list)
    host: str = field(default_factory=socket.gethostname)  # the machine's host name
    python_version: str = field(default_factory=platform.python_version)  # at the start
    nnabla_version: str = nn.__version__  # of the last start or resume
    package_version: str = __version__  # nnabla_nas's, of the last start or resume
    cpu: str = field(default_factory=cpu_model)  # the processor's model name
    command_line: list[str] = field(default_factory=lambda: list(sys.argv))  # its argv
    # the package's commit (<sha>-dirty with changes) when it runs from a git clone
    git_commit: str | None = field(default_factory=source_commit)
    arch_file: str | None = None  # a retraining: the architecture file (absolute path)
    # a retraining of a search run's arch.json: that run's folder (absolute path)
    search_run: str | None = None
    format: str = MANIFEST_FORMAT  # the manifest's format and version

    def same_run(self, other: Manifest) -> str | None:
        """Why a run described by `other` is not a continuation of this one, or None."""
        for key in ("command", "kind", "searcher", "space", "dataset", "seed"):
            if getattr(self, key) != getattr(other, key):
                return f"{key} is {getattr(other, key)!r}, the run's is {getattr(self, key)!r}"
        return None

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Manifest:
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise RunError(f"'{path}' is not a {MANIFEST_FORMAT!r} manifest")
        unknown = sorted(set(data) - names)
        missing = [k for k in ("command", "kind", "space", "dataset", "seed") if k not in data]
        if unknown or missing:
            raise RunError(f"manifest '{path}': unknown keys {unknown}, missing keys {missing}")
        manifest = cls(**data)
        if manifest.status not in STATUSES or manifest.kind not in KINDS:
            raise RunError(f"manifest '{path}': bad status {manifest.status!r} or kind")
        return manifest


class RunFolder:
    """A run's folder: the paths of what it holds, its manifest, its start and end.

    Example:
        >>> run = RunFolder("runs/my-search")
        >>> run.manifest().kind
        'one-shot'
    """

    # The files and folders a run writes, by role.
    NAMES = {
        "manifest": "run.json",
        "config": "config.yaml",
        "log": "log.txt",
        "metrics": "metrics.csv",
        "arch": "arch.json",
        "arch_probs": "arch_probs.csv",
        "evolution": "evolution.csv",  # a searcher's final search over paths (SPOS, FairNAS)
        "weights": "weights.h5",
        "result": "result.json",
        "trials": "trials.csv",
        "pareto_csv": "pareto.csv",
        "pareto_png": "pareto.png",
        "profile": "profile.json",
        # a multi-trial search of an elastic supernet: the best sub-network's inherited
        # weights and the train config that fine-tunes or exports it
        "subnet_weights": "subnet.h5",
        "subnet_config": "subnet_train.yaml",
        # a one-shot search of an elastic supernet: the random multi-trial search of its
        # sub-networks' accuracy-latency front (a run folder of its own)
        "front": "subnets",
        "report": "report.html",
        "latency_table": "latency_table.json",
        "cost_model": "cost_model.json",
        "checkpoint": "checkpoint",
        # The event files sit in the run folder itself: TensorBoard names a run by the
        # folder holding them, so `tensorboard --logdir runs` lists `search` and `train`.
        "tensorboard": "",
        "figures": "figures",
    }

    LOCK = ".lock"  # held (flock) for the life of a run; the OS frees it if the process dies
    HOLDER = ".lock.json"  # who holds it: pid, host, since

    def __init__(self, path: str) -> None:
        self.path = path

    def file(self, role: str) -> str:
        """The path of the file or folder of `role` (a key of `NAMES`)."""
        return os.path.join(self.path, self.NAMES[role])

    def has(self, role: str) -> bool:
        return os.path.exists(self.file(role))

    def owns(self, path: str) -> bool:
        """Whether `path` is one of the files or folders the run writes (or inside one)."""
        target = os.path.abspath(path)
        for role, name in self.NAMES.items():
            if not name:  # the run folder itself
                continue
            own = os.path.abspath(self.file(role))
            if target == own or target.startswith(own + os.sep):
                return True
        return False

    # -- the manifest -----------------------------------------------------------------
    def manifest(self) -> Manifest:
        """The run's manifest.

        Raises:
            RunError: the folder is not a run folder, or its ``run.json`` is not valid.
        """
        if not os.path.isdir(self.path):
            raise RunError(f"run folder '{self.path}' does not exist")
        path = self.file("manifest")
        if not os.path.isfile(path):
            raise RunError(
                f"'{self.path}' has no run.json, so it is not a run folder of nnabla-nas "
                f"{__version__} (or was written by an older version); run the command again"
            )
        try:
            return Manifest.from_dict(read_json(path, "manifest"), path)
        except (TypeError, ValueError) as err:
            raise RunError(str(err)) from None

    def write_manifest(self, manifest: Manifest) -> None:
        write_json(self.file("manifest"), dataclasses.asdict(manifest))

    def config_text(self) -> str | None:
        path = self.file("config")
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as f:
            return f.read()

    # -- starting and ending --------------------------------------------------------------
    def check_start(
        self,
        manifest: Manifest,
        config_text: str,
        *,
        resume: bool,
        changeable: Collection[str] = (),
    ) -> dict[str, list[Any]]:
        """Checks that a run of `manifest` and `config_text` may start (or resume) here;
        writes nothing. Returns the settings a resume changes, ``{key: [old, new]}``.

        Args:
            changeable: the dotted config keys a resume may change (e.g. the learning rate
                after a divergence); a change of any other key is refused.

        Raises:
            RunError: the folder holds another run, something not made by a run, or (to
                resume) no run, a different one, or a change of a key not in `changeable`.
        """
        if resume:
            old = self.manifest()
            reason = old.same_run(manifest)
            if reason:
                raise RunError(f"cannot resume '{self.path}': {reason}")
            return self._changes(config_text, changeable)
        if os.path.isfile(self.path):
            raise RunError(f"'{self.path}' is a file; give a folder as the output")
        if self.has("manifest") or self.has("checkpoint") or self.has("trials"):
            raise RunError(
                f"'{self.path}' already holds a run; pass --resume to continue it, "
                "or choose another --output"
            )
        if os.path.isdir(self.path) and self._foreign():
            raise RunError(
                f"'{self.path}' exists and holds files that no run wrote; choose another "
                "--output (nothing there is overwritten)"
            )
        return {}

    def _foreign(self) -> list[str]:
        return [n for n in os.listdir(self.path) if n not in (self.LOCK, self.HOLDER)]

    def _changes(self, config_text: str, changeable: Collection[str]) -> dict[str, list[Any]]:
        saved = self.config_text()
        if saved == config_text:
            return {}
        try:
            before = flatten(yaml.safe_load(saved or "") or {})
        except yaml.YAMLError as err:
            raise RunError(
                f"'{self.file('config')}' is not valid YAML ({err}); cannot resume"
            ) from None
        after = flatten(yaml.safe_load(config_text) or {})
        changes = {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after))
                   if before.get(k) != after.get(k)}  # fmt: skip
        fixed = [k for k in changes if k not in changeable]
        if fixed:
            allowed = ", ".join(sorted(changeable)) or "none"
            raise RunError(
                f"the config differs from the one the run in '{self.path}' started with in "
                f"{', '.join(fixed)}; a resume may change only {allowed} (give -c "
                f"{self.file('config')} and key=value overrides of those)"
            )
        return changes

    def start(
        self,
        manifest: Manifest,
        config_text: str,
        *,
        resume: bool,
        changeable: Collection[str] = (),
    ) -> Manifest:
        """Checks (`check_start`), then writes ``config.yaml`` and ``run.json``; returns
        the manifest now on disk. A resume records its time and the settings it changed."""
        changes = self.check_start(manifest, config_text, resume=resume, changeable=changeable)
        if resume:
            old = self.manifest()
            entry = {"at": _now(), "changes": changes}
            manifest = dataclasses.replace(
                old, status="running", ended=None, error=None, resumed=[*old.resumed, entry],
                nnabla_version=manifest.nnabla_version, package_version=manifest.package_version,
            )  # fmt: skip
        os.makedirs(self.path, exist_ok=True)
        self._remove_leftovers()
        write_text(self.file("config"), config_text)
        self.write_manifest(manifest)
        return manifest

    def _remove_leftovers(self) -> None:
        """Removes the temporary files and folders of writes a kill interrupted."""
        for name in os.listdir(self.path):
            path = os.path.join(self.path, name)
            if name.startswith(".tmp-"):
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.remove(path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Holds the run folder's lock within the block.

        Raises:
            RunError: another process holds it (naming its PID and host); a lock whose
                process died is free again, so a killed run never blocks its resume.
        """
        os.makedirs(self.path, exist_ok=True)
        lock = FileLock(os.path.join(self.path, self.LOCK), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise RunError(
                f"'{self.path}' is in use by another run ({self._holder()}); wait for it to "
                "end, or choose another --output"
            ) from None
        holder = os.path.join(self.path, self.HOLDER)
        try:
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": _now()}
            write_json(holder, info)
            yield
        finally:
            if os.path.exists(holder):
                os.remove(holder)
            lock.release()

    def _holder(self) -> str:
        try:
            with open(os.path.join(self.path, self.HOLDER), encoding="utf-8") as f:
                info = json.load(f)
            return f"PID {info['pid']} on {info['host']}, since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that has not said who it is"

    def end(self, manifest: Manifest, status: str, error: str | None = None) -> None:
        """Records how the run ended."""
        self.write_manifest(dataclasses.replace(manifest, status=status, ended=_now(), error=error))

    @contextmanager
    def session(
        self,
        manifest: Manifest,
        config_text: str,
        *,
        resume: bool,
        changeable: Collection[str] = (),
    ) -> Iterator[Manifest]:
        """Starts the run holding the folder's lock, logs to ``log.txt`` within the block,
        and records the outcome: finished, interrupted (Ctrl-C) or failed (with the error).
        Every check comes before the first write but the lock."""
        self.check_start(manifest, config_text, resume=resume, changeable=changeable)
        with self.locked():
            manifest = self.start(manifest, config_text, resume=resume, changeable=changeable)
            with log_to_file(self.file("log")):
                try:
                    yield manifest
                except KeyboardInterrupt:
                    self.end(manifest, "interrupted")
                    raise
                except BaseException as err:
                    self.end(manifest, "failed", f"{type(err).__name__}: {err}")
                    raise
            self.end(manifest, "finished")


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{'a': {'b': 1}}`` as ``{'a.b': 1}``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
