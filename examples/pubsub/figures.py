"""Small measuring helpers shared by the example's load runs: percentiles and the CPU time
of the nimbus process against that of the function processes it started."""

from __future__ import annotations

import math
import os

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], percent: float) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return round(float(ordered[rank - 1]), 1)


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after its closing one.
    return text[text.rindex(")") + 2:].split()


def cpu_seconds(pid: int) -> dict:
    """CPU seconds (user + system) of `pid` itself and of all its descendants, living ones and
    those it has already reaped."""
    fields = _stat(pid)
    if fields is None:
        return {"nimbus": 0.0, "functions": 0.0}
    # Fields after the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append(int(entry))
    living, todo = 0.0, list(children.get(pid, []))
    while todo:
        child = todo.pop()
        stat = _stat(child)
        if stat is not None:
            living += (int(stat[11]) + int(stat[12])) / CLOCK_TICKS
        todo += children.get(child, [])
    return {"nimbus": own, "functions": living + reaped}
