"""How ntp-datasets shows what it is doing: tqdm bars for waits with a count (bytes,
modules, rows) and one line per step for the others (:func:`say`), both on stderr and both
off with ``progress=False``. Warnings and details go to ``logging`` as before."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def say(message: str, enabled: bool = True) -> None:
    """Show one progress line on stderr (through tqdm, so open bars are not broken)."""
    if enabled:
        tqdm.write(message, file=sys.stderr)
