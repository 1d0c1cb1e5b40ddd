"""PDFium one call at a time: the lock every use of pypdfium2 in this process holds.

PDFium is not thread-safe, not even across different documents (pypdfium2's "Incompatibility with Threading":
calling it from two threads at once "would crash or corrupt the process"). The Functions worker runs sync
functions on a thread pool, and a plan set is analysed several pages at a time, so every open, use and close of
a PDFium document happens inside `exclusive()`. Closing the document inside it closes its pages, text pages and
bitmaps too, so no PDFium object is left for a garbage collection on another thread. Work on what PDFium
returned (a PIL image, counts) and other libraries (pdfplumber is pure Python) run outside it, in parallel.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.RLock()


@contextmanager
def exclusive() -> Iterator[None]:
    """Hold the process's PDFium lock for the block (re-entrant)."""
    with _lock:
        yield
