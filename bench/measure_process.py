"""Runs a command as a child process and prints one JSON line: its return code, wall seconds, the peak
resident memory of its process tree, and the tail of its output. Stops it (and says so) past a time
limit or a resident-memory cap.

    python bench/measure_process.py <memory cap bytes, 0: none> <timeout seconds, 0: none> <command...>
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

limit, timeout = int(sys.argv[1]), float(sys.argv[2]) or None


def rss(pid):
    # resident bytes of pid and its descendants (Linux /proc)
    total = 0
    try:
        total = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        for task in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                total += rss(int(child))
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return total


start = time.perf_counter()
log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (a file, not a pipe: a full pipe would block the child)
proc = subprocess.Popen(sys.argv[3:], stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
stopped = None
while not stopped:
    try:
        proc.wait(timeout=0.5)
        break
    except subprocess.TimeoutExpired:
        pass
    if timeout and time.perf_counter() - start > timeout:
        stopped = f"stopped: still running after the {timeout:.0f} s time limit"
    elif limit and rss(proc.pid) > limit:
        stopped = f"stopped: resident memory above the {limit / 1024**3:g} GiB cap"
if stopped:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
log.seek(0)
out = log.read()
wall = time.perf_counter() - start
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
code = -1 if stopped else proc.returncode
print(
    json.dumps(
        {
            "returncode": code,
            "stopped": stopped,
            "wall": wall,
            "peak_kb": peak_kb,
            "tail": ((out or "") + (stopped or ""))[-3000:],
        }
    )
)
