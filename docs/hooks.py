"""MkDocs hooks: fill the generated parts of the pages (`reference_pages`).

A page asks for a generated part with ``<!-- generated: NAME -->``, NAME a key of
`reference_pages.GENERATORS`. A key without a meaning, or an unknown NAME, is a warning,
which fails the strict build (`make docs`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference_pages

log = logging.getLogger("mkdocs.hooks.nnabla_nas")
MARKER = re.compile(r"<!-- generated: ([\w-]+) -->")


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        generator = reference_pages.GENERATORS.get(name)
        if generator is None:
            log.warning(f"{page.file.src_uri}: no generated part named {name!r}")
            return ""
        ref = reference_pages.Reference()
        text = generator(ref)
        for key in ref.missing:
            log.warning(f"{page.file.src_uri}: {key} has no meaning; add a comment beside it")
        return text

    return MARKER.sub(fill, markdown)
