"""The registry of search spaces: what a config's ``model.name`` refers to.

Each built-in space is one line below. A space of another package registers itself with
`register_space`, or through the ``nnabla_nas.spaces`` entry-point group of its
distribution (``myspace = "mypkg.space:MySpace"``), found on the first lookup of its name.
"""

from __future__ import annotations

from ..utils.registry import Registry
from .darts.space import DartsSpace
from .mobilenet.space import MobileNetSpace
from .nb201.space import NB201Space
from .ofa.space import OFASpace
from .randwired.space import RandWiredSpace
from .space import Space
from .static.space import StaticSpace
from .zoph.space import ZophSpace

__all__ = ["SPACES", "get_space", "register_space"]

SPACES: Registry[Space] = Registry("search space", entry_points="nnabla_nas.spaces")


def register_space(space: Space) -> Space:
    """Registers `space` under its `Space.name`; returns it."""
    if not isinstance(space, Space) or not space.name:
        raise ValueError(f"register_space needs a Space instance with a name, got {space!r}")
    return SPACES.add(space.name, space)


def get_space(name: str) -> Space:
    """The space registered as `name`; a ValueError lists the registered ones."""
    return SPACES[name]


register_space(DartsSpace())
register_space(MobileNetSpace())
register_space(NB201Space())
register_space(OFASpace())
register_space(RandWiredSpace())
register_space(StaticSpace())
register_space(ZophSpace())
