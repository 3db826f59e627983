"""How ntp-datasets shows what it is doing: tqdm bars for waits with a count (bytes,
modules, rows) and one line per step for the others (:func:`say`), both on stderr and both
off with ``progress=False``. Warnings and details go to ``logging``; while a bar is open they
are written through tqdm (:func:`ticking`), so they never land inside a bar's line."""

from __future__ import annotations

import contextlib
import logging
import sys
import threading

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def say(message: str, enabled: bool = True) -> None:
    """Show one progress line on stderr (through tqdm, so open bars are not broken)."""
    if enabled:
        tqdm.write(message, file=sys.stderr)


@contextlib.contextmanager
def ticking(bar, enabled: bool = True):
    """While inside: ``bar`` is redrawn every second on a terminal or in a notebook (every 30 s
    when stderr is a file: a log gets no line a second), so its elapsed time runs on during a
    long wait (a Lean process starting, a long module), and log records go through tqdm's writer
    instead of cutting into the bar's line."""
    if not enabled:
        yield
        return
    notebook = type(bar).__module__.startswith("tqdm.notebook")
    interactive = notebook or getattr(getattr(bar, "fp", None) or sys.stderr, "isatty", lambda: False)()
    stop = threading.Event()

    def tick():
        while not stop.wait(1.0 if interactive else 30.0):
            bar.refresh()

    thread = threading.Thread(target=tick, name="ntp-bar-ticker", daemon=True)
    thread.start()
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger()]):
            yield
    finally:
        stop.set()
        thread.join()
