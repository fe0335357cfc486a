"""`podtriage watch`: start the watches, serve the answers until SIGTERM (exit 0) or Ctrl-C (130).

Exit codes at start, as the other commands: 2 usage or input error (bad flags, --listen address in
use), 3 cluster error (unreachable at start, credentials refused, pods unreadable).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import EXIT_OK, InputError


@dataclass(frozen=True)
class WatchArgs:
    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    selector: str = ""
    listen: str = ":9417"
    per_pod_metrics: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = 30.0
    deadline: float = 120.0  # --timeout: how long the first sync may take before answering partially
    rules_dirs: tuple[str, ...] = ()
    config: str | None = None
    fail_on: str | None = None
    live: Any = None
    refresh: float = 60.0


def run(args: WatchArgs, *, log: Callable[[str], None] | None = None) -> int:
    from ..audit.selector import parse_selector
    from ..audit.suppress import FAIL_ON_CHOICES, AuditConfig, load_config
    from ..collect import live as L
    from .server import Answers, make_server
    from .watcher import WatchConfig, Watcher

    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    if args.namespaces and args.all_namespaces:
        raise InputError("use either -n or -A, not both")
    parse_selector(args.selector)
    if not args.refresh >= 0:  # also NaN
        raise InputError(f"--refresh {args.refresh}: use a number of seconds >= 0 (0: only after changes)")
    config = load_config(args.config) if args.config else AuditConfig()
    fail_on = args.fail_on or config.fail_on or "critical"
    if fail_on not in FAIL_ON_CHOICES:
        raise InputError(f"--fail-on {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    namespaces = list(dict.fromkeys(n for n in args.namespaces if n)) or None
    watcher = Watcher(WatchConfig(kubeconfig=args.kubeconfig, context=args.context, namespaces=namespaces,
                                  selector=args.selector, timeout=args.timeout, live=args.live,
                                  rules_dirs=args.rules_dirs, fail_on=fail_on, config=config,
                                  refresh=args.refresh),
                      first_sync_deadline=args.deadline)
    answers = Answers(watcher, args.per_pod_metrics)
    watcher.before_freeze = answers.forget
    server = make_server(args.listen, answers)  # a taken port fails before any cluster I/O
    stopping = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        stopping.set()

    previous_term = signal.signal(signal.SIGTERM, on_term)
    serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
    try:
        watcher.connect()  # GET /version: unreachable -> ClusterError (exit 3)
        host, port = str(server.server_address[0]), server.server_address[1]
        serve.start()
        say(f"podtriage watch: serving on http://{'[' + host + ']' if ':' in host else host}:{port} "
            f"(/metrics, /api/v1/findings, /api/v1/explain/NAMESPACE/POD); watching {watcher.server} "
            f"with {len(watcher.reflectors)} streams")
        started = time.monotonic()
        watcher.on_error = lambda exc: say(f"podtriage watch: diagnosis failed, serving the last answer: "
                                           f"{type(exc).__name__}: {exc}")
        watcher.start()
        while not watcher.first_diagnosis.wait(0.2):
            if stopping.is_set():
                return EXIT_OK
        assert watcher.latest is not None
        L.require_pods(watcher.latest.snapshot, namespaces)  # no pods, no answers: exit 3
        counts = watcher.latest.report.counts
        say(f"podtriage watch: first answer in {time.monotonic() - started:.1f}s: {counts.get('pods', 0)} pods, "
            f"{counts.get('nodes', 0)} nodes, {counts.get('pendingPods', 0)} Pending, "
            f"{counts.get('blockingFindings', 0)} blocking findings")
        was_stale = False
        while not stopping.wait(0.2):
            stale = watcher.stale()
            if stale != was_stale:
                problems = watcher.health.problems()
                say("podtriage watch: stale, serving the last good answer: " + "; ".join(
                    sorted(set(problems.values()))[:3]) if stale else "podtriage watch: recovered, answers are current")
                was_stale = stale
        say("podtriage watch: stopping (SIGTERM)")
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        watcher.close()
        server.shutdown() if serve.is_alive() else None
        server.server_close()
