"""Running a benchmark child and measuring it: wall time, CPU, and peak memory of a process tree.

Why the memory is sampled: GNU time's ``%M`` (and ``wait4``'s ru_maxrss) is the peak RSS of the
one process waited for. A Spark build is a Python process whose JVM (and the JVM's Python
workers) are its children, and a PostgreSQL build does its work in server backends that are no
children of ours at all. So ``run_child`` also samples ``/proc`` every ``SAMPLE_SECONDS``: the
summed RSS of the child and all its descendants (found through ``/proc/PID/task/TID/children``),
and optionally of another set of processes (``watch``, e.g. the PostgreSQL server's), keeping the
peak of each sum. A sampled peak can miss a spike shorter than the interval; each process's own
high-water mark (``VmHWM``) is kept too, whose sum bounds the tree's peak from above (the
processes' peaks need not coincide).

RSS, not PSS (``descendants`` leaves out children that still share their parent's memory),
because ``/proc/PID/smaps_rollup``'s exact PSS cost
~100 ms of CPU per read of a 2 GB JVM on this machine, which sampled every 50 ms would have taken
a core from the build being measured.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

TIME = Path("/usr/bin/time")  # GNU time: the peak RSS of exactly its child
SAMPLE_SECONDS = 0.05


@dataclass
class Run:
    wall: float
    rss_mb: float  # GNU time's %M: the peak RSS of the child process itself
    returncode: int
    stdout: str
    inner: float | None = None  # the seconds the child reports for its own work
    models: dict[str, float] | None = None  # a build's seconds per model (run_results.json)
    check_seconds: float | None = None  # a build's checks, summed (run_results.json)
    cpu: float | None = None  # user + system seconds of the child (steadier than wall on a shared machine)
    phases: dict[str, float] | None = None  # ... and of what is not a model (compile, plan, publish, serve)
    messages: dict[str, str | None] | None = None  # ... what each model said (incremental, delta: ...)
    tree_mb: float | None = None  # peak of the summed RSS of the child and its descendants (sampled)
    tree_hwm_mb: float | None = None  # sum of those processes' own peaks (VmHWM): an upper bound
    watched_mb: float | None = None  # peak of the summed private memory (RssAnon) of ``watch``'s processes
    load: float | None = None  # the 1-minute load average when the child ended
    engine: dict[str, float] | None = None  # what the engine reports of the build (PostgreSQL: temp bytes)


def _status(pid: int) -> dict[str, int]:
    """The kB fields of /proc/PID/status ({} if the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in text.splitlines() if ":" in line)
            if v.strip().endswith("kB")}


def _image(pid: int) -> tuple[str, str] | None:
    """The executable and the stack's start address: equal for a parent and a child that shares
    or copies its memory and has not exec'd yet (None if the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return os.readlink(f"/proc/{pid}/exe"), stat[stat.rindex(")") + 2:].split()[25]
    except (OSError, IndexError):
        return None


def descendants(pid: int, forks: bool = False) -> list[int]:
    """``pid`` and every process below it, from the kernel's per-thread children lists, leaving
    out (unless ``forks``: PostgreSQL's backends are such forks, each with memory of its own) a
    child that is still its parent's image: the JVM starts commands (Hadoop's file
    permissions, ``jspawnhelper``) by ``posix_spawn``, whose child shares the JVM's memory until
    it execs and meanwhile shows the JVM's whole RSS and VmHWM as its own (which had doubled the
    sum, 3.6 GB against a 1.8 GB JVM); a forked Python worker, whose pages are mostly its
    daemon's, is left out with it."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        image = None
        for tid in tasks:
            try:
                children = [int(c) for c in Path(f"/proc/{p}/task/{tid}/children").read_text().split()]
            except OSError:
                continue
            for child in children:
                image = image or (None if forks else _image(p))
                if forks or image is None or _image(child) != image:
                    todo.append(child)
    return found


class TreeSampler:
    """Peaks of summed memory over a changing set of processes, sampled on demand."""

    def __init__(self, processes: Callable[[], Iterable[int]], field: str = "VmRSS"):
        self.processes, self.field = processes, field
        self.peak_kb = 0
        self.hwm_kb: dict[int, int] = {}  # each process's own VmHWM, last seen

    def sample(self) -> None:
        total = 0
        for pid in self.processes():
            status = _status(pid)
            total += status.get(self.field, 0)
            if "VmHWM" in status:
                self.hwm_kb[pid] = status["VmHWM"]
        self.peak_kb = max(self.peak_kb, total)

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    @property
    def hwm_mb(self) -> float:
        return sum(self.hwm_kb.values()) / 1024


def run_child(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 3600, watch: Callable[[], Iterable[int]] | None = None) -> Run:
    """Run cmd; return its wall time, CPU time and peak memory (see the module's docstring).

    The child's own RSS comes from /usr/bin/time (GNU time's %M). os.wait4's or RUSAGE_CHILDREN's
    ru_maxrss is wrong for small children: it includes the image of this (bench) process forked
    before exec (a `python -c pass` child measured 310 MB under a 300 MB parent). Without
    /usr/bin/time, wait4 is used and small figures are upper bounds. The tree's sampled peak
    leaves out /usr/bin/time itself (its RSS is ~2 MB).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out_path, rss_path = Path(tmp) / "out", Path(tmp) / "rss"
        full = [str(TIME), "-q", "-o", str(rss_path), "-f", "%M", *cmd] if TIME.exists() else cmd
        with out_path.open("w") as out:
            started = time.perf_counter()
            proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    start_new_session=True)
            below_time = TIME.exists()
            tree = TreeSampler(lambda: [p for p in descendants(proc.pid) if not (below_time and p == proc.pid)])
            watched = TreeSampler(watch, field="RssAnon") if watch else None
            deadline, next_sample = started + timeout, started
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                now = time.perf_counter()
                if now > deadline:
                    os.killpg(proc.pid, 9)
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                if now >= next_sample:
                    tree.sample()
                    if watched:
                        watched.sample()
                    next_sample = now + SAMPLE_SECONDS
                time.sleep(0.002)
            wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, tell Popen
        text = out_path.read_text()
        rss_kb = usage.ru_maxrss  # KiB on Linux
        if TIME.exists():
            lines = rss_path.read_text().split() if rss_path.exists() else []
            rss_kb = int(lines[-1]) if lines and lines[-1].isdigit() else float("nan")
    return Run(wall, rss_kb / 1024, proc.returncode, text, cpu=usage.ru_utime + usage.ru_stime,
               tree_mb=max(tree.peak_mb, rss_kb / 1024), tree_hwm_mb=tree.hwm_mb,
               watched_mb=watched.peak_mb if watched else None, load=os.getloadavg()[0])
