"""``python -m nnabla_nas``, and the ``nnabla-nas`` console script's entry point."""

import logging
import sys

# nnabla announces "Initializing CPU extension..." at INFO when it is first imported, which a
# command's output has no use for; its logger is quieted before anything imports nnabla.
logging.getLogger("nnabla").setLevel(logging.WARNING)

from .cli import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
