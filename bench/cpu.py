"""CPU time of processes and their descendants, read from /proc (Linux), for the benchmarks'
"where the CPU goes" figures."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds_of_tree(pid: int) -> float:
    """User and system CPU of `pid` and every descendant still running (Sanic's workers)."""
    return cpu_seconds_of_trees([pid])


def cpu_seconds_of_trees(pids: Iterable[int]) -> float:
    """`cpu_seconds_of_tree` summed over several roots."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(entry.name)) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        one = todo.pop()
        if one in seen:
            continue
        seen.add(one)
        todo += children.get(one, [])
        if (fields := _stat_fields(one)) is not None:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def pid_in_file(path: Path) -> int | None:
    """The process id on the first line of a pid file (Redis's, PostgreSQL's postmaster.pid)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
