"""The processes of a running stack, read from /proc: which one is Rasa, which are its
audio decoders, and whether one is still alive (not a zombie)."""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> tuple[str, int]:
    """(state, parent pid) of a process; ("X", 0) once it is gone."""
    try:
        after_name = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return "X", 0
    return after_name[0], int(after_name[1])


def alive(pid: int) -> bool:
    return _stat(pid)[0] not in ("Z", "X")


def descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            state, parent = _stat(int(entry))
            if state not in ("Z", "X"):
                parents.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def running(root: int, marker: str) -> list[int]:
    """The live processes under ``root`` whose command line contains ``marker``."""
    return [pid for pid in descendants(root) if marker in cmdline(pid)]


RASA = "anxin.rasa_server"  # the Rasa server's command line (anxin/stack.py)
DECODER = "voice.decode_worker"  # an audio decoder process (voice/isolated.py)
