"""`ThreadSetting`: a per-thread setting that holds within a ``with`` block."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ThreadSetting:
    """A value per thread, `default` until a `scoped` block sets another (nested blocks
    restore the outer value when they end).

    Example:
        >>> enabled = ThreadSetting(False)
        >>> with enabled.scoped(True):
        ...     enabled.value
        True
        >>> enabled.value
        False
    """

    def __init__(self, default: Any) -> None:
        self._local = threading.local()
        self._default = default

    @property
    def value(self) -> Any:
        """The value in this thread."""
        return getattr(self._local, "value", self._default)

    @contextmanager
    def scoped(self, value: Any) -> Iterator[None]:
        """Within the block, this thread's value is `value`."""
        previous = self.value
        self._local.value = value
        try:
            yield
        finally:
            self._local.value = previous
