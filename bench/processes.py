"""Run an mlplan command as a process of its own and measure it: wall time, peak memory.

Peak memory is the process's own high-water resident set (VmHWM), read while it runs. Its
rusage (`ru_maxrss`) would not do: on Linux a child's high-water mark includes the image of
the process that started it, up to its exec, so a command started by a bench of 300 MB would
report at least 300 MB.

Each command runs as `pip install .` leaves it: with its modules compiled (`compiled()`), which
a checkout where PYTHONDONTWRITEBYTECODE is set would otherwise do at every start (0.15 s).
"""

from __future__ import annotations

import compileall
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("mlplan")
MLPLAN = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "bot"]
POLL = 0.005  # seconds between two readings of the command's memory


@functools.cache
def compiled() -> None:
    """Compile mlplan's modules, once per bench (`pip install .` does it at install)."""
    root = Path(__file__).resolve().parent.parent
    for package in ("bot", "flows", "storage"):
        compileall.compile_dir(root / package, quiet=2)


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (which may hold spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # it ended while we looked
        return None


def alive(pid: int) -> bool:
    """Whether a process is still running (a zombie is not)."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def schedulers_of(pid: int) -> list[int]:
    """The running scheduler processes (`worker --beside-server`) a server process started."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(entry.name)) and int(fields[1]) == pid:
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--beside-server" in command and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def peak_rss_mb(pid: int) -> float | None:
    """Read a running process's high-water resident set in MB (None once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def run(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Run an mlplan command; return its wall time (s), its own peak memory (MB) and its output.

    `env`: more environment variables for it (a Slack token, the Web API's URL).
    """
    compiled()
    env = {**os.environ, "DATABASE_URL": database_url, "MLPLAN_TIMEZONE": "UTC", **(env or {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        child = subprocess.Popen([*MLPLAN, *args], env=env, stdout=out, stderr=err)
        peak = 0.0  # Popen returns once the command is exec'd: every reading is its own
        while child.poll() is None:
            peak = max(peak, peak_rss_mb(child.pid) or 0.0)
            time.sleep(POLL)
        elapsed = time.perf_counter() - started
        out.seek(0), err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"mlplan {' '.join(args)} failed:\n{err.read()}")
        return elapsed, peak, out.read()
