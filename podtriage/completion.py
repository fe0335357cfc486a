"""Shell completion: namespaces and pod/workload names from the cluster or the `--from` snapshot.

`podtriage completion bash|zsh|fish` prints the script for the shell (click's completion protocol
behind it); `kubectl podtriage` gets the same answers through kubectl's plugin completion: kubectl
runs `kubectl_complete-podtriage ARGS... WORD` and reads one candidate per line and a final
`:<directive>` line (cobra's protocol).

Completion must never hang or print an error into the shell: live lookups have a short deadline
(PODTRIAGE_COMPLETION_TIMEOUT seconds, default 5) and any failure gives no candidates.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from click.shell_completion import CompletionItem

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_PODTRIAGE_COMPLETE"
TIMEOUT_ENV = "PODTRIAGE_COMPLETION_TIMEOUT"

# KIND/NAME targets `explain` accepts, by the kind name shown in completions.
WORKLOAD_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet", "daemonset": "DaemonSet",
                  "replicaset": "ReplicaSet", "job": "Job", "cronjob": "CronJob"}

# cobra's ShellCompDirective values (kubectl's plugin completion reads them).
DIRECTIVE_DEFAULT = 0  # let the shell complete file names
DIRECTIVE_NO_SPACE = 2
DIRECTIVE_NO_FILE_COMP = 4
DIRECTIVE_FILTER_DIRS = 16


def _timeout() -> float:
    try:
        return max(float(os.environ.get(TIMEOUT_ENV, "") or 5.0), 0.1)
    except ValueError:
        return 5.0


def _root_params(ctx: click.Context) -> dict[str, Any]:
    return dict(ctx.params)


def _snapshot_names(path: str, namespace: str | None) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(namespaces, pods in `namespace` (all when None), workloads by kind) from a snapshot or files."""
    from .loaders.files import load_path

    snap = load_path(path)
    namespaces = sorted({p.namespace for p in snap.pods} | {w.namespace for w in snap.workloads}
                        | {n.name for n in snap.namespaces})
    pods = sorted(p.name for p in snap.pods if namespace is None or p.namespace == namespace)
    workloads: dict[str, list[str]] = {}
    for w in snap.workloads:
        if namespace is None or w.namespace == namespace:
            workloads.setdefault(w.kind, []).append(w.name)
    return namespaces, pods, {k: sorted(v) for k, v in workloads.items()}


def _live_names(params: dict[str, Any], kinds: tuple[str, ...], namespace: str | None) -> dict[str, list[str]]:
    from .cli import live_options
    from .collect import live

    wanted = {"Namespace": live.NAMESPACES, "Pod": live.PODS,
              **{r.kind: r for r in live.WORKLOAD_RESOURCES}}
    return live.list_names(params.get("kubeconfig") or os.environ.get("KUBECONFIG"), params.get("context"),
                           [wanted[k] for k in kinds], namespace, deadline=_timeout(),
                           options=live_options(params))


def _default_namespace(params: dict[str, Any]) -> str:
    from .cli import _default_namespace as default

    return default(params.get("kubeconfig") or os.environ.get("KUBECONFIG"), params.get("context"))


def complete_namespace(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """-n/--namespace: the snapshot's namespaces with --from, else the cluster's."""
    params = _root_params(ctx)
    try:
        if params.get("from_path"):
            names = _snapshot_names(params["from_path"], None)[0]
        else:
            names = _live_names(params, ("Namespace",), None).get("Namespace", [])
    except Exception:  # completion never fails loudly: no candidates instead
        return []
    return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def complete_target(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """explain's TARGET: pod names and KIND/NAME of workloads in the namespace (-n, else the default)."""
    params = _root_params(ctx)
    namespace = params.get("namespace")
    try:
        if params.get("from_path"):
            _, pods, workloads = _snapshot_names(params["from_path"], namespace)
        else:
            namespace = namespace or _default_namespace(params)
            kinds: tuple[str, ...] = ("Pod",)
            if "/" in incomplete:  # deploy/we<TAB>: only that kind's names
                from .analyze import KIND_ALIASES

                kind = KIND_ALIASES.get(incomplete.split("/", 1)[0].lower())
                kinds = (kind,) if kind and kind != "Pod" else ()
            else:
                kinds += tuple(WORKLOAD_KINDS.values())
            found = _live_names(params, kinds, namespace) if kinds else {}
            pods = found.pop("Pod", [])
            workloads = found
    except Exception:  # completion never fails loudly: no candidates instead
        return []
    if "/" in incomplete:
        prefix, _, _ = incomplete.partition("/")
        from .analyze import KIND_ALIASES

        kind = KIND_ALIASES.get(prefix.lower())
        names = pods if kind == "Pod" else workloads.get(kind or "", [])
        candidates = [f"{prefix}/{n}" for n in names]
    else:
        candidates = list(pods)
        for shown, kind in WORKLOAD_KINDS.items():
            candidates += [f"{shown}/{n}" for n in workloads.get(kind, [])]
    return [CompletionItem(c) for c in candidates if c.startswith(incomplete)]


def script(cli: click.Command, shell: str, prog_name: str) -> str:
    """The completion script for `shell`, for the program `prog_name` (podtriage, kubectl-podtriage)."""
    from click.shell_completion import get_completion_class

    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.BadParameter(f"unsupported shell {shell!r}")
    source: str = cls(cli, {}, prog_name, COMPLETE_VAR).source()
    return source


def kubectl_complete(cli: click.Command) -> None:
    """`kubectl_complete-podtriage ARGS... WORD`: kubectl's plugin completion protocol."""
    from click.shell_completion import ShellComplete

    args = sys.argv[1:]
    incomplete = args.pop() if args else ""
    comp = ShellComplete(cli, {}, "kubectl podtriage", COMPLETE_VAR)
    try:
        items = comp.get_completions(args, incomplete)
    except Exception:  # a broken command line: no candidates, the shell's default
        items = []
    directive = DIRECTIVE_NO_FILE_COMP
    lines = []
    for item in items:
        if item.type == "file":
            directive = DIRECTIVE_DEFAULT
            continue
        if item.type == "dir":
            directive = DIRECTIVE_FILTER_DIRS
            continue
        lines.append(item.value + (f"\t{item.help}" if item.help else ""))
    sys.stdout.write("".join(f"{line}\n" for line in lines) + f":{directive}\n")
