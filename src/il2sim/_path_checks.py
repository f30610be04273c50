"""Path and address checks of the validation boundary (:mod:`il2sim.checks` re-exports them;
see its docstring, "Outputs", for the rules decided once for every command).

Split from ``checks.py`` to keep each file under 400 lines; the rule and message of each check
are unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from il2sim.errors import Il2simError, InputError
from il2sim.errors import bad_value as _fail

__all__ = [
    "NAME_MAX_BYTES",
    "PATH_MAX_BYTES",
    "input_file",
    "input_folder",
    "output_file",
    "output_folder",
    "path_name",
    "reader_file",
    "scheduler_address",
]

NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096


def _path(path: str | os.PathLike[str], field: str) -> Path:
    """``path`` as a :class:`Path`, refusing what the OS cannot take: a NUL byte, a component over
    255 bytes or a path over 4096 bytes (found by the fuzzed CLI, issue 16)."""
    text = os.fspath(path)
    if "\x00" in text:
        raise _fail(field, text, "must not contain a NUL byte")
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        raise _fail(field, text, "is not a valid file name on this system") from None
    if len(raw) > PATH_MAX_BYTES:
        raise _fail(field, text[:80] + "...", f"is longer than {PATH_MAX_BYTES} bytes")
    for part in raw.split(b"/"):
        if len(part) > NAME_MAX_BYTES:
            raise _fail(
                field, text[:80] + "...", f"has a name longer than {NAME_MAX_BYTES} bytes"
            )
    return Path(text)


def path_name(path: str | os.PathLike[str], field: str) -> Path:
    """``path`` as a :class:`Path` if the OS can take the name (no NUL byte, no component over
    255 bytes, at most 4096 bytes), whether or not it exists."""
    return _path(path, field)


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _check_parent(path: Path, field: str) -> None:
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise _fail(field, str(path), "cannot be created: a parent is a file, not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise _fail(field, str(path), f"cannot be written: folder {str(base)!r} is not writable")


def output_file(path: str | os.PathLike[str], field: str = "out") -> Path:
    """A file to write: not an existing folder; its parent a folder we can write (or create)."""
    p = _path(path, field)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise _fail(field, str(path), "must be a file name")
    if p.is_dir():
        raise _fail(field, str(path), "is an existing folder, expected a file name")
    if p.exists() and not p.is_file():
        raise _fail(field, str(path), "is not a regular file (a device, FIFO or socket)")
    if p.exists() and not os.access(p, os.W_OK) and not os.access(p.parent, os.W_OK):
        raise _fail(field, str(path), "cannot be written")
    _check_parent(p, field)
    return p


def output_folder(path: str | os.PathLike[str], field: str = "out") -> Path:
    """A folder to write into: not an existing file; writable (or creatable)."""
    p = _path(path, field)
    if str(path) == "":
        raise _fail(field, str(path), "must be a folder name")
    if p.exists() and not p.is_dir():
        raise _fail(field, str(path), "is an existing file, expected a folder")
    if p.is_dir():
        if not os.access(p, os.W_OK | os.X_OK):
            raise _fail(field, str(path), "cannot be written: the folder is not writable")
        return p
    _check_parent(p, field)
    return p


def input_file(path: str | os.PathLike[str], field: str) -> Path:
    """An existing, readable file."""
    p = _path(path, field)
    if not p.exists():
        raise _fail(field, str(path), "no such file")
    if p.is_dir():
        raise _fail(field, str(path), "is a folder, expected a file")
    if not os.access(p, os.R_OK):
        raise _fail(field, str(path), "cannot be read")
    return p


def reader_file(
    path: str | os.PathLike[str], field: str, error: type[Il2simError] = InputError
) -> Path:
    """The file a reader is about to open, checked the one way every file reader does, with
    the reader's own error class ``error`` (an :class:`InputError` for an argument, a
    :class:`DataError` for a data file):

    - a name the OS cannot take (:func:`path_name`'s rules) -> its message;
    - the OS refusing to look (ELOOP, EACCES on a parent) -> ``cannot open 'P': REASON``;
    - a folder -> ``'P' is a folder, expected a file``;
    - nothing there -> ``no such file: 'P'``.

    Used by the event-file reader (``events``) and the sweep grid reader (``grid``).
    """
    try:
        p = _path(path, field)
    except InputError as exc:
        if error is InputError:
            raise
        raise error(str(exc).removeprefix(f"{field}: "), field=field, value=exc.value) from None
    try:
        is_file, is_dir = p.is_file(), p.is_dir()
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        short = str(p)[:80]
        raise error(f"cannot open {short!r}: {reason}", field=field, value=short) from None
    if is_dir:
        raise error(f"{str(p)!r} is a folder, expected a file", field=field, value=str(p))
    if not is_file:
        raise error(f"no such file: {str(p)!r}", field=field, value=str(p))
    return p


def input_folder(path: str | os.PathLike[str], field: str) -> Path:
    """An existing, readable folder."""
    p = _path(path, field)
    if not p.exists():
        raise _fail(field, str(path), "no such folder")
    if not p.is_dir():
        raise _fail(field, str(path), "is a file, expected a folder")
    return p


_ADDRESS_RE = re.compile(r"(?:(tcp|tls)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})")


def scheduler_address(text: str, field: str = "scheduler", *, probe_s: float = 2.0) -> str:
    """A Dask scheduler address ``tcp://HOST:PORT`` (or ``tls://``; ``HOST:PORT`` means tcp)
    whose port accepts a connection within ``probe_s`` seconds; returns it with its scheme."""
    import socket

    m = _ADDRESS_RE.fullmatch(str(text).strip())
    if m is None or not 1 <= int(m.group(3)) <= 65535:
        raise _fail(field, text, "must be a scheduler address tcp://HOST:PORT (port 1-65535)")
    scheme, host, port = m.group(1) or "tcp", m.group(2).strip("[]"), int(m.group(3))
    if probe_s > 0:
        try:
            with socket.create_connection((host, port), timeout=probe_s):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise _fail(field, text, f"no scheduler answers there ({reason})") from None
    return f"{scheme}://{m.group(2)}:{port}"
