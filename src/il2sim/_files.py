"""Atomic file writes, shared by every layer that writes a file.

A file is written to a temporary name in the target's folder and renamed onto the target only
when the write succeeded (``os.replace`` is atomic on POSIX), so a reader never sees a
half-written file and an interrupted run leaves the previous file, or none, in place.
Temporary files from :func:`tempfile.mkstemp` are mode 0600; the renamed file gets the mode a
normally created file would have (0666 minus the process umask), since results, reports and
parameter tables are meant to be shared.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _default_mode() -> int:
    """0666 minus the current umask (what ``open(path, "w")`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The parent folder is created when missing; on an exception the temporary file is removed
    and ``path`` is left untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            tmp_path.chmod(_default_mode())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_atomic(path: str | os.PathLike[str], writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` then atomically move the result onto ``path``."""
    with atomic_path(path, suffix=Path(path).suffix) as tmp:
        writer(tmp)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
