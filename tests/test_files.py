"""Atomic writes (il2sim._files): all or nothing, readable mode, no temporary left behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from il2sim._files import atomic_path, write_text_atomic


def test_write_creates_file_with_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        target = write_text_atomic(tmp_path / "sub" / "a.txt", "hello")
    finally:
        os.umask(old)
    assert target.read_text() == "hello"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["a.txt"]


def test_failure_keeps_previous_file_and_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "b.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, suffix=".csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.csv"]


def test_interrupt_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "c.json"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_path(target, suffix=".json") as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_temporaries_of_killed_writers_are_removed_on_the_next_write(tmp_path: Path) -> None:
    import subprocess
    import sys

    target = tmp_path / "r.html"
    # a writer killed with SIGKILL while its temporary exists
    code = (
        "import os, sys, signal; from il2sim._files import atomic_path\n"
        f"with atomic_path({str(target)!r}, suffix='.html') as tmp:\n"
        "    tmp.write_text('half'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".r.html.il2sim-")
    # another target's temporary and a live writer's temporary are left alone
    other = tmp_path / f".other.html.il2sim-{os.getpid()}-x.html"
    other.write_text("x")
    live = tmp_path / f".r.html.il2sim-{os.getpid()}-live.html"
    live.write_text("x")
    write_text_atomic(target, "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["r.html", other.name, live.name]
    )
    assert target.read_text() == "done"


def test_write_atomic_with_fsync(tmp_path: Path) -> None:
    from il2sim._files import write_atomic

    write_atomic(tmp_path / "d.bin", lambda p: p.write_bytes(b"\x00\x01"), fsync=True)
    assert (tmp_path / "d.bin").read_bytes() == b"\x00\x01"
    assert [p.name for p in tmp_path.iterdir()] == ["d.bin"]


def test_folder_as_target_or_file_as_parent_is_an_input_error(tmp_path: Path) -> None:
    from il2sim.errors import InputError

    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match=r"^output: is an existing folder"):
        write_text_atomic(tmp_path / "d", "x")
    (tmp_path / "f").write_text("keep")
    with pytest.raises(InputError, match=r"^output: cannot be created: a parent is a file"):
        write_text_atomic(tmp_path / "f" / "x.txt", "x")
    assert (tmp_path / "f").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f"]
