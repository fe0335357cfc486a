"""The second core: work handed to a forked process, its result sent back pickled.

Used by loaders/jsonstream.py to convert half of a big List, forked early while this process is
still small. (Forking after a snapshot is loaded does not pay: both processes then copy every page
whose reference counts they touch; running the audit's risk checks that way was slower.) Only on
Linux with two or more usable cores, and never when PODTRIAGE_PARALLEL=0. Whatever fails in the
child, the caller does the work itself: forking changes how long a result takes, never what it is.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

_FAILED = object()


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fork_allowed() -> bool:
    return (sys.platform == "linux" and hasattr(os, "fork") and os.environ.get("PODTRIAGE_PARALLEL", "1") != "0"
            and cpus() >= 2)


class Forked:
    """`fn()` run in a forked child from now on; `result()` waits for it (None-safe: see below)."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns, never raises out of the fork
            os.close(r)
            code = 0
            try:
                result: Any = ("ok", fn())
            except BaseException as exc:  # Ctrl-C included
                result, code = ("error", f"{type(exc).__name__}: {exc}"), 1
            try:
                with os.fdopen(w, "wb") as out:
                    pickle.dump(result, out, protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                code = 2
            os._exit(code)
        os.close(w)
        self.pid, self.fd = pid, r

    def result(self, default: Callable[[], Any]) -> Any:
        """The child's result, or `default()` computed here when the child failed."""
        try:
            with os.fdopen(self.fd, "rb") as inp:
                got = pickle.load(inp)
        except Exception:
            got = None
        self._reap()
        if not got or got[0] != "ok":
            return default()
        return got[1]

    def cancel(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass
        self._reap()

    def _reap(self) -> None:
        if self.pid:
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0


__all__ = ["Forked", "cpus", "fork_allowed"]
