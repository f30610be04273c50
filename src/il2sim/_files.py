"""Atomic file writes, shared by every layer that writes a file (the one temp-file-and-rename
helper of il2sim).

A file is written to a temporary name in the target's folder and renamed onto the target only
when the write succeeded (``os.replace`` is atomic on POSIX), so a reader never sees a
half-written file and an interrupted run leaves the previous file, or none, in place.
Temporary files from :func:`tempfile.mkstemp` are mode 0600; the renamed file gets the mode a
normally created file would have (0666 minus the process umask), since results, reports and
parameter tables are meant to be shared.

Temporary names carry the writer's process id (``.report.html.il2sim-1234-k3j2.html``); a
process killed mid-write (SIGKILL) cannot remove its temporary, so the next write of the same
target removes the temporaries whose process no longer runs.  ``fsync=True`` also flushes the
file to disk before the rename (for stores that must survive a power cut, e.g. sweep chunks).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from il2sim._interrupt import creating_temporary, register_temporary, unregister_temporary

__all__ = ["atomic_path", "remove_stale_temporaries", "write_atomic", "write_text_atomic"]


def _default_mode() -> int:
    """0666 minus the current umask (what ``open(path, "w")`` would give)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _prefix(target: Path) -> str:
    return f".{target.name}.il2sim-"


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``target`` left by writers that no longer run; return them."""
    path = Path(target)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(re.escape(_prefix(path)) + r"(\d+)-")
    removed: list[Path] = []
    for p in path.parent.iterdir():
        m = pattern.match(p.name)
        if m is None or int(m.group(1)) == os.getpid() or _pid_running(int(m.group(1))):
            continue
        try:
            p.unlink()
        except FileNotFoundError:  # another process cleaned it first
            continue
        removed.append(p)
    return removed


def _check_target(target: Path) -> None:
    """A file target must not be a folder, and its parent must be (or become) a writable
    folder (:func:`il2sim.checks.output_file`, the rule of every command's ``--out``)."""
    from il2sim.checks import output_file

    output_file(target, field="output")
    target.parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def atomic_path(
    path: str | os.PathLike[str], suffix: str = "", *, fsync: bool = False, clean: bool = True
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The parent folder is created when missing (an existing folder as ``path``, or a file as
    one of its parents, is an :class:`~il2sim.errors.InputError` naming ``output``); on an
    exception (including KeyboardInterrupt)
    the temporary file is removed and ``path`` is left untouched.  With ``fsync`` the data are
    flushed to disk before the rename.  ``clean`` first removes temporaries of ``path`` left
    by killed writers (a scan of the folder: writers of many files into one folder, such as
    the sweep store, pass ``clean=False``).
    """
    target = Path(path)
    _check_target(target)
    if clean:
        remove_stale_temporaries(target)
    prefix = f"{_prefix(target)}{os.getpid()}-"
    with creating_temporary(target.parent, prefix):  # a second Ctrl-C removes it too
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix or ".tmp", dir=target.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        register_temporary(tmp_path)
    try:
        yield tmp_path
        if tmp_path.exists():
            tmp_path.chmod(_default_mode())
            if fsync:
                with open(tmp_path, "rb+") as fh:
                    os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
        unregister_temporary(tmp_path)


def write_atomic(
    path: str | os.PathLike[str], writer: Callable[[Path], None], *, fsync: bool = False
) -> None:
    """Call ``writer(tmp_path)`` then atomically move the result onto ``path``."""
    with atomic_path(path, suffix=Path(path).suffix, fsync=fsync) as tmp:
        writer(tmp)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    target = Path(path)
    with atomic_path(target, suffix=target.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


_STAGE_TAG = ".il2sim-tmp-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_stages(target: Path) -> None:
    """Remove staging folders of ``target`` left by killed runs (their process is gone)."""
    import shutil

    if not target.parent.is_dir():
        return
    prefix = f".{target.name}{_STAGE_TAG}"
    for p in target.parent.iterdir():
        if not p.name.startswith(prefix):
            continue
        try:
            pid = int(p.name[len(prefix) :].split("-", 1)[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)


@contextmanager
def staged_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; on success move its entries into place.

    A new target folder is renamed into place in one step.  Into an existing folder each
    staged entry (file or sub-folder) replaces the entry of the same name whole (a file by
    ``os.replace``; a folder by renaming the old one aside first), other entries are kept.
    On an exception the staging folder is removed and ``path`` is untouched; staging folders
    of killed runs (``.<name>.il2sim-tmp-<pid>-*``) are removed on the next run.
    """
    import shutil

    from il2sim.checks import output_folder

    target = output_folder(path, field="output")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_stages(target)
    prefix = f".{target.name}{_STAGE_TAG}{os.getpid()}-"
    with creating_temporary(target.parent, prefix):  # a second Ctrl-C removes it too
        stage = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
        register_temporary(stage, folder=True)
    try:
        yield stage
        dir_mode = 0o777 & ~_umask()
        for p in stage.rglob("*"):
            p.chmod(dir_mode if p.is_dir() else _default_mode())
        if not target.exists():
            stage.chmod(dir_mode)
            os.rename(stage, target)
            return
        if not target.is_dir():
            raise NotADirectoryError(f"{target} exists and is not a folder")
        trash = Path(
            tempfile.mkdtemp(
                prefix=f".{target.name}{_STAGE_TAG}{os.getpid()}-old-", dir=target.parent
            )
        )
        for entry in sorted(stage.iterdir()):
            dst = target / entry.name
            if entry.is_dir() and dst.exists():
                os.rename(dst, trash / entry.name)
            os.replace(entry, dst)
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
        unregister_temporary(stage)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
