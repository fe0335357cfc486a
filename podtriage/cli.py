"""Command line: `podtriage explain|snapshot|rules`, also installed as `kubectl-podtriage`.

The CLI is the only place that turns PodtriageError into a message and an exit code.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from datetime import datetime
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
                   deadline: float | None = None, live: Any = None) -> Snapshot:
    if from_path:
        from .loaders.files import load_path

        return load_path(from_path)
    from .collect.live import DEFAULT_DEADLINE, collect_live, require_pods

    result = collect_live(kubeconfig=kubeconfig, context=context,
                          namespaces=[namespace] if namespace else None, scope=scope, timeout=timeout,
                          deadline=deadline or DEFAULT_DEADLINE, options=live)
    # Without the target namespace's pods there is nothing to explain, and "pod not found" would
    # be wrong: say what could not be read (exit 3: forbidden, unavailable, timed out), not that
    # the pod does not exist (exit 2). Anything else missing gives a partial answer that says so.
    require_pods(result.snapshot, [namespace] if namespace else None)
    return result.snapshot


def _load_redacted(from_path: str | None, namespace: str | None, kubeconfig: str | None, context: str | None,
                   timeout: float, scope: Literal["pod", "namespace", "all"], deadline: float | None = None,
                   live: Any = None) -> Any:
    """`--redact`: the snapshot with every name replaced by a placeholder (podtriage/redact.py)."""
    from .redact import load_redacted_files, load_redacted_live

    if from_path:
        return load_redacted_files(from_path)
    return load_redacted_live(kubeconfig=kubeconfig, context=context, namespaces=[namespace] if namespace else None,
                              scope=scope, timeout=timeout, deadline=deadline, options=live)


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


_KUBECTL_V = re.compile(r"^-v=?(\d+)$")


def _kubectl_args(args: list[str]) -> list[str]:
    """kubectl's `-v=6` / `-v6` (log level) next to podtriage's `-v` flag: read as `--v=6`."""
    out: list[str] = []
    for i, a in enumerate(args):
        if a == "--":
            return out + args[i:]
        m = _KUBECTL_V.match(a)
        out.append(f"--v={m.group(1)}" if m else a)
    return out


class _Command(click.Command):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _kubectl_args(args))


class _Group(click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="podtriage")
def main() -> None:
    """Explain why a Kubernetes pod is Pending: per-node scheduler truth fused with the event timeline.

    \b
    Exit codes: 0 not blocked, 1 a blocking root cause was found, 2 usage or input error,
    3 cluster/API error, 4 internal error.
    """


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """kubectl's durations -> seconds: `30s`, `1m30s`, `500ms`, `2h`; a bare number is seconds."""
    t = str(text).strip()
    try:
        value = float(t)
    except ValueError:
        pass
    else:
        if value < 0 or value != value or value == float("inf"):
            raise ValueError(f"{text!r} is not a duration")
        return value
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(t):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if not t or pos != len(t):
        raise ValueError(f"{text!r} is not a duration (use e.g. 30s, 1m30s, 500ms or 2h; a bare number is seconds)")
    return total


class Duration(click.ParamType):
    """A kubectl-style duration, in seconds; `positive` refuses 0."""

    name = "duration"

    def __init__(self, positive: bool = False) -> None:
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            try:
                seconds = parse_duration(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        if self.positive and seconds <= 0:
            self.fail(f"{value!r} must be more than 0", param, ctx)
        return seconds


def live_options(params: dict[str, Any]) -> Any:
    """LiveOptions from the cluster options' values (the commands, and shell completion)."""
    from .collect.live import Impersonation, LiveOptions

    level = int(params.get("log_level") or 0)

    def log(line: str) -> None:
        click.echo(f"I{datetime.now().strftime('%m%d %H:%M:%S.%f')} podtriage] {line}", err=True)

    return LiveOptions(impersonate=Impersonation(user=params.get("as_user") or "",
                                                 groups=tuple(params.get("as_groups") or ()),
                                                 uid=params.get("as_uid") or ""),
                       read_secrets=params.get("read_secrets", True) is not False,
                       verbosity=level, log=log if level >= 6 else None)


_cluster_options = [
    click.option("--kubeconfig", type=click.Path(dir_okay=False), default=None, envvar="KUBECONFIG",
                 help="Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config; in-cluster when run in a pod)."),
    click.option("--context", default=None, help="The kubeconfig context to use."),
    click.option("--as", "as_user", default=None, metavar="USER",
                 help="Username to impersonate for the requests (needs `impersonate` RBAC, like kubectl)."),
    click.option("--as-group", "as_groups", multiple=True, metavar="GROUP",
                 help="Group to impersonate (repeatable; needs --as)."),
    click.option("--as-uid", "as_uid", default=None, metavar="UID", help="UID to impersonate (needs --as)."),
    click.option("--request-timeout", "timeout", type=Duration(), default="30s", show_default=True,
                 help="How long to wait for each API request, e.g. 30s, 1m; 0 waits as long as --timeout allows."),
    click.option("--timeout", "deadline", type=Duration(positive=True), default="2m", show_default=True,
                 help="Total time for reading the cluster, retries included; what is not read by then is "
                      "reported as missing."),
    click.option("--secrets/--no-secrets", "read_secrets", default=True, show_default=True,
                 envvar="PODTRIAGE_SECRETS", show_envvar=True,
                 help="List Secrets (metadata only: names, never data) to verify the ones pods reference. "
                      "--no-secrets needs no RBAC on Secrets; their existence is then reported as not verified."),
    click.option("--v", "log_level", type=click.IntRange(min=0), default=0, metavar="LEVEL",
                 help="Log level like kubectl's -v=LEVEL: 6 logs every API request, 7 its headers, 8 the "
                      "response bodies (on stderr)."),
]


def cluster_options(fn):
    """The kubectl-style cluster flags; the command gets kubeconfig, context, timeout, deadline and
    `live` (LiveOptions: impersonation, Secrets or not, request logging)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        params = {k: kwargs.pop(k) for k in ("as_user", "as_groups", "as_uid", "read_secrets", "log_level")}
        if (params["as_groups"] or params["as_uid"]) and not params["as_user"]:
            raise click.UsageError("--as-group and --as-uid need --as (the user to impersonate)")
        return fn(*args, live=live_options(params), **kwargs)

    for opt in reversed(_cluster_options):
        wrapper = opt(wrapper)
    return wrapper


def _complete_namespace(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from .completion import complete_namespace

    return complete_namespace(ctx, param, incomplete)


def _complete_path(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(incomplete, type="file")]  # the shell completes file names


def _complete_target(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from .completion import complete_target

    return complete_target(ctx, param, incomplete)


@main.command()
@click.argument("target", shell_complete=_complete_target)
@click.option("-n", "--namespace", default=None, shell_complete=_complete_namespace,
              help="Namespace of the target (optional offline when unique).")
@click.option("--from", "from_path", type=str, default=None, shell_complete=_complete_path,
              help="Read a snapshot instead of the live cluster: a kubectl get -o yaml|json List, multi-document "
                   "YAML, a folder, a kubectl cluster-info dump folder or a podtriage snapshot.")
@cluster_options
@click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text", show_default=True)
@click.option("--no-color", is_flag=True, help="Plain text output.")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add the rules in this folder (repeatable); they can override built-in rules.")
@click.option("--graph", "graph_format", type=click.Choice(["mermaid", "dot"]), default=None,
              help="Print the causal graph in this format instead of the report.")
@click.option("-v", "--verbose", is_flag=True,
              help="Show every node group and every scheduling attempt (-v=LEVEL is kubectl's log level: --v).")
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
            redact: bool = False, live: Any = None) -> None:
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
        red = _load_redacted(from_path, namespace, kubeconfig, context, timeout, scope, deadline, live)
        snapshot, redactor = red.snapshot, red.redactor
        target, namespace = redactor.target(target), redactor.namespace(namespace)
    else:
        snapshot = _load_snapshot(from_path, namespace, kubeconfig, context, timeout, scope, deadline, live)
    if fetch_scheduler_logs:
        _fetch_scheduler_logs(extra, kubeconfig, context, timeout, live)
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


def _fetch_scheduler_logs(extra: Any, kubeconfig: str | None, context: str | None, timeout: float,
                          live: Any = None) -> None:
    from .collect.live import fetch_scheduler_logs
    from .evidence.schedlog import parse_log

    extra.scheduler_logs_requested = True
    fetched, note = fetch_scheduler_logs(kubeconfig, context, timeout, tail_lines=20000, options=live)
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
@click.option("-n", "--namespace", "namespaces", multiple=True, shell_complete=_complete_namespace,
              help="Namespace to read (repeatable).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Read every namespace.")
@click.option("-o", "--output", "out", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Snapshot file to write (.json or .json.gz); '-' writes JSON to stdout.")
@click.option("--from", "from_path", default=None, shell_complete=_complete_path,
              help="Convert files instead of reading the live cluster.")
@cluster_options
@redact_option
@guarded
def snapshot(namespaces: tuple[str, ...], all_namespaces: bool, out: str, from_path: str | None,
             kubeconfig: str | None, context: str | None, timeout: float, deadline: float = 120.0,
             redact: bool = False, live: Any = None) -> None:
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
        click.echo(f"wrote {_shown(out)}: {count} objects from {from_path}"
                   + (f" ({len(raw.warnings)} warning(s); the first: {raw.warnings[0]})" if raw.warnings else ""),
                   err=True)
        return
    from .collect.live import collect_live

    if namespaces and all_namespaces:
        raise InputError("use either -n or -A, not both")
    ns_list = None if all_namespaces else (list(namespaces) or [_default_namespace(kubeconfig, context)])
    result = collect_live(kubeconfig=kubeconfig, context=context, namespaces=ns_list, scope="namespace",
                          timeout=timeout, keep_raw=True, deadline=deadline, options=live)
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
    click.echo(f"wrote {_shown(out)}: {len(snap.pods)} pods, {len(snap.nodes)} nodes, {len(snap.events)} events"
               + (f"; could not read: {', '.join(sorted({x.resource for x in snap.meta.missing}))}"
                  if snap.meta.missing else ""), err=True)


def _shown(out: str) -> str:
    return "stdout" if out == "-" else out


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
    click.echo(f"wrote {_shown(out)} (redacted): {len(snap.pods)} pods, {len(snap.nodes)} nodes, {len(snap.events)} events"
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
@click.option("-n", "--namespace", "namespaces", multiple=True, shell_complete=_complete_namespace,
              help="Audit this namespace (repeatable).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Audit every namespace (the default).")
@click.option("-l", "--selector", default="", help="Only pods (and workload templates) with these labels.")
@click.option("--from", "from_path", default=None, shell_complete=_complete_path,
              help="Audit a snapshot or files instead of the live cluster.")
@cluster_options
@click.option("-o", "--output", type=click.Choice(["html", "markdown", "markdown-short", "json", "junit", "prometheus"]),
              default="markdown", show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Write the report to this file (atomically) instead of stdout ('-': stdout).")
@click.option("--previous", type=click.Path(dir_okay=False), default=None,
              help="An earlier `audit -o json` report: show what is new, resolved and persisting.")
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="Audit config (YAML): suppressions with reason and expiry, failOn.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info", "none"]), default=None,
              help="Exit 1 when an unsuppressed blocking finding at or above this severity exists "
                   "[default: critical; none: never].")
@click.option("--prometheus-textfile", type=click.Path(dir_okay=False), default=None,
              help="Also write metrics here (atomic rename) for node-exporter's textfile collector.")
@click.option("--pushgateway", default=None,
              help="Also PUT the metrics to this Pushgateway URL (grouping key job=podtriage, and cluster=NAME "
                   "with --cluster).")
@click.option("--cluster", "cluster", default="", metavar="NAME",
              help="This cluster's name: a `cluster` label on every metric and in the Pushgateway grouping key, "
                   "so that several clusters pushing to one Pushgateway do not overwrite each other.")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add the rules in this folder (repeatable).")
@click.option("--no-progress", is_flag=True, help="No progress bar (it only shows on a terminal anyway).")
@redact_option
@guarded
def audit(namespaces: tuple[str, ...], all_namespaces: bool, selector: str, from_path: str | None,
          kubeconfig: str | None, context: str | None, timeout: float, deadline: float, output: str, out: str | None,
          previous: str | None, config: str | None, fail_on: str | None, prometheus_textfile: str | None,
          pushgateway: str | None, rules_dirs: tuple[str, ...], no_progress: bool, redact: bool = False,
          cluster: str = "", live: Any = None) -> None:
    """Report every Pending pod of the cluster, grouped by root cause (docs/audit.md).

    \b
    Exit codes: 0 nothing at or above --fail-on, 1 an unsuppressed blocking finding at or above
    --fail-on, 2 usage or input error, 3 cluster or Pushgateway error.
    """
    from .audit.command import AuditArgs, run

    code = run(AuditArgs(namespaces=namespaces, all_namespaces=all_namespaces, selector=selector,
                         from_path=from_path, output=output, out=None if out == "-" else out, previous=previous,
                         config=config, fail_on=fail_on, prometheus_textfile=prometheus_textfile,
                         pushgateway=pushgateway, rules_dirs=rules_dirs, no_progress=no_progress,
                         kubeconfig=kubeconfig, context=context, timeout=timeout, deadline=deadline, redact=redact,
                         cluster=cluster, live=live),
               stdout=lambda text: click.echo(text, nl=False))
    sys.exit(code)


@main.command()
@click.option("-n", "--namespace", "namespaces", multiple=True, shell_complete=_complete_namespace,
              help="Watch this namespace (repeatable).")
@click.option("-A", "--all-namespaces", is_flag=True, help="Watch every namespace (the default).")
@click.option("-l", "--selector", default="", help="Only pods (and workload templates) with these labels.")
@click.option("--listen", default=":9417", show_default=True, metavar="HOST:PORT",
              help="Address of the HTTP server (/metrics, /api/v1/findings, /api/v1/explain/NS/POD, /healthz, "
                   "/readyz).")
@click.option("--per-pod-metrics", is_flag=True,
              help="Also export podtriage_pending_pod_info per Pending pod (one series per pod: opt-in).")
@click.option("--refresh", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="Diagnose a quiet cluster again this often, so ages and time-dependent answers stay "
                   "current (0: only after changes).")
@cluster_options
@click.option("--config", type=click.Path(dir_okay=False), default=None,
              help="Audit config (YAML): suppressions with reason and expiry, failOn.")
@click.option("--fail-on", type=click.Choice(["critical", "high", "medium", "low", "info", "none"]), default=None,
              help="The findings document's `failing` list, as audit's --fail-on [default: critical].")
@click.option("--rules", "rules_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Add the rules in this folder (repeatable).")
@guarded
def watch(namespaces: tuple[str, ...], all_namespaces: bool, selector: str, listen: str, per_pod_metrics: bool,
          refresh: float, kubeconfig: str | None, context: str | None, timeout: float, deadline: float, config: str | None,
          fail_on: str | None, rules_dirs: tuple[str, ...], live: Any = None) -> None:
    """Keep diagnosing Pending pods from watches, and serve the answers over HTTP (docs/watch.md).

    \b
    The same answers as `podtriage audit -o json` and `explain -o json`, re-diagnosed after each
    change, and Prometheus metrics for alerting. Runs until SIGTERM (exit 0) or
    Ctrl-C (130). Exit codes at start: 2 usage error or --listen address in use, 3 cluster error.
    """
    from .watch.command import WatchArgs, run

    sys.exit(run(WatchArgs(namespaces=namespaces, all_namespaces=all_namespaces, selector=selector, listen=listen,
                           per_pod_metrics=per_pod_metrics, kubeconfig=kubeconfig, context=context,
                           timeout=timeout, deadline=deadline, rules_dirs=rules_dirs, config=config,
                           fail_on=fail_on, live=live, refresh=refresh)))


@main.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script for SHELL (bash, zsh or fish).

    \b
    It completes commands, options, namespaces (-n) and explain's pod and KIND/NAME targets, from
    the cluster (kubeconfig, --context) or from the --from snapshot when one is on the command line.
      bash:  source <(podtriage completion bash)         # in ~/.bashrc
      zsh:   source <(podtriage completion zsh)          # in ~/.zshrc
      fish:  podtriage completion fish > ~/.config/fish/completions/podtriage.fish
    `kubectl podtriage <TAB>` completes through kubectl itself once `kubectl_complete-podtriage` is
    on PATH (pip and pipx install it; see the README for krew).
    """
    from .completion import script

    prog = "kubectl-podtriage" if _invoked_as_plugin() else "podtriage"
    click.echo(script(main, shell, prog), nl=False)


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


def _invoked_as_plugin() -> bool:
    """Run as `kubectl podtriage` (kubectl execs kubectl-podtriage; krew links it under that name)."""
    return Path(sys.argv[0] if sys.argv else "").name.startswith("kubectl-podtriage")


def kubectl_complete_entry() -> None:
    """`kubectl_complete-podtriage ARGS... WORD`: kubectl's plugin completion (completion.py)."""
    from .completion import kubectl_complete

    kubectl_complete(main)


def entry() -> None:
    """The console scripts (`podtriage`, `kubectl-podtriage`, `kubectl_complete-podtriage`): the CLI,
    then an exit that skips the interpreter's teardown of a large snapshot, once stdout and stderr
    are flushed. (In-process callers, like the tests' CliRunner, use `main` and keep the normal exit.)"""
    global _FAST_EXIT
    if Path(sys.argv[0] if sys.argv else "").name.startswith("kubectl_complete-"):
        # The same executable linked as kubectl_complete-podtriage (krew installs one file).
        kubectl_complete_entry()
        return
    _FAST_EXIT = True
    try:
        from .completion import COMPLETE_VAR

        # As a kubectl plugin, usage lines read `kubectl podtriage ...`, as the user typed them.
        main(prog_name="kubectl podtriage" if _invoked_as_plugin() else "podtriage", complete_var=COMPLETE_VAR)
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
