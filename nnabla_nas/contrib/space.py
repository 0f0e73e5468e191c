"""`Space`: the one interface every search space implements.

A space is one folder of `nnabla_nas.contrib` (or of any package) holding a `Space`
subclass, registered in one line (`nnabla_nas.contrib.registry`). Everything generic,
the config, the run loop, reports, diagrams, export and multi-trial search, goes through
this interface and never names a space.

What a space provides:

- its networks: `search_net` (the supernet, with `MixedOp` choices) and `train_net` (the
  fixed network of one architecture), whose keyword options are the config's
  ``model:`` keys (`options`);
- its architecture codec: `validate` (JSON data in, a normalised JSON-serialisable
  architecture out, or a ValueError naming the problem), `derive` (the architecture a
  search net stands for now), `read` and `write`;
- its diagram (`draw`), the colours of its candidates (`colors`) and the readable name
  of each choice (`choice_label`), for figures and reports;
- optionally a benchmark `table` of measured accuracy and latency, and a
  `choice_encoding` for the predictors of multi-trial strategies.

The discrete decisions a multi-trial strategy needs come from the search net's
`MixedOp`s (`decisions`, `from_choices`), so every space has them; a space may override
them with a more natural encoding.
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from ..module import find_choices
from ..utils.io import read_json, write_json
from ..utils.rng import parameter_seed
from .model import Model

__all__ = ["BenchmarkTable", "Decision", "Space"]

# Arguments the application fills in from the data and the run, never from ``model:``.
RESERVED = ("in_channels", "num_classes", "arch", "rng", "drop_path")


@dataclass(frozen=True)
class Decision:
    """One categorical decision of a space: a label and its options."""

    label: str
    options: tuple[str, ...]


class BenchmarkTable(Protocol):
    """Measured results of every architecture of a space, queried without training."""

    def devices(self) -> list[str]:
        """The devices with a latency, e.g. ``'raspi4'``."""
        ...

    def accuracy(self, arch: Any) -> float:
        """The measured test accuracy (%) of `arch`."""
        ...

    def latency(self, arch: Any, device: str) -> float:
        """The measured latency (ms) of `arch` on `device`."""
        ...


class Space(ABC):
    """A search space: networks, architecture codec, decisions, diagram, optional table.

    Subclasses set `name` and implement `search_net`, `train_net`, `validate` and `draw`.
    The other methods have generic defaults.

    Example:
        >>> from nnabla_nas.contrib.registry import get_space
        >>> space = get_space("nb201")
        >>> net = space.make_search_net(3, 10, seed=0, options={"init_channels": 4})
        >>> arch = space.derive(net)
        >>> space.validate(arch) == arch
        True
    """

    #: The registry name, e.g. ``'darts'``; also the ``model.name`` of a config.
    name: ClassVar[str] = ""
    #: Small options giving a network of seconds, for quick checks and contract tests.
    quick_options: ClassVar[Mapping[str, Any]] = {}
    #: The colour of each candidate name, shared by diagrams and probability plots.
    colors: ClassVar[Mapping[str, str]] = {}

    # -- networks -------------------------------------------------------------------
    # Each space defines both, spelling out its own keyword options with their defaults
    # (they are the config's ``model:`` keys, see `options`):
    #
    #   search_net(in_channels, num_classes, *, rng, **options) -> Model
    #       the supernet on inputs of `in_channels` channels, seeded by `rng` (an int);
    #   train_net(in_channels, num_classes, arch, **options) -> Model
    #       the network of `arch` (validated) trained from scratch; a space whose networks
    #       support drop path takes a ``drop_path`` keyword (the final probability).
    search_net: Callable[..., Model]
    train_net: Callable[..., Model]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:  # a space to register: both networks must be there
            for method in ("search_net", "train_net"):
                if not callable(getattr(cls, method, None)):
                    raise TypeError(f"space {cls.__name__} must define {method}()")

    def options(self, which: str) -> dict[str, Any]:
        """The ``model:`` keys `which` (``'search'`` or ``'train'``) accepts, with defaults
        (`inspect.Parameter.empty` for a required one)."""
        builder = self.search_net if which == "search" else self.train_net
        params = inspect.signature(builder).parameters.values()
        keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return {p.name: p.default for p in params if p.name not in RESERVED and p.kind in keyword}

    def has_auxiliary_head(self, options: Mapping[str, Any]) -> bool:
        """Whether `train_net` with `options` returns ``(logits, aux_logits)`` in training
        mode (an auxiliary classifier whose loss a retraining weighs); False here."""
        return False

    def supports_drop_path(self) -> bool:
        """Whether `train_net` takes a ``drop_path`` probability."""
        return "drop_path" in inspect.signature(self.train_net).parameters

    def check_options(self, which: str, options: Mapping[str, Any]) -> None:
        """Raises a ValueError naming the first key of `options` that `which` does not take."""
        valid = self.options(which)
        for key in options:
            if key not in valid:
                raise ValueError(
                    f"model: unknown key {key!r} for the {which} network of space "
                    f"{self.name!r}; valid keys are: {', '.join(valid)}"
                )

    def make_search_net(
        self, in_channels: int, num_classes: int, *, seed: int, options: Mapping[str, Any]
    ) -> Model:
        """`search_net` with checked `options`; the same `seed` gives the same network.

        Layers given no generator of their own draw their initial weights from nnabla's
        parameter generator, which is seeded for the construction and restored afterwards
        (`parameter_seed`).
        """
        self.check_options("search", options)
        with parameter_seed(seed):
            return self.search_net(in_channels, num_classes, rng=seed, **options)

    def make_train_net(
        self,
        in_channels: int,
        num_classes: int,
        arch: Any,
        *,
        seed: int,
        options: Mapping[str, Any],
        drop_path: float = 0.0,
    ) -> Model:
        """`train_net` of `arch` with checked `options`, seeded like `make_search_net`."""
        self.check_options("train", options)
        extra: dict[str, Any] = {}
        if drop_path:
            if not self.supports_drop_path():
                raise ValueError(
                    f"drop_path: the networks of space {self.name!r} have no drop path; "
                    "set drop_path to 0"
                )
            extra["drop_path"] = drop_path
        with parameter_seed(seed):
            return self.train_net(in_channels, num_classes, self.validate(arch), **options, **extra)

    # -- architectures ----------------------------------------------------------------
    @abstractmethod
    def validate(self, arch: Any) -> Any:
        """Checks an architecture (JSON data) and returns a normalised, JSON-serialisable copy.

        Raises:
            ValueError: naming the key, entry or block at fault and what is valid.
        """

    def derive(self, net: Model) -> Any:
        """The architecture the search net `net` stands for now: its ``genotype()``, or
        for a net without one, the most likely candidate of each choice by label
        (``{'block_0': 'conv3x3', ...}``, from its `MixedOp`s' labels and names), so a
        space of labelled choices needs no derivation code of its own."""
        genotype = getattr(net, "genotype", None)
        if genotype is not None:
            return self.validate(genotype())
        choices = find_choices(net)
        if not choices:
            raise NotImplementedError(
                f"{type(net).__name__} has no MixedOp and no genotype(); override "
                f"{type(self).__name__}.derive"
            )
        return self.validate({c.label: c.names[int(np.argmax(c.probs()))] for c in choices})

    def describe(self, arch: Any) -> str:
        """A one-line text of `arch`, for logs and tables."""
        return json.dumps(self.validate(arch), separators=(",", ":"))

    def read(self, path: str) -> Any:
        """Reads and validates an architecture file.

        Raises:
            FileNotFoundError: `path` does not exist.
            ValueError: not JSON, or not an architecture of this space (naming `path`).
        """
        data = read_json(path, "architecture")
        try:
            return self.validate(data)
        except ValueError as err:
            raise ValueError(f"architecture file '{path}' ({self.name} space): {err}") from None

    def write(self, path: str, arch: Any) -> None:
        """Validates `arch` and writes it to `path` as indented JSON, atomically."""
        write_json(path, self.validate(arch))

    # -- figures ----------------------------------------------------------------------
    @abstractmethod
    def draw(self, arch: Any, out_dir: str, stem: str = "arch") -> list[str]:
        """Draws the diagram(s) of `arch` into `out_dir` as ``<stem>*.svg`` and ``.png``;
        returns the paths written."""

    def choice_label(self, choice: str, *, options: Mapping[str, Any] | None = None) -> str:
        """A readable name of the choice `choice` (a `MixedOp` label such as
        ``'normal/edge_3'``) for figures and tables; `choice` itself here.

        A space overrides it to name an edge by its nodes or a block by its place. A name
        the space does not know is returned unchanged; it never raises.

        Args:
            options: the ``model:`` keys of the run, for a space whose choices depend on
                them (MobileNetV2's stages); None for the defaults.
        """
        return choice

    # -- multi-trial ------------------------------------------------------------------
    #: Whether `subnet` gives a sub-network of the supernet as a network of its own (an
    #: elastic supernet's, e.g. Once-for-All's); else a sub-network is a path of the
    #: supernet's `MixedOp`s.
    has_subnets: ClassVar[bool] = False

    def subnet(self, net: Model, arch: Any) -> Model:
        """The plain train network of `arch` holding the weights it inherits from the
        trained supernet `net` (a space with `has_subnets`)."""
        raise ValueError(
            f"space {self.name!r} has no sub-networks of their own: its sub-networks are "
            "paths of its supernet"
        )

    def table(self) -> BenchmarkTable | None:
        """The benchmark table of this space, or None (the default)."""
        return None

    def decisions(self, net: Model) -> list[Decision]:
        """The categorical decisions of the search net `net`: one per distinct alpha of
        its `MixedOp`s, labelled as the ops are, with the candidates' names as options."""
        return [Decision(c.label, c.names) for c in find_choices(net)]

    def choice_encoding(self) -> Callable[[Sequence[Sequence[str]]], np.ndarray] | None:
        """A numeric code of choice tuples for a strategy's accuracy predictor (one row per
        tuple), or None (the default) for one-hot columns per decision.

        A space whose accuracy follows its structure more than its separate choices gives
        one here, e.g. NAS-Bench-201's path encoding.
        """
        return None

    def canonical_choices(self, net: Model, choices: Sequence[str]) -> tuple[str, ...]:
        """The one choice tuple of the architecture of `choices` among those that differ
        only in decisions it does not use (`ChoiceSpace`'s `canonical`); by default every
        decision is used and `choices` is returned."""
        return tuple(choices)

    def from_choices(self, net: Model, choices: Sequence[str]) -> Any:
        """The architecture of one option per decision: `derive` with each chosen
        candidate's logit raised above the others. `net` is left as it was."""
        found = find_choices(net)
        if len(choices) != len(found):
            raise ValueError(f"expected {len(found)} choices, one per decision, got {len(choices)}")
        saved = [c.alpha.d.copy() for c in found]
        try:
            for choice, value in zip(found, choices, strict=True):
                if value not in choice.names:
                    raise ValueError(
                        f"decision {choice.label!r} has no option {value!r}; options: "
                        f"{list(choice.names)}"
                    )
                logits = np.zeros(len(choice.names), dtype=np.float32)
                logits[choice.names.index(value)] = 1.0
                choice.alpha.d = logits.reshape(choice.alpha.shape)
            return self.derive(net)
        finally:
            for choice, logits in zip(found, saved, strict=True):
                choice.alpha.d = logits

    def format_choices(self, choices: Sequence[str]) -> str:
        """The text of a choice tuple in a trial log (`parse_choices` reads it back)."""
        return json.dumps(list(choices))

    def parse_choices(self, text: str) -> tuple[str, ...]:
        """The choice tuple of a `format_choices` text."""
        data = json.loads(text)
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise ValueError(f"expected a JSON list of option names, got {text!r}")
        return tuple(data)
