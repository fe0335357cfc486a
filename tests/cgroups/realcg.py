"""Real cgroup v1 memory hierarchies below our own memory cgroup, for tests and fixture capture.

Everything is created under `<our memory cgroup>/podtriage-test-<random>` and removed again (leaves
first), killing only the processes these helpers started.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

V1_MEMORY_MOUNT = Path("/sys/fs/cgroup/memory")
MiB = 1 << 20

# Touches every page it allocates (b"\xa5" * n, unlike bytearray(n), is not lazily zero-mapped);
# gives up at CAP MiB so that a limit the kernel does not enforce cannot eat the machine.
HOG = r"""
import sys
cap = int(sys.argv[1]); hold = []
for i in range(cap):
    hold.append(b"\xa5" * (1 << 20))
sys.exit(3)
"""
# Allocates N MiB and then waits to be killed: a container that is running and using memory.
HOLD = r"""
import sys, time
hold = [b"\x5a" * (1 << 20) for _ in range(int(sys.argv[1]))]
sys.stdout.write("ready\n"); sys.stdout.flush()
time.sleep(3600)
"""


def own_memory_cgroup() -> tuple[Path | None, str]:
    """Our cgroup v1 memory directory when it is writable, else (None, why not)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError as exc:
        return None, f"cannot read /proc/self/cgroup: {exc}"
    rel = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            rel = path
    if rel is None:
        return None, "no cgroup v1 memory controller in /proc/self/cgroup (cgroup v2 only?)"
    d = V1_MEMORY_MOUNT / rel.lstrip("/")
    if not (d / "memory.limit_in_bytes").is_file():
        return None, f"{d}: no cgroup v1 memory controller files there"
    probe = d / f"podtriage-probe-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
        (probe / "memory.limit_in_bytes").write_text(str(64 * MiB))
    except OSError as exc:
        return None, f"{d}: memory cgroup not writable ({exc.strerror}); needs root or a delegated cgroup"
    finally:
        try:
            probe.rmdir()
        except OSError:
            pass
    return d, ""


class CgroupTree:
    """A disposable cgroup v1 memory hierarchy; use as a context manager."""

    def __init__(self, parent: Path) -> None:
        self.root = parent / f"podtriage-test-{secrets.token_hex(4)}"
        self.created: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> CgroupTree:  # noqa: PYI034 (typing.Self needs 3.11)
        self.root.mkdir()
        self.created.append(self.root)
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def mkdir(self, rel: str, limit: int | None = None) -> Path:
        d = self.root
        for part in Path(rel).parts:
            d = d / part
            if not d.exists():
                d.mkdir()
                self.created.append(d)
        if limit is not None:
            (d / "memory.limit_in_bytes").write_text(str(limit))
        return d

    def _spawn(self, cgroup: Path, script: str, arg: int) -> subprocess.Popen[bytes]:
        # the shell moves itself into the cgroup, then execs python: every byte python touches is charged there
        cmd = ['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", str(cgroup),
               sys.executable, "-c", script, str(arg)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def run_hog(self, cgroup: Path, cap_mib: int = 512, timeout: float = 60) -> int:
        """Run a memory hog in CGROUP until it dies; its return code (-9 = SIGKILL by the OOM killer)."""
        p = self._spawn(cgroup, HOG, cap_mib)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise

    def start_holder(self, cgroup: Path, mib: int) -> subprocess.Popen[bytes]:
        """A process in CGROUP holding MIB MiB until cleanup."""
        p = self._spawn(cgroup, HOLD, mib)
        assert p.stdout is not None
        line = p.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"holder in {cgroup} did not start (exit {p.poll()})")
        return p

    def start_sleeper(self, cgroup: Path) -> subprocess.Popen[bytes]:
        """A tiny process in CGROUP, like a pod's pause container."""
        cmd = ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && echo ready && exec sleep 3600', "sh", str(cgroup)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        assert p.stdout is not None
        p.stdout.readline()
        return p

    def cleanup(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            p.wait()
            if p.stdout:
                p.stdout.close()
        self.procs.clear()
        for d in sorted(self.created, key=lambda x: len(x.parts), reverse=True):
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # the last task is still exiting
        self.created.clear()


def kernel_release() -> str:
    return os.uname().release
