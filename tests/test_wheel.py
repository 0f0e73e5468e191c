"""The wheel as a user installs it: built, installed in a fresh venv, run from elsewhere.

Nothing is downloaded: the wheel is built with this environment's setuptools (no build
isolation) and installed with ``--no-deps --no-index``; the dependencies come from this
environment through a ``.pth`` line. Lines of a ``.pth`` that are paths do not run the
``.pth`` files in that folder, so this environment's editable install of the package is not
seen: the package imported is the wheel's, which the test checks.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
from importlib.metadata import PackageNotFoundError, version

import pytest
from packaging.version import Version

import nnabla_nas

ROOT = pathlib.Path(__file__).parent.parent
BUILD_BACKEND = Version("77")  # pyproject.toml's build-system requirement

# Multi-trial search without the multitrial extra: Optuna and Ray cannot be imported.
WITHOUT_MULTITRIAL = (
    "import sys; sys.modules['optuna'] = None; sys.modules['ray'] = None; "
    "from nnabla_nas.cli import main; sys.exit(main())"
)
# A DARTS search and its retraining of seconds: 3 cells of 2 channels, a fifth of digits.
TINY = ["epochs=1", "model.init_channels=2", "model.num_cells=3", "dataset.test_fraction=0.8"]
TINY_SEARCH = [*TINY, "model.num_choices=2", "model.multiplier=2", "darts.hessian_iterations=0"]


def _build_backend_missing() -> str | None:
    try:
        found = Version(version("setuptools"))
    except PackageNotFoundError:
        found = None
    if found is None or found < BUILD_BACKEND:
        return (
            f"building the wheel without a download needs setuptools>={BUILD_BACKEND} in this "
            f"environment (found {found}); make install puts it there"
        )
    return None


PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
OFFLINE = ["--no-deps", "--no-index"]


def run(*cmd: str | os.PathLike[str], cwd: pathlib.Path, expect: int = 0) -> str:
    """The command's output; its error output too when it is expected to fail."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == expect, (
        f"{cmd[0]} {cmd[1:]} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout if expect == 0 else proc.stderr


def build_wheel(tmp: pathlib.Path) -> pathlib.Path:
    """The wheel of a copy of the sources (the build writes build/ and egg-info beside them)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "nnabla_nas", src / "nnabla_nas", ignore=ignore)
    run(*PIP, "wheel", *OFFLINE, "--no-build-isolation", "-w", tmp / "dist", src, cwd=tmp)
    (wheel,) = (tmp / "dist").glob("nnabla_nas-*.whl")
    return wheel


def fresh_venv(tmp: pathlib.Path, wheel: pathlib.Path) -> pathlib.Path:
    """A venv holding the wheel alone, this environment's packages behind it."""
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    run(*PIP, "--python", python, "install", *OFFLINE, wheel, cwd=tmp)
    # After the install, so that pip saw an empty venv.
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp)
    pathlib.Path(site.strip(), "_environment.pth").write_text(sysconfig.get_path("purelib"))
    return venv


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_anywhere(tmp_path):
    missing = _build_backend_missing()
    if missing:
        pytest.skip(missing)
    wheel = build_wheel(tmp_path)
    assert wheel.name == f"nnabla_nas-{nnabla_nas.__version__}-py3-none-any.whl"
    venv = fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()

    def python(*args: str, expect: int = 0) -> str:
        return run(venv / "bin" / "python", *args, cwd=work, expect=expect)

    def nas(*args: str) -> str:
        return run(venv / "bin" / "nnabla-nas", *args, cwd=work)

    where = python("-c", "import importlib.resources as r, nnabla_nas as p; print(p.__file__); "
                   "print(r.files(p) / 'configs' / 'darts_digits_search.yaml')")  # fmt: skip
    assert all(line.startswith(str(venv / "lib")) for line in where.splitlines()), where
    assert all(pathlib.Path(line).is_file() for line in where.splitlines()), where
    assert nas("--version").startswith(f"nnabla-nas {nnabla_nas.__version__} (nnabla ")
    listing = nas("configs")
    assert "darts-digits-search " in listing and "nb201-evolution " in listing

    # A one-shot search by a built-in config's name, its retraining and ONNX export.
    nas("search", "-c", "darts-digits-search", "-o", "search", "--no-progress", *TINY_SEARCH)
    arch = "search/arch.json"
    nas("train", "-c", "darts-digits-train", "-o", "train", "--arch", arch, "--no-progress",
        "drop_path=0", *TINY)  # fmt: skip
    nas("export", "train", "--format", "onnx", "-o", "model.onnx")
    check = "import onnx; onnx.checker.check_model(onnx.load('model.onnx')); print('ok')"
    assert python("-c", check).strip() == "ok"

    # Multi-trial search on the NAS-Bench-201 table needs neither Optuna nor Ray ...
    evolution = ["multitrial.trials=12", "evolution.population_size=6", "evolution.sample_size=3"]
    python("-c", WITHOUT_MULTITRIAL, "search", "-c", "nb201-evolution", "-o", "evolution",
           "--no-progress", *evolution)  # fmt: skip
    assert (work / "evolution" / "result.json").is_file()
    # ... and the Optuna strategy says which extra it needs.
    refused = python("-c", WITHOUT_MULTITRIAL, "search", "-c", "nb201-optuna", "-o", "optuna",
                     "multitrial.trials=4", expect=2)  # fmt: skip
    assert "pip install 'nnabla-nas[multitrial]'" in refused
    assert not (work / "optuna").exists()
