"""Command line: `podtriage explain|snapshot|rules`, also installed as `kubectl-podtriage`.

The CLI is the only place that turns PodtriageError into a message and an exit code.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import click

from . import __version__
from .errors import EXIT_BLOCKED, EXIT_OK, EXIT_USAGE, InputError, PodtriageError

if TYPE_CHECKING:
    from .snapshot import Snapshot

EXIT_INTERNAL = 4  # a bug in podtriage: documented, never a traceback


def _console(no_color: bool, stderr: bool = False):
    from rich.console import Console

    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    width = None if sys.stdout.isatty() else 110
    return Console(no_color=no_color, stderr=stderr, highlight=False, width=width,
                   force_terminal=None if not no_color else False, soft_wrap=False)


def _fail(exc: PodtriageError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    if exc.hint:
        click.echo(f"hint: {exc.hint}", err=True)
    sys.exit(exc.exit_code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map package errors to exit codes; never let a traceback reach the user."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PodtriageError as exc:
            _fail(exc)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except BrokenPipeError:
            sys.exit(EXIT_OK)
        except Exception as exc:  # the CLI boundary: report, do not crash with a traceback
            if os.environ.get("PODTRIAGE_DEBUG"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("hint: this is a podtriage bug; rerun with PODTRIAGE_DEBUG=1 for details and report it",
                       err=True)
            sys.exit(EXIT_INTERNAL)

    return wrapper


def _load_snapshot(from_path: str | None, namespace: str | None, kubeconfig: str | None, context: str | None,
                   timeout: float, scope: Literal["pod", "namespace", "all"],
                   deadline: float | None = None) -> Snapshot:
    if from_path:
        from .loaders.files import load_path

        return load_path(from_path)
    from .collect.live import DEFAULT_DEADLINE, collect_live, require_pods

    result = collect_live(kubeconfig=kubeconfig, context=context,
                          namespaces=[namespace] if namespace else None, scope=scope, timeout=timeout,
                          deadline=deadline or DEFAULT_DEADLINE)
    # Without the target namespace's pods there is nothing to explain, and "pod not found" would
    # be wrong: say what could not be read (exit 3: forbidden, unavailable, timed out), not that
    # the pod does not exist (exit 2). Anything else missing gives a partial answer that says so.
    require_pods(result.snapshot, [namespace] if namespace else None)
    return result.snapshot


def _load_redacted(from_path: str | None, namespace: str | None, kubeconfig: str | None, context: str | None,
                   timeout: float, scope: Literal["pod", "namespace", "all"], deadline: float | None = None) -> Any:
    """`--redact`: the snapshot with every name replaced by a placeholder (podtriage/redact.py)."""
    from .redact import load_redacted_files, load_redacted_live

    if from_path:
        return load_redacted_files(from_path)
    return load_redacted_live(kubeconfig=kubeconfig, context=context, namespaces=[namespace] if namespace else None,
                              scope=scope, timeout=timeout, deadline=deadline)


def _echo(text: str, redactor: Any = None) -> None:
    """Print one rendered output; with --redact, after the final check for leftover names."""
    if redactor is not None:
        from .redact import finish

        text = finish(redactor, text, lambda message: click.echo(message, err=True))
    click.echo(text, nl=False)


redact_option = click.option(
    "--redact", is_flag=True,
    help="Replace names (objects, namespaces, nodes, labels, taints, images, cluster) with stable placeholders "
         "so that the output can be shared; the diagnosis stays the same.")


def _rules(extra: tuple[str, ...]):
    from .rulebook import load_rules

    return load_rules(extra_dirs=list(extra))


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="podtriage")
def main() -> None:
    """Explain why a Kubernetes pod is Pending: per-node scheduler truth fused with the event timeline.

    \b
    Exit codes: 0 not blocked, 1 a blocking root cause was found, 2 usage or input error,
    3 cluster/API error, 4 internal error.
    """


_cluster_options = [
    click.option("--kubeconfig", type=click.Path(dir_okay=False), default=None, envvar="KUBECONFIG",
                 help="Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config; in-cluster when run in a pod)."),
    click.option("--context", default=None, help="The kubeconfig context to use."),
    click.option("--request-timeout", "timeout", type=float, default=30.0, show_default=True,
                 help="Seconds per API request."),
    click.option("--timeout", "deadline", type=click.FloatRange(min=0, min_open=True), default=120.0,
                 show_default=True,
                 help="Total seconds for reading the cluster, retries included; what is not read by then is "
                      "reported as missing."),
]


def cluster_options(fn):
    for opt in reversed(_cluster_options):
        fn = opt(fn)
    return fn


@main.command()
@click.argument("target")
@click.option("-n", "--namespace", default=None, help="Namespace of the target (optional offline when unique).")
@click.option("--from", "from_path", type=str, default=None,
              help="Read a snapshot instead of the live cluster: a kubectl get -o yaml|json List, multi-document "
                   "YAML, a folder, a kubectl cluster-info dump folder or a podtriage snapshot.")
@cluster_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--no-color", is_flag=True, help="Plain text output.")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add the rules in this folder (repeatable); they can override built-in rules.")
@click.option("--graph", "graph_format", type=click.Choice(["mermaid", "dot"]), default=None,
              help="Print the causal graph in this format instead of the report.")
@click.option("-v", "--verbose", is_flag=True, help="Show every node group and every scheduling attempt.")
@click.option("--cgroup-stats", "cgroup_stats", multiple=True, type=click.Path(dir_okay=False),
              help="A `podtriage node-stats` file (repeatable, one per node): joins cgroup memory evidence.")
@click.option("--scheduler-log", "scheduler_log_files", multiple=True, type=click.Path(dir_okay=False),
              help="A kube-scheduler log file, klog text or JSON (repeatable; '-' reads stdin).")
@click.option("--scheduler-logs", "fetch_scheduler_logs", is_flag=True,
              help="Read the logs of the kube-scheduler pods in kube-system (needs get on pods/log there).")
@redact_option
@guarded
def explain(target: str, namespace: str | None, from_path: str | None, kubeconfig: str | None,
            context: str | None, timeout: float, deadline: float, output: str, no_color: bool, rules_dirs: tuple[str, ...],
            graph_format: str | None, verbose: bool, cgroup_stats: tuple[str, ...] = (),
            scheduler_log_files: tuple[str, ...] = (), fetch_scheduler_logs: bool = False,
            redact: bool = False) -> None:
    """Explain why TARGET is Pending: a pod name or KIND/NAME (deployment/web, sts/db, job/etl, ...)."""
    from .analyze import Explainer, parse_target

    parse_target(target)  # usage errors before any I/O
    if redact:
        from .redact import refuse_side_inputs

        refuse_side_inputs(**{"--cgroup-stats": cgroup_stats, "--scheduler-log": scheduler_log_files,
                              "--scheduler-logs": fetch_scheduler_logs})
    rules = _rules(rules_dirs)
    from .diagnose.extra import ExtraEvidence

    extra = ExtraEvidence()
    _add_cgroup_stats(extra, cgroup_stats)  # input errors before any cluster I/O
    _add_scheduler_logs(extra, scheduler_log_files)
    scope: Literal["pod", "namespace", "all"] = "pod" if "/" not in target else "namespace"
    if namespace is None and not from_path:
        namespace = _default_namespace(kubeconfig, context)
    redactor = None
    if redact:
        # The TARGET and -n go through the same map as the snapshot (see podtriage/redact.py).
        red = _load_redacted(from_path, namespace, kubeconfig, context, timeout, scope, deadline)
        snapshot, redactor = red.snapshot, red.redactor
        target, namespace = redactor.target(target), redactor.namespace(namespace)
    else:
        snapshot = _load_snapshot(from_path, namespace, kubeconfig, context, timeout, scope, deadline)
    if fetch_scheduler_logs:
        _fetch_scheduler_logs(extra, kubeconfig, context, timeout)
    report = Explainer(snapshot, rules, extra=extra).explain(target, namespace)
    if graph_format:
        from .graph import from_node_link, to_dot, to_mermaid

        g = from_node_link(report.graph)
        _echo((to_mermaid(g) if graph_format == "mermaid" else to_dot(g)) + "\n", redactor)
    elif output == "json":
        from .render.structured import render_json

        _echo(render_json(report), redactor)
    elif output == "yaml":
        from .render.structured import render_yaml

        _echo(render_yaml(report), redactor)
    else:
        from .graph import from_node_link, render_tree
        from .render.text import render_text

        g = from_node_link(report.graph)
        t = report.target
        key = f"{t['namespace']}/{t['name']}" if t["kind"] == "Pod" else f"{t['kind']}/{t['namespace']}/{t['name']}"
        tree = render_tree(g, key)
        console = _console(no_color)
        if redactor is None:
            render_text(report, console=console, tree=tree, verbose=verbose)
        else:
            with console.capture() as captured:
                render_text(report, console=console, tree=tree, verbose=verbose)
            _echo(captured.get(), redactor)
    sys.exit(EXIT_BLOCKED if report.blocked else EXIT_OK)


def _add_cgroup_stats(extra: Any, paths: tuple[str, ...]) -> None:
    if not paths:
        return
    from .nodestats import load_node_stats

    extra.cgroup_stats_requested = True
    extra.cgroup_stats.extend(load_node_stats(p) for p in paths)


def _add_scheduler_logs(extra: Any, paths: tuple[str, ...]) -> None:
    if not paths:
        return
    from .evidence.schedlog import parse_log

    extra.scheduler_logs_requested = True
    for path in paths:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise InputError(f"cannot read scheduler log {path}: {exc.strerror or exc}") from None
        extra.scheduler_logs.append(parse_log(text, "stdin" if path == "-" else path))


def _fetch_scheduler_logs(extra: Any, kubeconfig: str | None, context: str | None, timeout: float) -> None:
    from .collect.live import fetch_scheduler_logs
    from .evidence.schedlog import parse_log

    extra.scheduler_logs_requested = True
    fetched, note = fetch_scheduler_logs(kubeconfig, context, timeout, tail_lines=20000)
    extra.scheduler_logs.extend(parse_log(text, name) for name, text in fetched)
    extra.scheduler_logs_note = note


def _default_namespace(kubeconfig: str | None, context: str | None) -> str:
    """The kubeconfig context's namespace, like kubectl; 'default' otherwise."""
    try:
        from kubernetes import config

        contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        chosen = next((c for c in contexts if c.get("name") == context), active) if context else active
        ns = (chosen or {}).get("context", {}).get("namespace")
        return ns or "default"
    except Exception:  # no kubeconfig (in-cluster) or unreadable: the collector reports that precisely
        sa_ns = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        return sa_ns.read_text().strip() if sa_ns.exists() else "default"


@main.command()
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Namespace to read (repeatable).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Read every namespace.")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False),
              help="Snapshot file to write (.json or .json.gz).")
@click.option("--from", "from_path", default=None, help="Convert files instead of reading the live cluster.")
@cluster_options
@redact_option
@guarded
def snapshot(namespaces: tuple[str, ...], all_namespaces: bool, out: str, from_path: str | None,
             kubeconfig: str | None, context: str | None, timeout: float, deadline: float = 120.0,
             redact: bool = False) -> None:
    """Write what explain needs to a snapshot file that --from reads back. Never includes Secret data."""
    from .loaders.snapshot_file import write_snapshot

    if from_path and redact:
        # Redacting files someone already has (a kubectl dump) is what --redact is for: allowed here.
        from .redact import load_redacted_files

        _write_redacted(load_redacted_files(from_path), out)
        return
    if from_path:
        # kubectl dumps, folders, cluster-info dumps -> one podtriage snapshot file (trimmed: no
        # Secret data, no annotations podtriage does not read).
        from .loaders.files import load_raw

        raw = load_raw(from_path)
        count = write_snapshot(raw.items, out, meta=raw.header)
        click.echo(f"wrote {out}: {count} objects from {from_path}"
                   + (f" ({len(raw.warnings)} warning(s); the first: {raw.warnings[0]})" if raw.warnings else ""),
                   err=True)
        return
    from .collect.live import collect_live

    if namespaces and all_namespaces:
        raise InputError("use either -n or -A, not both")
    ns_list = None if all_namespaces else (list(namespaces) or [_default_namespace(kubeconfig, context)])
    result = collect_live(kubeconfig=kubeconfig, context=context, namespaces=ns_list, scope="namespace",
                          timeout=timeout, keep_raw=True, deadline=deadline)
    snap = result.snapshot
    from .collect.live import require_pods

    require_pods(snap, ns_list)  # a snapshot without the pods is no snapshot: exit 3, nothing written
    meta = {"source": "live", "cluster": {"server": snap.meta.cluster_server, "context": snap.meta.context,
                                          "version": snap.meta.server_version},
            "collected": sorted(snap.meta.collected), "namespaces": list(snap.meta.namespaces),
            "missing": [{"resource": x.resource, "namespace": x.namespace, "reason": x.reason}
                        for x in snap.meta.missing],
            # what the collector inferred about running schedulers; explain --from needs it too
            "schedulerNames": list(snap.meta.scheduler_names) if snap.meta.scheduler_names is not None else None}
    if redact:
        from .redact import build_redacted

        _write_redacted(build_redacted(result.raw_items or [], meta, warnings=snap.meta.warnings), out)
        return
    write_snapshot(result.raw_items or [], out, meta=meta)
    click.echo(f"wrote {out}: {len(snap.pods)} pods, {len(snap.nodes)} nodes, {len(snap.events)} events"
               + (f"; could not read: {', '.join(sorted({x.resource for x in snap.meta.missing}))}"
                  if snap.meta.missing else ""), err=True)


def _write_redacted(red: Any, out: str) -> None:
    """`snapshot --redact`: the redacted objects, after the final check, and a one-line summary."""
    from .loaders.snapshot_file import write_snapshot

    items, hits = [], 0
    for obj in red.items:
        clean, n = red.redactor.scrub_object(obj)
        items.append(clean)
        hits += n
    if hits:
        click.echo(f"warning: --redact: the final check replaced {hits} leftover occurrence(s) of original names",
                   err=True)
    write_snapshot(items, out, meta=red.header)
    snap = red.snapshot
    click.echo(f"wrote {out} (redacted): {len(snap.pods)} pods, {len(snap.nodes)} nodes, {len(snap.events)} events"
               + (f"; could not read: {', '.join(sorted({x.resource for x in snap.meta.missing}))}"
                  if snap.meta.missing else ""), err=True)


@main.command("node-stats")
@click.option("--cgroup-root", default="/sys/fs/cgroup", show_default=True, type=click.Path(file_okay=False),
              help="The cgroup mount to read; /host/sys/fs/cgroup inside `kubectl debug node/NAME`.")
@click.option("-o", "--output", "out", default="-", type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write (.json or .json.gz); '-' (default) for stdout.")
@click.option("--node", default=None, help="Node name to record (default: $NODE_NAME, else the hostname).")
@guarded
def node_stats(cgroup_root: str, out: str, node: str | None) -> None:
    """On a node: write pod and container cgroup memory stats (limit, usage, peak, failcnt, OOM kills).

    \b
    Needs read access to the node's cgroup filesystem: run it on the node, in a DaemonSet with
    /sys/fs/cgroup mounted, or via `kubectl debug node/NAME -it --image=...` (the host's cgroups are
    then at /host/sys/fs/cgroup). Feed the file to `podtriage explain --cgroup-stats FILE`.
    """
    from .nodestats import collect_node_stats, write_node_stats

    doc = collect_node_stats(cgroup_root, node=node)
    write_node_stats(doc, out)
    for w in doc["warnings"]:
        click.echo(f"warning: {w}", err=True)
    if out != "-":
        n_containers = sum(len(p["containers"]) for p in doc["pods"])
        layout = doc["driver"] or "no kubelet layout found"
        click.echo(f"wrote {out}: node {doc['node']}, cgroup v{doc['cgroupVersion']} ({layout}), "
                   f"{len(doc['pods'])} pods, {n_containers} containers", err=True)


@main.command()
@click.option("-n", "--namespace", "namespaces", multiple=True, help="Audit this namespace (repeatable).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Audit every namespace (the default).")
@click.option("-l", "--selector", default="", help="Only pods (and workload templates) with these labels.")
@click.option("--from", "from_path", default=None, help="Audit a snapshot or files instead of the live cluster.")
@cluster_options
@click.option("-o", "--output", type=click.Choice(["html", "markdown", "markdown-short", "json", "junit", "prometheus"]),
              default="markdown", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write the report to this file (atomically) instead of stdout.")
@click.option("--previous", type=click.Path(dir_okay=False), default=None,
              help="An earlier `audit -o json` report: show what is new, resolved and persisting.")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="Audit config (YAML): suppressions with reason and expiry, failOn.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info", "none"]), default=None,
              help="Exit 1 when an unsuppressed blocking finding at or above this severity exists "
                   "[default: critical; none: never].")
@click.option("--prometheus-textfile", type=click.Path(dir_okay=False), default=None,
              help="Also write metrics here (atomic rename) for node-exporter's textfile collector.")
@click.option("--pushgateway", default=None, help="Also PUT the metrics to this Pushgateway URL (job podtriage).")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add the rules in this folder (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar (it only shows on a terminal anyway).")
@redact_option
@guarded
def audit(namespaces: tuple[str, ...], all_namespaces: bool, selector: str, from_path: str | None,
          kubeconfig: str | None, context: str | None, timeout: float, deadline: float, output: str, out: str | None,
          previous: str | None, config: str | None, fail_on: str | None, prometheus_textfile: str | None,
          pushgateway: str | None, rules_dirs: tuple[str, ...], no_progress: bool, redact: bool = False) -> None:
    """Report every Pending pod of the cluster, grouped by root cause (docs/audit.md).

    \b
    Exit codes: 0 nothing at or above --fail-on, 1 an unsuppressed blocking finding at or above
    --fail-on, 2 usage or input error, 3 cluster or Pushgateway error.
    """
    from .audit.command import AuditArgs, run

    code = run(AuditArgs(namespaces=namespaces, all_namespaces=all_namespaces, selector=selector,
                         from_path=from_path, output=output, out=out, previous=previous, config=config,
                         fail_on=fail_on, prometheus_textfile=prometheus_textfile, pushgateway=pushgateway,
                         rules_dirs=rules_dirs, no_progress=no_progress, kubeconfig=kubeconfig, context=context,
                         timeout=timeout, deadline=deadline, redact=redact),
               stdout=lambda text: click.echo(text, nl=False))
    sys.exit(code)


@main.group()
def rules() -> None:
    """List, show and validate root-cause rules."""


@rules.command("list")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False))
@guarded
def rules_list(rules_dirs: tuple[str, ...]) -> None:
    """Every rule: id, category, severity, title."""
    rs = _rules(rules_dirs)
    for r in sorted(rs.rules, key=lambda r: (r.category, r.id)):
        click.echo(f"{r.id:34} {r.category:30} {r.severity:9} {r.title}")


@rules.command("show")
@click.argument("rule_id")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False))
@guarded
def rules_show(rule_id: str, rules_dirs: tuple[str, ...]) -> None:
    """A rule's documentation: what it means, why the pod stays Pending, an example, the fix."""
    r = _rules(rules_dirs).get(rule_id)
    click.echo(f"{r.id} ({r.category}, {r.severity})\n{r.title}\n")
    doc = dict(r.doc or {})
    for heading, key in (("What it means", "what"), ("Why the pod stays Pending", "why"),
                         ("Example", "example"), ("Fix", "fix")):
        if doc.get(key):
            click.echo(f"## {heading}\n{str(doc[key]).rstrip()}\n")
    click.echo(f"matches signal: {r.signal}" + (f" when {dict(r.when)}" if r.when else ""))
    click.echo(f"message: {r.message}\nfix: {r.fix}")
    if r.fix_command:
        click.echo(f"fix command: {r.fix_command}")
    for ref in r.references:
        click.echo(f"see: {ref}")
    click.echo(f"defined in: {r.path}:{r.line}")


@rules.command("validate")
@click.argument("directory", type=click.Path())
@guarded
def rules_validate(directory: str) -> None:
    """Check every rule file in DIRECTORY; print file:line: field: problem for each error."""
    from .rulebook import validate_dir

    if not Path(directory).is_dir():
        raise InputError(f"{directory}: not a directory")
    problems = validate_dir(directory)
    for p in problems:
        click.echo(str(p.message), err=True)
    if problems:
        sys.exit(EXIT_USAGE)
    click.echo(f"{directory}: all rules valid")


# Objects a command hands over to process exit (see entry()): with a 150,000-pod snapshot, freeing
# them one reference at a time costs longer than writing the report.
_KEEP_UNTIL_EXIT: list[Any] = []
_FAST_EXIT = False


def keep_until_exit(*objs: Any) -> None:
    """Let process exit reclaim these instead of freeing them (only under entry())."""
    if _FAST_EXIT:
        _KEEP_UNTIL_EXIT.extend(objs)


def entry() -> None:
    """The console scripts (`podtriage`, `kubectl-podtriage`): the CLI, then an exit that skips the
    interpreter's teardown of a large snapshot, once stdout and stderr are flushed. (In-process
    callers, like the tests' CliRunner, use `main` and keep the normal exit.)"""
    global _FAST_EXIT
    _FAST_EXIT = True
    try:
        main()
    except SystemExit as exc:
        # Still inside the handler: the traceback keeps the command's frame (and its snapshot)
        # alive, so nothing is freed before os._exit.
        code = exc.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code
        else:
            print(code, file=sys.stderr)
            status = 1
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass
        os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    # `python -m podtriage.cli`: run the importable module's entry, not this __main__ copy's, so
    # that commands importing podtriage.cli (keep_until_exit) see the same fast-exit flag.
    from podtriage.cli import entry as _entry

    _entry()
