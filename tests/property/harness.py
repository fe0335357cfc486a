"""The contract every fuzz target checks: a correct result, a warning that names what was skipped, or
a PodtriageError (exit code 2 for input) - never another exception, never a hang.

`allowed()` runs one call under a hard wall-clock cap (SIGALRM, independent of hypothesis' own
deadline, which only reports slow examples after they finish) and turns any other outcome into an
AssertionError that names the exception, so hypothesis shrinks it to a minimal example.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from podtriage.errors import InputFileError, PodtriageError

T = TypeVar("T")

# Seconds one example may take, whatever it does (a regex blow-up, a parser loop). Generous on
# purpose: the 2-core CI machine is shared; a real hang takes minutes, not seconds.
HARD_CAP = float(os.environ.get("PODTRIAGE_FUZZ_HARD_CAP", "20"))


class Hang(BaseException):
    """Raised by the alarm: BaseException so that no `except Exception` in the code under test eats it."""


@contextlib.contextmanager
def hard_cap(seconds: float = HARD_CAP) -> Iterator[None]:
    """Interrupt the block after `seconds` (main thread only; elsewhere it is a no-op)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise Hang(f"example took longer than the hard cap of {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Outcome:
    """What one call gave: its value, or the PodtriageError it raised."""

    def __init__(self, value: Any = None, error: PodtriageError | None = None) -> None:
        self.value = value
        self.error = error

    @property
    def ok(self) -> bool:
        return self.error is None


def allowed(fn: Callable[[], T], *, path: str | None = None, cap: float = HARD_CAP) -> Outcome:
    """Run fn; a result or a PodtriageError with a message is allowed, anything else fails.

    With `path`, an input error must name that file (a user must see which file is broken).
    """
    try:
        with hard_cap(cap):
            value = fn()
    except PodtriageError as exc:
        assert exc.message.strip(), f"{type(exc).__name__} without a message"
        assert exc.exit_code in (2, 3), f"{type(exc).__name__} with exit code {exc.exit_code}"
        if path is not None and isinstance(exc, InputFileError):
            assert path in exc.message, f"input error does not name the file {path!r}: {exc.message}"
        return Outcome(error=exc)
    except Hang as exc:
        raise AssertionError(f"hang: {exc}") from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - the whole point: nothing else may escape
        raise AssertionError(f"escaped {type(exc).__name__}: {str(exc)[:300]}") from exc
    return Outcome(value=value)
