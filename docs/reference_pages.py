"""The generated parts of the documentation, made from the code at build time.

- `config_reference`: every config key with its type, allowed values, default and meaning,
  from the schema's dataclasses (`nnabla_nas.app.schema`) and the registries: the
  searchers' and strategies' `Settings`, each space's ``model:`` options (`Space.options`)
  and each dataset's own keys.
- `architecture_files`: each registered space's ``arch.json``, with an example the space
  derives from its own search net.
- `manifest_fields`: the fields of ``run.json`` (`nnabla_nas.app.run.Manifest`).

A field's meaning is the comment beside it in the source (the comment lines right above
it and the one after it on its line), read with `tokenize`, as the code documents its
fields there; a network's or a dataset's option is documented in the Args section of its
docstring. What has no meaning is listed in `Reference.missing`, which the build reports
as a warning (an error in the strict build) and a test checks is empty.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import io
import json
import re
import textwrap
import tokenize
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

# Comments addressed to tools, not to readers.
PRAGMA = re.compile(r"^(fmt:|noqa|type:|pragma)")
ARGS_ENTRY = re.compile(r"^(\w+(?:, \w+)*): (.*)$")


# -- reading the code -----------------------------------------------------------------------


def _comment_text(comment: str) -> str:
    return comment.lstrip("#").strip()


def field_comments(cls: type) -> dict[str, str]:
    """The comment of each field declared in the body of `cls` (not its bases)."""
    source = textwrap.dedent(inspect.getsource(cls))
    lines = source.splitlines()
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = _comment_text(token.string)
        if token.type == tokenize.COMMENT and not PRAGMA.match(text):
            comments[token.start[0]] = text
    own = {n for n in comments if lines[n - 1].lstrip().startswith("#")}
    result: dict[str, str] = {}
    (node,) = ast.parse(source).body
    assert isinstance(node, ast.ClassDef)
    for item in node.body:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        above, line = [], item.lineno - 1
        while line in own:
            above.insert(0, comments[line])
            line -= 1
        end = item.end_lineno or item.lineno
        beside = [comments[n] for n in range(item.lineno, end + 1) if n in comments]
        result[item.target.id] = " ".join([*above, *beside]).strip()
    return result


def field_meanings(cls: type) -> dict[str, str]:
    """`field_comments` of a dataclass and its dataclass bases."""
    meanings: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if dataclasses.is_dataclass(base):
            meanings.update(field_comments(base))
    return meanings


def docstring_args(obj: Any) -> dict[str, str]:
    """The Args section of `obj`'s docstring (Google style), by argument name; an entry
    naming several arguments (``a, b: ...``) describes each."""
    doc = inspect.getdoc(obj) or ""
    args: dict[str, str] = {}
    names: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.strip() == "Args:":
            inside, names = True, []
            continue
        if inside and line and not line.startswith(" "):
            inside = False  # the next section
        if not inside or not line.strip():
            continue
        entry = ARGS_ENTRY.match(line[4:]) if line.startswith("    ") else None
        if entry and not line.startswith("     "):
            names = entry.group(1).split(", ")
            for name in names:
                args[name] = entry.group(2).strip()
        else:
            for name in names:
                args[name] += " " + line.strip()
    return args


def summary(obj: Any) -> str:
    """The first paragraph of `obj`'s docstring, as one line, without the leading name of
    a section its heading already gives (````cost:``: a hardware cost`` -> ``A hardware
    cost``)."""
    doc = inspect.getdoc(obj) or ""
    text = " ".join(doc.split("\n\n")[0].split())
    text = re.sub(r"^``[^`]+``[.:] *", "", text)
    return text[:1].upper() + text[1:]


def description(obj: Any) -> str:
    """`obj`'s docstring up to its first section (Args, Example, ...)."""
    doc = inspect.getdoc(obj) or ""
    parts = re.split(r"\n(?:Args|Example|Examples|Raises|Returns):\n", doc)
    return parts[0].strip()


# -- rendering ---------------------------------------------------------------------------


def yaml_value(value: Any) -> str:
    """`value` as a config writes it, in flow style: ``0.025``, ``[0.9, 0.999]``, ``null``."""
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return "required"
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return "`" + text.removesuffix("...").strip() + "`"


def type_name(tp: Any) -> str:
    """A type as the config reads it: ``list[float] | None``, ``any``."""
    if tp is Any:
        return "any"
    if tp is type(None):
        return "None"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_name(a) for a in args)}]"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def limits_text(metadata: Mapping[str, Any]) -> str:
    """The allowed values of a field made by `limited` or `choice` (utils/fields.py)."""
    words = {"minimum": "≥", "maximum": "≤", "above": ">", "below": "<"}
    bounds = metadata.get("limits") or {}
    order = ("minimum", "above", "maximum", "below")
    parts = [f"{words[k]} {bounds[k]:g}" for k in order if bounds.get(k) is not None]
    if metadata.get("choices"):
        parts.append("one of " + ", ".join(f"`{c}`" for c in metadata["choices"]))
    return ", ".join(parts)


def cell(text: str) -> str:
    """`text` safe inside a Markdown table cell: pipes escaped, and outside code spans
    the ``<`` that would open an HTML tag (``<sha>``)."""
    parts = " ".join(str(text).split()).replace("|", "\\|").split("`")
    return "`".join(p if i % 2 else p.replace("<", "&lt;") for i, p in enumerate(parts))


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Reference:
    """Collects the documented keys (``'dataset.batch_size'`` -> meaning) and those
    without a meaning while the pages are written."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.missing: list[str] = []

    def meaning(self, key: str, text: str | None) -> str:
        text = (text or "").strip()
        self.keys[key] = text
        if not text:
            self.missing.append(key)
        return text

    def dataclass_table(
        self,
        cls: type,
        where: str,
        *,
        skip: Iterable[str] = (),
        sections: Mapping[str, str] | None = None,
        also: Mapping[str, Any] | None = None,
        defaults: bool = True,
    ) -> str:
        """A table of the fields of dataclass `cls` (a config section written as `where`).

        Args:
            skip: fields not to list (a base class's, listed elsewhere).
            sections: a field's key as written (``settings`` -> ``<searcher>:``).
            also: a second instance whose defaults get a column of their own, by heading.
            defaults: whether to show the defaults (not where they depend on the machine).
        """
        meanings, hints = field_meanings(cls), typing.get_type_hints(cls)
        header = ["key", "type", *(["default"] if defaults else []), *(also or {}), "meaning"]
        rows = []
        for f in dataclasses.fields(cls):
            if f.name in skip or f.metadata.get("extra"):
                continue
            key = (sections or {}).get(f.name, f"`{f.name}`")
            kind, default = self._kind(hints[f.name], f)
            allowed = limits_text(f.metadata)
            others = [yaml_value(getattr(obj, f.name)) for obj in (also or {}).values()]
            text = self.meaning(f"{where}{f.name}", meanings.get(f.name))
            kind += f" ({allowed})" if allowed else ""
            rows.append([key, kind, *([default] if defaults else []), *others, text])
        return table(header, rows)

    @staticmethod
    def _kind(tp: Any, f: dataclasses.Field[Any]) -> tuple[str, str]:
        section = next((a for a in (tp, *typing.get_args(tp)) if dataclasses.is_dataclass(a)), None)
        if section is not None:
            optional = type(None) in typing.get_args(tp)
            link = f"[section](#{f.name.removeprefix('arch_')})"
            return link, "`null`" if optional else "its defaults"
        if f.default is not dataclasses.MISSING:
            default = yaml_value(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = yaml_value(f.default_factory())
        else:
            default = "required"
        return type_name(tp), default

    def options_table(
        self,
        where: str,
        columns: Mapping[str, Mapping[str, Any]],
        hints: Mapping[str, Any],
        meanings: Mapping[str, str],
    ) -> str:
        """A table of keyword options (a space's or a dataset's): one default column per
        entry of `columns` (``{'search': {key: default}, ...}``), a dash where absent."""
        keys = list(dict.fromkeys(k for c in columns.values() for k in c))
        header = ["key", "type", *(f"default ({n})" if n else "default" for n in columns)]
        rows = []
        for key in keys:
            defaults = [yaml_value(c[key]) if key in c else "—" for c in columns.values()]
            kind = type_name(hints[key]) if key in hints else "any"
            rows.append([f"`{key}`", kind, *defaults, self.meaning(where + key, meanings.get(key))])
        return table([*header, "meaning"], rows)


# -- the configuration reference -----------------------------------------------------------


def _space_option_meanings(space: Any) -> dict[str, str]:
    """The meaning of each ``model:`` option of `space`: the Args of its `search_net` or
    `train_net`, else of the class their docstring names first (```SearchNet`; see it``)."""
    meanings: dict[str, str] = {}
    for method in (space.search_net, space.train_net):
        sources: list[Any] = [method]
        named = re.match(r"`(\w+)`", inspect.getdoc(method) or "")
        target = method.__func__.__globals__.get(named.group(1)) if named else None
        if target is not None:
            sources.append(target)
        for source in sources:
            for key, text in docstring_args(source).items():
                meanings.setdefault(key, text)
    return meanings


def _space_hints(space: Any) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for method in (space.train_net, space.search_net):
        hints.update(typing.get_type_hints(method))
    return hints


def _spaces(ref: Reference) -> list[str]:
    from nnabla_nas.contrib.registry import SPACES

    out = []
    for name, space in SPACES.items():
        columns = {"search": space.options("search"), "train": space.options("train")}
        out += [
            f"### `name: {name}` {{#space-{anchor(name)}}}",
            "",
            summary(type(space)) + f" The file format: [{name}](architectures.md#{anchor(name)}).",
            "",
            ref.options_table(
                f"model[{name}].", columns, _space_hints(space), _space_option_meanings(space)
            ),
            "",
        ]
    return out


def _datasets(ref: Reference) -> list[str]:
    from nnabla_nas.dataset import DATASETS, dataset_options

    out = []
    for name, cls in DATASETS.items():
        options = dataset_options(cls)
        out += [f"### `name: {name}` {{#dataset-{anchor(name)}}}", "", summary(cls), ""]
        if options:
            hints = typing.get_type_hints(cls.__init__)
            out.append(
                ref.options_table(f"dataset[{name}].", {"": options}, hints, docstring_args(cls))
            )
        else:
            out.append("No keys of its own.")
        out.append("")
    return out


def _components(ref: Reference, registry: Any, what: str) -> list[str]:
    """A section per searcher or strategy: what it is, and its ``Settings`` keys."""
    from nnabla_nas.utils.fields import NoSettings

    out = []
    for name, cls in registry.items():
        settings = cls.Settings
        out += [f"### `{name}:` {{#{what}-{anchor(name)}}}", ""]
        out += [f"`{cls.__module__}.{cls.__name__}`: {summary(cls)}", ""]
        facts = []
        if hasattr(cls, "cost_modes"):
            modes = ", ".join(f"`{m}`" for m in cls.cost_modes)
            facts.append(f"cost modes: {modes}" if modes else "takes no `cost:` section")
        if getattr(cls, "learns_alphas", False):
            facts.append("learns the alphas (its `arch_optimizer:` section applies)")
        elif hasattr(cls, "learns_alphas"):
            facts.append("learns no alphas (no `arch_optimizer:` section)")
        if facts:
            out += ["; ".join(facts).capitalize() + ".", ""]
        if settings is NoSettings or not dataclasses.fields(settings):
            out += ["No keys of its own: leave the section out, or write it empty.", ""]
            continue
        text = description(settings)
        out += [f"`{settings.__name__}`: {text}" if text else "", ""]
        out += [ref.dataclass_table(settings, f"{name}."), ""]
        out += _item_sections(ref, settings, name)
    return out


def _item_sections(ref: Reference, settings: type, name: str) -> list[str]:
    """A table per field of `settings` that is a list of sections (``ofa.phases``), at
    the anchor the settings table links it to."""
    out = []
    for key, hint in typing.get_type_hints(settings).items():
        item = next((a for a in typing.get_args(hint) if dataclasses.is_dataclass(a)), None)
        if isinstance(item, type):
            out += [f"#### `{name}.{key}` items {{#{anchor(key)}}}", ""]
            out += [f"`{item.__name__}`: {description(item)}", ""]
            out += [ref.dataclass_table(item, f"{name}.{key}[]."), ""]
    return out


CONFIG_INTRO = """\
The tables below are generated from the code: the schema's dataclasses
(`nnabla_nas/app/schema.py`), the registries of searchers, strategies, spaces and datasets,
and the comment or docstring beside each option. A default is what `config.yaml` of a run
writes when the key is left out.
"""


def config_reference(ref: Reference) -> str:
    """The configuration reference page's generated body."""
    from nnabla_nas.app.schema import (
        CostConfig,
        DatasetConfig,
        ModelConfig,
        MultiTrialConfig,
        OptimizerConfig,
        RunConfig,
        SearchConfig,
        TrainConfig,
        arch_optimizer,
    )
    from nnabla_nas.runner.multitrial import STRATEGIES
    from nnabla_nas.runner.searcher import SEARCHERS

    run_keys = [f.name for f in dataclasses.fields(RunConfig)]
    searcher = {"settings": "`<searcher>:` ([below](#searcher-sections))"}
    defaults = {"default (`arch_optimizer:`)": arch_optimizer()}
    lines = [
        "## Keys of every command {#run}", "",
        summary(RunConfig), "", ref.dataclass_table(RunConfig, ""), "",
        "## `nnabla-nas search` {#search}", "",
        summary(SearchConfig), "",
        ref.dataclass_table(SearchConfig, "", skip=run_keys, sections=searcher), "",
        "## `nnabla-nas train` {#train}", "",
        ref.dataclass_table(TrainConfig, "", skip=run_keys), "",
        "## `dataset:` {#dataset}", "",
        summary(DatasetConfig), "", ref.dataclass_table(DatasetConfig, "dataset."), "",
        "The datasets and their own keys (`dataset.name`):", "",
        *_datasets(ref),
        "## `model:` {#model}", "",
        summary(ModelConfig), "", ref.dataclass_table(ModelConfig, "model."), "",
        "The spaces and their options (`model.name`); a dash: the network does not take it.",
        "",
        *_spaces(ref),
        "## `optimizer:` and `arch_optimizer:` {#optimizer}", "",
        "`optimizer:` trains the weights; `arch_optimizer:` the architecture parameters of "
        "a searcher that learns them (its defaults differ).", "",
        ref.dataclass_table(OptimizerConfig, "optimizer.", also=defaults), "",
        "## `cost:` {#cost}", "",
        summary(CostConfig), "", ref.dataclass_table(CostConfig, "cost."), "",
        "## `multitrial:` {#multitrial}", "",
        summary(MultiTrialConfig), "", ref.dataclass_table(MultiTrialConfig, "multitrial."), "",
        "## Searcher sections {#searcher-sections}", "",
        "A search's own section is written under its `searcher` name. One-shot searchers:",
        "",
        *_components(ref, SEARCHERS, "searcher"),
        "Multi-trial strategies (`searcher: NAME` with a `multitrial:` section):", "",
        *_components(ref, STRATEGIES, "strategy"),
    ]  # fmt: skip
    return "\n".join(lines)


# -- architecture files and run.json ------------------------------------------------------

IN_CHANNELS, CLASSES, SEED = 1, 10, 0


def compact_json(value: Any, indent: int = 0, width: int = 88) -> str:
    """`value` as JSON, each list or object on one line where it fits in `width`."""
    text = json.dumps(value)
    if indent + len(text) <= width or not isinstance(value, (dict, list)) or not value:
        return text
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {compact_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + compact_json(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def architecture_files(ref: Reference) -> str:
    """A section per registered space: its architecture format and an example."""
    from nnabla_nas.contrib.registry import SPACES

    lines = []
    for name, space in SPACES.items():
        net = space.make_search_net(IN_CHANNELS, CLASSES, seed=SEED, options=space.quick_options)
        example = compact_json(space.derive(net))
        options = yaml_value(dict(space.quick_options))
        lines += [
            f"## {name}", "",
            f"`model.name: {name}` (`{type(space).__module__}.{type(space).__name__}`)", "",
            ref.meaning(f"architecture[{name}]", description(type(space))), "",
            f"The architecture the space derives from its search net with `model:` {options} "
            f"({IN_CHANNELS} input channel, {CLASSES} classes, seed {SEED}, the alphas as "
            "initialised):", "",
            "```json", example, "```", "",
        ]  # fmt: skip
    return "\n".join(lines)


def manifest_fields(ref: Reference) -> str:
    """The table of ``run.json`` fields."""
    from nnabla_nas.app.run import Manifest

    return ref.dataclass_table(Manifest, "run.json.", defaults=False)


def resumable_keys(ref: Reference) -> str:
    """The keys a resume may change (`nnabla_nas.app.schema.RESUMABLE`)."""
    from nnabla_nas.app.schema import RESUMABLE

    return ", ".join(f"`{key}`" for key in RESUMABLE)


GENERATORS: dict[str, Callable[[Reference], str]] = {
    "config": config_reference,
    "resumable": resumable_keys,
    "architectures": architecture_files,
    "manifest": manifest_fields,
}
