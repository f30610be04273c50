"""The one interruption contract of every long il2sim command (docs/interrupt.md).

A long command (simulate, calibrate, design simulate, trial, reproduce, sweep, and the ones
that follow: validate, fit, optimise) runs its work inside :func:`interruptible`:

* the **first Ctrl-C** (SIGINT) only sets a flag; the work checks it between chunks
  (:func:`stop_requested`, or the yielded :class:`StopFlag`), never inside a compiled (numba)
  kernel, so a kernel always finishes its chunk and nothing is torn down under it;
* a stop the work does not notice within :data:`GRACE_S` seconds (a phase that cannot check,
  e.g. a numba compilation before the first chunk) ends the process as a second Ctrl-C does;
* the work then returns what finished, flagged with :func:`interrupt_fields`
  (``"interrupted": true``, ``"done"``, ``"asked"``); the command writes it (atomically), prints
  the one line of :func:`interrupt_message` on stderr and exits with :data:`EXIT_INTERRUPTED`;
* a **second Ctrl-C** ends the process at once, even while a compiled kernel runs: a watcher
  thread reads the signal from :func:`signal.set_wakeup_fd` (written by the C-level handler,
  so it does not wait for the kernel), removes the temporaries registered by
  :mod:`il2sim._files` (:func:`register_temporary`), prints one line and calls
  ``os._exit(130)``, so no partial file is left and nothing is torn down under a kernel;
* worker processes (process pools, Dask workers) call :func:`ignore_sigint` when they start:
  a Ctrl-C sent to the whole process group reaches the driver only, so no worker prints a
  traceback; the driver stops submitting and keeps the chunks that finished.

Signal handlers belong to the process, so the active scope is process state: scopes nest
(an inner :func:`interruptible` shares the outer flag), and off the main thread a scope
yields a flag no signal sets: work handed to a thread runs whole, and the main thread, which
holds the scope, decides what to keep.  Outside any scope
:func:`stop_requested` is False and a Ctrl-C is Python's ordinary ``KeyboardInterrupt``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "EXIT_INTERRUPTED",
    "GRACE_S",
    "StopFlag",
    "ignore_sigint",
    "interrupt_fields",
    "interrupt_message",
    "interruptible",
    "paced",
    "register_temporary",
    "sigint_ignored",
    "stop_requested",
    "unregister_temporary",
]

#: Exit code of an interrupted command (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


#: Seconds the work has to notice a first Ctrl-C (check the flag) before the process stops
#: as on a second Ctrl-C: covers phases that cannot check, e.g. a numba compilation.
GRACE_S = 10.0

#: Seconds of work :func:`paced` aims at between two checks of the flag: ten times shorter
#: than :data:`GRACE_S`, so a chunk must run ten times slower than the one before it for a
#: first Ctrl-C to miss the grace period.
CHUNK_S = 1.0


class StopFlag:
    """Set by the first Ctrl-C of an :func:`interruptible` scope; checked between chunks.

    Reading the flag once it is set *acknowledges* the stop (the work saw it and winds down);
    a stop not acknowledged within :data:`GRACE_S` ends the process as a second Ctrl-C would.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._seen = threading.Event()

    def set(self) -> None:
        """Ask the work to stop after the current chunk (what the first Ctrl-C does)."""
        self._event.set()

    def is_set(self) -> bool:
        """True once a stop was asked for (and then marks it acknowledged)."""
        if self._event.is_set():
            self._seen.set()
            return True
        return False

    def acknowledged(self, timeout: float) -> bool:
        """Wait up to ``timeout`` s for the work to read the set flag; True if it did."""
        return self._seen.wait(timeout)

    __bool__ = is_set


_ACTIVE: list[StopFlag] = []
_TEMPORARIES: dict[str, bool] = {}  # path -> is a folder: partial outputs a hard stop removes
_CREATING: dict[tuple[str, str], int] = {}  # (folder, name prefix) -> writers creating one now


def register_temporary(path: str | os.PathLike[str], folder: bool = False) -> None:
    """Note a temporary output (file or staging folder) to remove if a second Ctrl-C ends
    the process at once (:mod:`il2sim._files` registers its temporaries)."""
    _TEMPORARIES[os.fspath(path)] = folder


def unregister_temporary(path: str | os.PathLike[str]) -> None:
    """Forget a temporary output (renamed into place or removed by its writer)."""
    _TEMPORARIES.pop(os.fspath(path), None)


@contextmanager
def creating_temporary(folder: str | os.PathLike[str], prefix: str) -> Iterator[None]:
    """Cover the moment a temporary is created under a name not yet known (``mkstemp``,
    ``mkdtemp``): a second Ctrl-C inside the block removes every entry of ``folder`` whose
    name starts with ``prefix`` (the prefix carries this process's id).  Register the
    created path with :func:`register_temporary` before the block ends."""
    key = (os.fspath(folder), prefix)
    _CREATING[key] = _CREATING.get(key, 0) + 1
    try:
        yield
    finally:
        left = _CREATING.get(key, 1) - 1
        if left:
            _CREATING[key] = left
        else:
            _CREATING.pop(key, None)


def remove_temporaries() -> None:
    """Remove the registered temporaries and those being created (a hard stop's clean-up)."""
    import shutil

    pending = list(_TEMPORARIES.items())
    for parent, prefix in list(_CREATING):
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for name in names:
            if name.startswith(prefix):
                full = os.path.join(parent, name)
                pending.append((full, os.path.isdir(full)))
    for path, folder in pending:
        try:
            if folder:
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _abort(message: bytes = b"il2sim: interrupted (stopped at once, nothing kept)\n") -> None:
    """The second Ctrl-C: remove registered temporaries, print one line, exit 130 now."""
    remove_temporaries()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    os.write(2, message)
    os._exit(EXIT_INTERRUPTED)


def _watch(fd: int, flag: StopFlag, closed: threading.Event) -> None:
    """Read the signal numbers the C-level handler writes to the wakeup fd: they arrive even
    while the main thread runs a compiled kernel.  First SIGINT: set the flag; second: abort."""
    seen = 0
    while not closed.is_set():
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        for signum in data:
            if signum != signal.SIGINT or closed.is_set():
                continue
            seen += 1
            if seen > 1:
                _abort()
            flag.set()
            threading.Thread(target=_grace, args=(flag, closed), daemon=True).start()


def _grace(flag: StopFlag, closed: threading.Event) -> None:
    """End the process if the work neither read the flag nor left the scope in time."""
    grace = GRACE_S
    if not flag.acknowledged(grace) and not closed.is_set():
        _abort(
            b"il2sim: interrupted (no checkpoint reached within %g s: stopped at once, "
            b"nothing kept)\n" % grace
        )


@contextmanager
def interruptible() -> Iterator[StopFlag]:
    """Run the body under the contract: the first Ctrl-C sets the yielded flag, the second
    ends the process at once (exit 130) after removing the registered temporaries.

    Nested scopes share the outermost flag; off the main thread (or where signals cannot be
    installed) the flag is never set by a signal.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # work on other threads (thread pools, Dask thread workers) runs whole
        return
    if _ACTIVE:
        yield _ACTIVE[-1]
        return

    def handler(signum: int, frame: Any) -> None:
        flag.set()  # the watcher thread counts the signals; this keeps Python quiet

    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # pragma: no cover - an interpreter without signals
        os.close(r)
        os.close(w)
        yield flag
        return
    previous_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    closed = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(r, flag, closed), name="il2sim-interrupt", daemon=True
    )
    watcher.start()
    _ACTIVE.append(flag)
    try:
        yield flag
    finally:
        _ACTIVE.remove(flag)
        closed.set()
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        os.close(w)  # the watcher's read returns b"" and it ends
        watcher.join(timeout=1.0)
        os.close(r)


def paced(
    n: int, first: int = 1, most: int | None = None, target_s: float | None = None
) -> Iterator[tuple[int, int]]:
    """Chunk bounds ``(lo, hi)`` over ``range(n)`` sized by time: each chunk aims at
    ``target_s`` seconds (default :data:`CHUNK_S`), measured from the chunk before it.

    The caller does the chunk's work between two ``next`` calls (and checks the stop flag
    there).  The first chunk has ``first`` items (keep it small: it carries a numba compile or
    cache load); a chunk grows at most 4-fold over the one before, never beyond ``most``.
    Only the bounds depend on the timing, so the work must not depend on the chunking (the
    callers draw their random numbers per patient or per trial).
    """
    target = CHUNK_S if target_s is None else float(target_s)
    cap = n if most is None else max(1, int(most))
    size = max(1, min(int(first), cap))
    lo = 0
    while lo < n:
        hi = min(n, lo + size)
        start = time.perf_counter()
        yield lo, hi
        took = time.perf_counter() - start
        rate = (hi - lo) / max(took, 1e-6)
        size = max(1, min(cap, 4 * size, round(rate * target)))
        lo = hi


def stop_requested() -> bool:
    """True when the active :func:`interruptible` scope was asked to stop (False outside a
    scope and off the main thread: work handed to other threads runs whole)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    return bool(_ACTIVE) and _ACTIVE[-1].is_set()


@contextmanager
def sigint_ignored() -> Iterator[None]:
    """SIGINT ignored while the body runs: worker processes started meanwhile (process pools,
    Dask's LocalCluster) inherit "ignore" across exec, so a Ctrl-C sent to the process group
    cannot kill them while they import.  Keep the body short: a Ctrl-C in it is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_sigint() -> None:
    """Make this (worker) process ignore SIGINT: only the driver handles Ctrl-C."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # pragma: no cover - not the main thread of the worker
        pass


def interrupt_fields(done: int, asked: int) -> dict[str, Any]:
    """The result's flag and counts: ``{"interrupted": done < asked, "done", "asked"}``."""
    return {"interrupted": int(done) < int(asked), "done": int(done), "asked": int(asked)}


def interrupt_message(what: str, done: int, asked: int | None, where: str | None = None) -> str:
    """The one stderr line of an interrupted command (``what``: e.g. ``"patients"``;
    ``asked`` None where the total is not known in advance: the cohorts of one trial)."""
    kept = f"; the finished {what} are in {where}" if where else ""
    of = "" if asked is None else f" of {int(asked)}"
    return (
        f"il2sim: interrupted: {int(done)}{of} {what} finished{kept} "
        '(result flagged "interrupted": true)'
    )
