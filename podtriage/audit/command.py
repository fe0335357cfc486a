"""`podtriage audit`: collect (or load), audit, render, write, push; returns the exit code.

Exit codes: 0 no unsuppressed blocking finding at or above --fail-on, 1 there is one, 2 usage
or input error, 3 cluster error (including an unreachable Pushgateway).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..errors import EXIT_BLOCKED, EXIT_OK, InputError
from .model import AuditReport
from .scan import ScanScope
from .selector import parse_selector
from .suppress import FAIL_ON_CHOICES, AuditConfig, load_config

FORMATS = ("html", "markdown", "markdown-short", "json", "junit", "prometheus")


@dataclass(frozen=True)
class AuditArgs:
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str = ""
    from_path: str | None = None
    output: str = "markdown"
    out: str | None = None
    previous: str | None = None
    config: str | None = None
    fail_on: str | None = None
    prometheus_textfile: str | None = None
    pushgateway: str | None = None
    rules_dirs: tuple[str, ...] = ()
    no_progress: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = 30.0
    deadline: float = 120.0  # --timeout: the whole collection
    redact: bool = False  # --redact: placeholders for every name (podtriage/redact.py)
    cluster: str = ""  # --cluster: the `cluster` label of the metrics and the Pushgateway grouping key
    live: Any = None  # collect.live.LiveOptions: impersonation, Secrets or not, request logging


def render(report: AuditReport, fmt: str, *, cluster: str = "") -> str:
    if fmt == "html":
        from .render_human import render_html

        return render_html(report)
    if fmt == "markdown":
        from .render_human import render_markdown

        return render_markdown(report)
    if fmt == "markdown-short":
        from .render_human import render_markdown_short

        return render_markdown_short(report)
    from . import render_machine as mach

    if fmt == "json":
        return mach.render_json(report)
    if fmt == "junit":
        return mach.render_junit(report)
    if fmt == "prometheus":
        return mach.render_prometheus(report, cluster=cluster)
    raise InputError(f"unknown output format {fmt!r}", hint="use one of " + ", ".join(FORMATS))


class _Progress:
    """A rich progress bar on stderr, only on a terminal: CronJobs and pipes stay quiet."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    @contextmanager
    def stage(self, description: str, total: int | None = None) -> Iterator[Callable[[int, int], None]]:
        if not self.enabled:
            yield lambda done, total_: None
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(description, total=total)

            def update(done: int, total_: int) -> None:
                progress.update(task, completed=done, total=total_)

            yield update


def _final(text: str, redactor: Any) -> str:
    """With --redact: the final check for leftover original names over one rendered output."""
    if redactor is None:
        return text
    from ..redact import finish

    return finish(redactor, text, lambda message: print(message, file=sys.stderr))


def run(args: AuditArgs, *, stdout: Callable[[str], None] | None = None) -> int:
    """The whole command. Raises PodtriageError for usage/input (2) and cluster (3) errors."""
    from ..rulebook import load_rules

    started = time.perf_counter()
    if args.output not in FORMATS:
        raise InputError(f"unknown output format {args.output!r}", hint="use one of " + ", ".join(FORMATS))
    if args.namespaces and args.all_namespaces:
        raise InputError("use either -n or -A, not both")
    parse_selector(args.selector)  # usage errors before any I/O
    config = load_config(args.config) if args.config else AuditConfig()
    fail_on = args.fail_on or config.fail_on or "critical"
    if fail_on not in FAIL_ON_CHOICES:
        raise InputError(f"--fail-on {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    if args.redact:
        from ..redact import refuse_side_inputs

        refuse_side_inputs(**{"--previous": args.previous})
    previous = None
    if args.previous:
        from .delta import load_previous

        previous = load_previous(args.previous)
    rules = load_rules(extra_dirs=list(args.rules_dirs))
    progress = _Progress(enabled=not args.no_progress and sys.stderr.isatty())

    redactor = None
    with progress.stage("reading the snapshot" if args.from_path else "reading the cluster"):
        if args.redact:
            from ..redact import load_redacted_files, load_redacted_live

            red = load_redacted_files(args.from_path) if args.from_path else load_redacted_live(
                kubeconfig=args.kubeconfig, context=args.context, namespaces=list(args.namespaces) or None,
                scope="all", timeout=args.timeout, deadline=args.deadline, options=args.live)
            snapshot, redactor = red.snapshot, red.redactor
        elif args.from_path:
            from ..loaders.files import load_path

            snapshot = load_path(args.from_path)
        else:
            from ..collect.live import collect_live, require_pods

            snapshot = collect_live(kubeconfig=args.kubeconfig, context=args.context,
                                    namespaces=list(args.namespaces) or None, scope="all",
                                    timeout=args.timeout, deadline=args.deadline, options=args.live).snapshot
            require_pods(snapshot, list(args.namespaces) or None)  # no pods, no audit: exit 3

    from .run import AuditOptions, run_audit

    namespaces, selector = tuple(args.namespaces), args.selector
    if redactor is not None:
        # -n, -l and the suppressions name originals: map them like the snapshot they apply to.
        from ..redact import redact_config

        namespaces = tuple(redactor.namespace(n) or n for n in namespaces)
        selector, config = redactor.selector(selector), redact_config(config, redactor)
    options = AuditOptions(scope=ScanScope(namespaces=namespaces, selector=selector),
                           config=config, fail_on=fail_on, previous=previous, previous_path=args.previous or "")
    with progress.stage("analysing Pending pods") as update:
        report = run_audit(snapshot, rules, options, progress=update, started=started)

    text = _final(render(report, args.output, cluster=args.cluster), redactor)
    if args.out:
        from .outputs import write_atomic

        write_atomic(args.out, text)
    else:
        (stdout or sys.stdout.write)(text)
    metrics = None
    if args.prometheus_textfile or args.pushgateway:
        from .render_machine import render_prometheus

        metrics = _final(render_prometheus(report, cluster=args.cluster), redactor)
    if args.prometheus_textfile and metrics is not None:
        from .outputs import write_atomic

        write_atomic(args.prometheus_textfile, metrics)
    if args.pushgateway and metrics is not None:
        from .outputs import push

        push(args.pushgateway, metrics, grouping={"cluster": args.cluster} if args.cluster else None)
    from ..cli import keep_until_exit

    keep_until_exit(snapshot, report)
    return EXIT_BLOCKED if report.failing() else EXIT_OK
