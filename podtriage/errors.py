"""One exception hierarchy for the package; the CLI maps each class to an exit code."""

from __future__ import annotations

# Documented exit codes (README "Exit codes").
EXIT_OK = 0  # the target is not blocked
EXIT_BLOCKED = 1  # a blocking root cause was found
EXIT_USAGE = 2  # usage or input error
EXIT_CLUSTER = 3  # cluster / API error


class PodtriageError(Exception):
    """Base class: a message meant for the user, and the exit code that goes with it."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(PodtriageError):
    """A file, argument or object the user gave us is unusable."""

    exit_code = EXIT_USAGE


class InputFileError(InputError):
    """A file could not be read or parsed; carries the path and, when known, the line."""

    def __init__(self, path: str, message: str, *, line: int | None = None, hint: str | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line


class TargetNotFound(InputError):
    """The pod or workload named on the command line is not in the snapshot."""

    def __init__(self, message: str, suggestions: list[str] | None = None) -> None:
        hint = None
        if suggestions:
            hint = "did you mean: " + ", ".join(suggestions)
        super().__init__(message, hint=hint)
        self.suggestions = suggestions or []


class RuleError(InputError):
    """A rule file is broken: names the file, line and field."""

    def __init__(self, path: str, message: str, *, line: int | None = None, field: str | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")
        self.path = path
        self.line = line
        self.field = field


class ClusterError(PodtriageError):
    """The cluster could not be reached or answered with an error we cannot work around."""

    exit_code = EXIT_CLUSTER
