"""The graph example of the README ("A network as a graph") runs as written: as a
script it searches, derives, draws and retrains; as the module ``mynets`` its builder
serves the static space, and its YAML block is a valid search config."""

import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

from nnabla_nas.app import SearchConfig, load_config
from nnabla_nas.contrib.static import build_graph

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks(kind):
    """The ``kind`` code blocks of the README's graph section, in order."""
    text = README.read_text(encoding="utf-8")
    section = re.search(r"### A network as a graph\n(.*?)\n## ", text, re.S)
    assert section is not None, "the README lost its section 'A network as a graph'"
    return re.findall(rf"```{kind}\n(.*?)```", section.group(1), re.S)


@pytest.fixture
def mynets(tmp_path, monkeypatch):
    """The README's Python block saved as ``mynets.py`` in a working folder on the path."""
    (code,) = section_blocks("python")
    (tmp_path / "mynets.py").write_text(code)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield code
    sys.modules.pop("mynets", None)


def test_the_example_searches_derives_draws_and_retrains(mynets, tmp_path):
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(mynets, "mynets.py", "exec"), namespace)
    printed = out.getvalue()
    assert printed.startswith("node ") and "cell" in printed
    choices = namespace["choices"]
    assert set(choices) == {"cell"} and choices["cell"] in ("conv3", "max_pool", "skip")
    assert f"{choices!r} Graph(inputs=['x'], outputs=['head']" in printed
    assert not namespace["fixed"].get_arch_parameters()
    assert (tmp_path / "runs/graph/searched.svg").exists()
    assert (tmp_path / "runs/graph/searched.png").exists()


def test_the_builder_and_the_config_serve_the_command_line(mynets, tmp_path):
    graph = build_graph("mynets:build", 1, 10, rng=0, kwargs={"channels": 4})
    assert graph.order == ("stem", "cell", "sum", "head")
    (yaml_block,) = section_blocks("yaml")
    (tmp_path / "graph_search.yaml").write_text(yaml_block)
    cfg = load_config(SearchConfig, str(tmp_path / "graph_search.yaml"), [])
    assert cfg.model.name == "static"
    assert cfg.model.options == {"builder": "mynets:build", "kwargs": {"channels": 8}}
