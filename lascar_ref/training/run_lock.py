"""One writer per output folder, and a writable one — docs/design.md §8.

`check_writable(out)` creates `out` and a probe file in it before any data is read, so an
unwritable --out fails at once with the folder named, not after the first epoch.
`RunLock(out)` holds `out/.lock` (JSON: host, pid, start time, command) for a run's duration; a
second run on the same folder refuses to start, naming the holder. A lock left by a process that
no longer exists on this host is taken over with a note. Tests: tests/test_run_lock.py
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from ..errors import RunLockError

LOCK_NAME = ".lock"


def check_writable(out: str | Path) -> Path:
    """Create `out` if needed and prove a file can be written there; ValueError naming it if not."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ValueError(f"--out {out}: output folder is not writable ({e.strerror or e})") from e
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunLock:
    """Context manager holding out/.lock; re-entrant for the same process."""

    def __init__(self, out: str | Path, say=print) -> None:
        self.path, self.say, self.owned = Path(out) / LOCK_NAME, say, False

    def __enter__(self) -> RunLock:
        me = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "command": " ".join(sys.argv),
        }
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                holder = self._holder()
                if holder.get("host") == me["host"] and holder.get("pid") == me["pid"]:
                    return self  # this process already holds it (a chain of stages)
                if (
                    holder.get("host") == me["host"]
                    and isinstance(holder.get("pid"), int)
                    and not _alive(holder["pid"])
                ):
                    self.say(
                        f"note: {self.path}: taking over the lock of a process that no longer "
                        f"exists (pid {holder['pid']}, started {holder.get('started')})"
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise RunLockError(
                    f"{self.path.parent}: another run is writing to this folder ({self.path}: "
                    f"host {holder.get('host')}, pid {holder.get('pid')}, "
                    f"started {holder.get('started')}, "
                    f"command {holder.get('command')!r}); use another --out, or delete the lock "
                    f"file if that run is gone"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.owned = True
            return self
        raise RunLockError(f"{self.path}: could not take the lock")

    def _holder(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def __exit__(self, *exc) -> None:
        if self.owned:
            self.path.unlink(missing_ok=True)
            self.owned = False
