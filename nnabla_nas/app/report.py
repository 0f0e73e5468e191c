"""``nnabla-nas report``: one self-contained HTML page summarising a run folder.

The page shows what the run wrote, each section only when its source exists:

- the final metrics (last row of ``metrics.csv``, best ``valid/error``) and the test
  result (``result.json``, ``test/*`` metrics);
- the architecture (``arch.json``, ``figures/arch*``) and the search plots
  (``figures/probs``, ``decision``, ``curves``, ``costs``, ``tradeoff``), with the table
  of what each choice decides at the last epoch of ``arch_probs.csv``, its choices named
  by the run's space (``run.json``) or, when that space is not registered, as written;
- the hardware cost: ``profile.json`` (``nnabla-nas profile --json``) and the
  ``cost/*`` metrics;
- a multi-trial search: ``trials.csv``, ``pareto.csv``, ``pareto.png``, ``result.json``;
  the same of the ``subnets/`` folder of an elastic supernet's search (Once-for-All): the
  accuracy-latency front of its sub-networks;
- any other figure, the exported networks (``model.onnx``, ``model.nnp``), the run's
  environment and times (``run.json``: versions, CPU, command line, git commit, start and
  end, resumes; a retraining links its search run), and ``config.yaml`` without the
  sections the run had no use for.

The page loads nothing: the style sheet is inline, images are ``data:`` URIs and there
is no script, so it can be mailed or archived alone. Text from the run is HTML-escaped.
"""

from __future__ import annotations

import base64
import csv
import datetime
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from .. import __version__
from ..contrib.registry import get_space
from ..contrib.space import Space
from ..utils.io import write_text
from ..visualize.plots import decision_rows, read_probabilities
from .figures import choice_labels, model_options
from .run import Manifest, RunFolder

SOURCES = (
    "run.json",
    "config.yaml",
    "metrics.csv",
    "arch.json",
    "arch_probs.csv",
    "result.json",
    "profile.json",
    "cost_model.json",
    "trials.csv",
    "pareto.csv",
    "pareto.png",
)
"""The files of a run folder that the report reads, besides ``figures/``."""

EXPORTS = ("model.onnx", "model.nnp")
"""The exported networks a retraining writes, listed with their sizes."""

IMAGE_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
SEARCH_PLOTS = (
    ("probs", "Choice probabilities"),
    ("decision", "The decision at the last epoch: each choice's probabilities, its most "
     "likely candidate outlined, and the margin over the runner-up"),
    ("curves", "Training curves"),
    ("costs", "Cost of the most likely architecture"),
    ("tradeoff", "Valid accuracy against the cost of the most likely architecture, epoch "
     "by epoch"),
)  # fmt: skip
"""The search figures the report shows, in order, as ``(stem in figures/, caption)``; the
decision table follows ``decision``."""

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
.meta { color: #555; }
.headline { font-size: 1.2em; margin: 0.6em 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 0.8em; overflow-x: auto;
      font-size: 0.88em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
.note { color: #a33; }
"""


def write_report(run_dir: str, path: str | None = None) -> str:
    """Writes the report of `run_dir` atomically to `path` (default ``RUN_DIR/report.html``).

    Returns:
        The path written.

    Raises:
        FileNotFoundError: `run_dir` does not exist.
        RunError: `run_dir` has no valid ``run.json``, so it is not a run folder.
    """
    text = render_report(run_dir)
    path = path or os.path.join(run_dir, "report.html")
    write_text(path, text)
    return path


def render_report(run_dir: str) -> str:
    """The report of `run_dir` as one HTML document; see `write_report`."""
    return _Report(run_dir).render()


# -- formatting -------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _fmt(value: Any) -> str:
    """A value for a table cell: integers exactly, other numbers to 6 significant digits."""
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    number = _number(value) if not isinstance(value, bool) else None
    if number is None or value == "":
        return str(value)
    if number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.6g}"


def _digits(value: float, digits: int = 4) -> float:
    """`value` rounded to `digits` significant digits."""
    return float(f"{value:.{digits}g}")


def _pretty_json(data: Any, indent: int = 0, width: int = 96) -> str:
    """JSON with one item per line only where the compact form is too wide."""
    compact = json.dumps(data)
    if indent + len(compact) <= width or not isinstance(data, (dict, list)) or not data:
        return compact
    pad, end = " " * (indent + 2), " " * indent
    if isinstance(data, dict):
        items = [
            f"{pad}{json.dumps(k)}: {_pretty_json(v, indent + 2, width - len(k) - 4)}"
            for k, v in data.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    items = [pad + _pretty_json(v, indent + 2, width) for v in data]
    return "[\n" + ",\n".join(items) + "\n" + end + "]"


def _table(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table; every cell is escaped, numeric cells are right-aligned."""
    lines = ["<table>"]
    if header:
        lines.append("<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        cells = []
        for cell in row:
            text = _fmt(cell)
            numeric = _number(cell) is not None and not isinstance(cell, bool)
            cls = ' class="num"' if numeric else ""
            cells.append(f"<td{cls}>{_esc(text)}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _pairs(items: Iterable[tuple[str, Any]]) -> str:
    """A two-column table of names and values, without a header."""
    rows = [(name, value) for name, value in items]
    lines = ["<table>"]
    for name, value in rows:
        cls = ' class="num"' if _number(value) is not None else ""
        lines.append(f"<tr><th>{_esc(name)}</th><td{cls}>{_esc(_fmt(value))}</td></tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _pre(text: str) -> str:
    return f"<pre>{_esc(text)}</pre>"


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _figure(path: str, caption: str) -> str:
    """An image file embedded as a ``data:`` URI, with a caption."""
    mime = IMAGE_TYPES[os.path.splitext(path)[1].lower()]
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode("ascii")
    return (
        f'<figure><img src="data:{mime};base64,{data}" alt="{_esc(caption)}">'
        f"<figcaption>{_esc(caption)}</figcaption></figure>"
    )


def _cost_value(name: str, value: float) -> str:
    """A ``cost/<name>`` value with its unit."""
    units = {
        "flops": lambda v: f"{v / 1e6:.4g} MFLOPs",
        "params": lambda v: f"{int(v):,}",
        "memory": lambda v: f"{v / 2**20:.4g} MiB",
        "latency": lambda v: f"{v:.4g} ms",
    }
    return units[name](value) if name in units else _fmt(value)


# -- reading the run ----------------------------------------------------------------------


def _read_csv(path: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = [dict(row) for row in reader]
        return list(reader.fieldnames or []), rows


class _Report:
    """Reads a run folder and renders its sections."""

    def __init__(self, run_dir: str) -> None:
        if not os.path.exists(run_dir):
            raise FileNotFoundError(f"run folder '{run_dir}' does not exist")
        if not os.path.isdir(run_dir):
            raise NotADirectoryError(f"'{run_dir}' is a file, not a run folder")
        self.dir = run_dir
        self.manifest: Manifest = RunFolder(run_dir).manifest()
        self.files = {n: os.path.join(run_dir, n) for n in SOURCES}
        self.files = {n: p for n, p in self.files.items() if os.path.isfile(p)}
        self.figures = self._find_figures()
        self.config_text = self._text("config.yaml")
        self.config: Any = None
        if self.config_text is not None:
            try:
                self.config = yaml.safe_load(self.config_text)
            except yaml.YAMLError:
                self.config = None
        self.columns: list[str] = []
        self.metrics: list[dict[str, str]] = []
        if "metrics.csv" in self.files:
            self.columns, self.metrics = _read_csv(self.files["metrics.csv"])
        self.notes: dict[str, str] = {}
        self.result = self._json("result.json")
        self.multitrial = self.manifest.kind == "multi-trial"

    # -- files --
    def _text(self, name: str) -> str | None:
        if name not in self.files:
            return None
        with open(self.files[name], encoding="utf-8", errors="replace") as f:
            return f.read()

    def _json(self, name: str) -> Any:
        text = self._text(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            self.notes[name] = f"{name} is not valid JSON ({err}); shown as written."
            return None

    def _find_figures(self) -> dict[str, str]:
        """``figures/`` images by name without extension, a PNG preferred to an SVG."""
        folder = os.path.join(self.dir, "figures")
        found: dict[str, str] = {}
        if not os.path.isdir(folder):
            return found
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            path = os.path.join(folder, name)
            if ext.lower() not in IMAGE_TYPES or not os.path.isfile(path):
                continue
            if stem not in found or ext.lower() == ".png":
                found[stem] = path
        return found

    def _dates(self) -> str:
        """The run's start and end (UTC, from run.json) and how long it took."""
        start, end = _time(self.manifest.started), _time(self.manifest.ended)
        if start is None:
            return ""
        text = start.strftime("%Y-%m-%d %H:%M UTC")
        if end is None:
            return f"started {text}"
        took = int((end - start).total_seconds())
        same_day = end.date() == start.date()
        return (
            f"{text} to {end.strftime('%H:%M' if same_day else '%Y-%m-%d %H:%M')} ({_span(took)})"
        )

    # -- sections --
    def render(self) -> str:
        sections = [
            ("metrics", "Final metrics", self._metrics()),
            ("test", "Test result", self._test()),
            ("architecture", "Architecture", self._architecture()),
            ("plots", "Plots", self._search_plots()),
            ("cost", "Hardware cost", self._cost()),
            ("multitrial", "Multi-trial search", self._multitrial()),
            ("subnets", "Sub-networks", self._subnets()),
            ("figures", "Other figures", self._other_figures()),
            ("run", "Run", self._run()),
            ("config", "Config", self._config()),
        ]
        present = [(key, title, body) for key, title, body in sections if body]
        nav = " ".join(f'<a href="#{key}">{_esc(title)}</a>' for key, title, _ in present)
        body = "\n".join(
            f'<section id="{key}">\n<h2>{_esc(title)}</h2>\n{body}\n</section>'
            for key, title, body in present
        )
        name = os.path.basename(os.path.normpath(os.path.abspath(self.dir)))
        return "\n".join([
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>{_esc(name)}: nnabla-nas report</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            self._header(name),
            f"<nav>{nav}</nav>",
            body,
            f'<p class="meta">written by nnabla-nas {_esc(__version__)}; the run: '
            f"nnabla-nas {_esc(self.manifest.package_version)}, nnabla "
            f"{_esc(self.manifest.nnabla_version)}, Python {_esc(self.manifest.python_version)} "
            f"on {_esc(self.manifest.host)}</p>",
            "</body>",
            "</html>",
            "",
        ])  # fmt: skip

    def _header(self, name: str) -> str:
        m = self.manifest
        detail = f" ({m.searcher}, {m.kind})" if m.searcher else ""
        what = f"{m.command}{detail} run of the {m.space} space on {m.dataset}, seed {m.seed}"
        status = m.status if m.status == "finished" else m.status.upper()
        lines = [
            f"<h1>{_esc(name)}</h1>",
            f'<p class="meta">{_esc(what)} &middot; {_esc(status)} &middot; '
            f"{_esc(self._dates())}</p>",
        ]
        if m.search_run:
            report = os.path.join(m.search_run, "report.html")
            link = os.path.relpath(report, os.path.abspath(self.dir))
            lines.append(
                f'<p class="meta">retrains the architecture found by the search run '
                f'{_esc(m.search_run)} (<a href="{_esc(link)}">its report</a>, once written)</p>'
            )
        if m.error:
            lines.append(_note(f"the run failed: {m.error}"))
        headline = self._headline()
        if headline:
            lines.append(f'<p class="headline">{_esc(headline)}</p>')
        return "\n".join(lines)

    def _headline(self) -> str:
        result = self.result if isinstance(self.result, Mapping) else {}
        accuracy = _number(result.get("test_accuracy"))
        if accuracy is not None:
            return f"test accuracy {100 * accuracy:.2f} %"
        best, latency = _number(result.get("best_accuracy")), _number(result.get("best_latency"))
        if self.multitrial and best is not None and latency is not None:
            return f"best accuracy {best:.2f} % at {latency:.4g} ms"
        valid = self._best_valid()
        if valid is not None:
            return f"best valid error {100 * valid[0]:.2f} % (epoch {valid[1]})"
        return ""

    def _best_valid(self) -> tuple[float, str] | None:
        scored = [(_number(r.get("valid/error")), r.get("epoch", "")) for r in self.metrics]
        values = [(v, e) for v, e in scored if v is not None]
        if not values:
            return None
        error, epoch = min(values, key=lambda item: item[0])
        return error, _fmt(epoch)

    def _metrics(self) -> str:
        if not self.metrics:
            return ""
        last = self.metrics[-1]
        epochs = len(self.metrics)
        parts = [
            f"<p>After epoch {_esc(_fmt(last.get('epoch', epochs)))} "
            f"({epochs} rows in metrics.csv).</p>",
            _pairs((k, last.get(k, "")) for k in self.columns if k != "epoch"),
        ]
        best = self._best_valid()
        if best is not None:
            parts.append(
                f"<p>Best valid/error: {_esc(_fmt(best[0]))} at epoch {_esc(best[1])}.</p>"
            )
        return "\n".join(parts)

    def _test(self) -> str:
        parts = []
        if isinstance(self.result, Mapping) and not self.multitrial:
            scalars = [(k, v) for k, v in self.result.items() if not isinstance(v, (dict, list))]
            if scalars:
                parts.append("<p>result.json</p>" + _pairs(scalars))
        if self.metrics:
            last = self.metrics[-1]
            tested = [(k, last[k]) for k in self.columns if k.startswith("test/") and last.get(k)]
            if tested:
                parts.append("<p>Last evaluation in metrics.csv</p>" + _pairs(tested))
        if "result.json" in self.notes and not self.multitrial:
            parts.append(_note(self.notes["result.json"]) + _pre(self._text("result.json") or ""))
        return "\n".join(parts)

    def _architecture(self) -> str:
        parts = []
        arch = self._json("arch.json")
        if arch is not None:
            parts.append(_pre(_pretty_json(arch)))
        elif "arch.json" in self.files:
            parts.append(_note(self.notes["arch.json"]) + _pre(self._text("arch.json") or ""))
        for stem, path in self.figures.items():
            if stem.startswith("arch"):
                parts.append(_figure(path, os.path.basename(path)))
        return "\n".join(parts)

    def _search_plots(self) -> str:
        parts = []
        for stem, caption in SEARCH_PLOTS:
            if stem in self.figures:
                parts.append(_figure(self.figures[stem], caption))
            if stem == "decision":
                parts.append(self._decision())
        return "\n".join(part for part in parts if part)

    def _space(self) -> Space | None:
        """The run's space, or None when it is not registered here."""
        try:
            return get_space(self.manifest.space)
        except Exception:  # unknown, or a space package that fails to load: raw names
            return None

    def _decision(self) -> str:
        """The table of `decision_rows` of ``arch_probs.csv``, in the order of its choices."""
        if "arch_probs.csv" not in self.files:
            return ""
        try:
            history = read_probabilities(self.files["arch_probs.csv"])
        except (ValueError, csv.Error) as err:
            return _note(f"arch_probs.csv not read: {err}")
        labels = choice_labels(self._space(), history, model_options(self.config))
        rows = decision_rows(history, labels)
        if not rows:
            return ""
        header = ("choice", "chosen", "probability", "runner-up", "margin")
        cells = [
            (r.label, r.chosen, _digits(r.probability), r.runner_up or "", _digits(r.margin))
            for r in rows
        ]
        return (
            f"<p>The decision at epoch {rows[0].epoch} (arch_probs.csv): the most likely "
            "candidate of each choice, its probability, the runner-up and the margin between "
            "them. arch.json is derived from these probabilities by the space's own rule.</p>"
            + _table(header, cells)
        )

    def _other_figures(self) -> str:
        shown = {stem for stem, _ in SEARCH_PLOTS}
        return "\n".join(
            _figure(path, os.path.basename(path))
            for stem, path in self.figures.items()
            if not stem.startswith("arch") and stem not in shown
        )

    def _cost(self) -> str:
        parts = []
        profile = self._json("profile.json")
        stale = isinstance(profile, Mapping) and self._stale_profile(profile)
        if stale:
            parts.append(_note(stale))
        elif isinstance(profile, Mapping):
            parts.append("<p>Profile (nnabla-nas profile)</p>" + _profile_table(profile))
            layers = profile.get("layers")
            if isinstance(layers, list) and layers:
                parts.append(_layers_table(layers))
        elif "profile.json" in self.notes:
            parts.append(_note(self.notes["profile.json"]))
        model = self._json("cost_model.json")
        if isinstance(model, Mapping) and isinstance(model.get("predictor"), str):
            parts.append(
                f"<p>The search's {html.escape(str(model.get('name', 'cost')))} cost is "
                f"predicted by the {html.escape(model['predictor'])} (cost_model.json).</p>"
            )
        if self.metrics:
            last = self.metrics[-1]
            costs = [
                (k, _number(last.get(k)))
                for k in self.columns
                if k.startswith("cost/") and _number(last.get(k)) is not None
            ]
            if costs:
                rows = [(k, _cost_value(k[5:], float(v or 0.0))) for k, v in costs]
                parts.append("<p>Estimated at the last epoch (metrics.csv)</p>" + _pairs(rows))
        return "\n".join(parts)

    def _stale_profile(self, profile: Mapping[str, Any]) -> str:
        """Why profile.json does not describe this run's architecture, or ''."""
        arch = self._json("arch.json")
        measured = profile.get("arch")
        if arch is None or measured is None or _same_json(arch, measured):
            return ""
        return (
            "profile.json was measured for another architecture than arch.json, so it is "
            f"left out; measure this one with: nnabla-nas profile {self.dir} --json "
            f"{os.path.join(self.dir, 'profile.json')}"
        )

    def _multitrial(self) -> str:
        parts = []
        if "trials.csv" in self.files:
            parts.append("<p>trials.csv</p>" + _pairs(_trial_summary(self.files["trials.csv"])))
        if "pareto.csv" in self.files:
            header, rows = _read_csv(self.files["pareto.csv"])
            parts.append(
                f"<p>Pareto front (pareto.csv, {len(rows)} trials)</p>"
                + _table(header, [[row.get(h, "") for h in header] for row in rows])
            )
        if "pareto.png" in self.files:
            parts.append(_figure(self.files["pareto.png"], "Pareto front"))
        if self.multitrial and isinstance(self.result, Mapping):
            parts.append("<p>result.json</p>" + _pairs(self.result.items()))
        elif self.multitrial and "result.json" in self.notes:
            parts.append(_note(self.notes["result.json"]))
        return "\n".join(parts)

    def _subnets(self) -> str:
        """The front of the sub-networks an elastic supernet's search scored after its
        last epoch (its ``subnets`` run folder)."""
        folder = RunFolder(self.dir).file("front")
        if self.multitrial or not os.path.isfile(os.path.join(folder, "run.json")):
            return ""
        front = _Report(folder)
        status = front.manifest.status
        lead = (
            f"<p>Random sub-networks of the trained supernet ({_esc(folder)}, {_esc(status)}), "
            "each scored on the validation split with the weights it inherits after "
            "recalibrating its BatchNorm statistics, and priced by the latency estimator "
            "calibrated on this machine (one input). Specialise one to a budget with "
            f"<code>nnabla-nas specialize {_esc(self.dir)} --latency MS -o OUT</code>.</p>"
        )
        return lead + front._multitrial()

    def _run(self) -> str:
        m = self.manifest
        rows: list[tuple[str, Any]] = [
            ("command line", " ".join(m.command_line)),
            ("started", m.started),
            ("ended", m.ended or "-"),
            *((f"resumed ({i + 1})", entry.get("at", "")) for i, entry in enumerate(m.resumed)),
            ("nnabla-nas", m.package_version),
            ("git commit", m.git_commit or "- (not run from a clone)"),
            ("nnabla", m.nnabla_version),
            ("Python", m.python_version),
            ("host", m.host),
            ("CPU", m.cpu),
        ]
        if m.arch_file:
            rows.append(("architecture file", m.arch_file))
        for name in EXPORTS:
            path = os.path.join(self.dir, name)
            if os.path.isfile(path):
                rows.append((f"exported: {name}", f"{os.path.getsize(path):,} bytes"))
        return _pairs(rows)

    def _config(self) -> str:
        if self.config_text is None:
            return ""
        if not isinstance(self.config, Mapping):
            return _pre(self.config_text)
        # Resolved configs write every section; one that is empty did nothing here.
        used = {k: v for k, v in self.config.items() if v not in (None, {}, [])}
        left = [k for k in self.config if k not in used]
        text = yaml.safe_dump(used, sort_keys=False)
        note = f"<p>Not shown, as unused: {_esc(', '.join(left))}.</p>" if left else ""
        return note + _pre(text)


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _time(text: str | None) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _span(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _profile_table(profile: Mapping[str, Any]) -> str:
    rows: list[tuple[str, Any]] = []
    if "input_shape" in profile:
        rows.append(("input shape", json.dumps(profile["input_shape"])))
    measured = profile.get("measured_ms")
    if isinstance(measured, Mapping):
        for key, label in (
            ("latency", "latency, measured (ms; 25th percentile)"),
            ("median", "latency median (ms)"),
            ("min", "latency min (ms)"),
            ("max", "latency max (ms)"),
        ):
            if _number(measured.get(key)) is not None:
                rows.append((label, f"{float(measured[key]):.4g}"))
    named = (
        ("predicted_ms", "latency, predicted (ms)", lambda v: f"{v:.4g}"),
        ("layer_sum_ms", "latency, sum of layers (ms)", lambda v: f"{v:.4g}"),
        ("params", "parameters", lambda v: f"{int(v):,}"),
        ("flops", "FLOPs", lambda v: f"{v / 1e6:.4g} M"),
        ("parameter_bytes", "parameter memory", lambda v: f"{v / 2**20:.4g} MiB"),
        ("peak_activation_bytes", "peak activation memory", lambda v: f"{v / 2**20:.4g} MiB"),
    )
    for key, label, show in named:
        value = _number(profile.get(key))
        if value is not None:
            rows.append((label, show(value)))
        if key == "layer_sum_ms" and isinstance(profile.get("predictor"), str):
            rows.append(("latency predictor", profile["predictor"]))
    return _pairs(rows)


def _layers_table(layers: Sequence[Any]) -> str:
    columns = ("layer", "type", "ms", "flops", "params")
    rows = [[row.get(c, "") for c in columns] for row in layers if isinstance(row, Mapping)]
    return (
        f"<details><summary>Per layer ({len(rows)})</summary>\n"
        + _table(columns, rows)
        + "\n</details>"
    )


def _trial_summary(path: str) -> list[tuple[str, Any]]:
    """Counts by state and the most accurate complete trial of a ``trials.csv``."""
    _, rows = _read_csv(path)
    states: dict[str, int] = {}
    for row in rows:
        states[row.get("state", "")] = states.get(row.get("state", ""), 0) + 1
    summary: list[tuple[str, Any]] = [("trials", len(rows))]
    summary += [(state or "(no state)", count) for state, count in sorted(states.items())]
    if "failed" not in states:
        summary.append(("failed", 0))
    seconds = [_number(row.get("seconds")) for row in rows]
    summary.append(("time (s)", f"{sum(s for s in seconds if s is not None):.1f}"))
    complete = [
        r for r in rows if r.get("state") == "complete" and _number(r.get("accuracy")) is not None
    ]
    if complete:
        best = max(complete, key=lambda r: float(r["accuracy"]))
        summary.append(("best trial", best.get("number", "")))
        fixed = ("number", "state", "arch", "seconds", "error")
        summary += [(f"best {k}", v) for k, v in best.items() if k not in fixed and v != ""]
        summary.append(("best arch", best.get("arch", "")))
    return summary
