"""The Kubernetes objects a container's command line waits for.

Init containers that hold a pod until something else is ready name what they wait for:
`k8s-wait-for job NAME` (groundnuty/k8s-wait-for), `kubectl wait --for=condition=complete
job/NAME -n NS`, `until nc -z postgres.data.svc 5432`. Snapshots keep these references
(`x-podtriage-waits`) and never the command line, which may hold credentials.
"""

from __future__ import annotations

import re

_KUBECTL_REF = re.compile(r"\b(job|jobs|pod|pods|deployment|deploy|statefulset|sts)/([a-z0-9][-a-z0-9.]*)")
_DNS_SERVICE = re.compile(r"\b([a-z0-9][-a-z0-9]*)\.([a-z0-9][-a-z0-9]*)\.svc(?:\.cluster\.local)?\b")
_WAIT_FOR_KINDS = {"job": "Job", "job-wr": "Job", "pod": "Pod", "service": "Service", "pod-wr": "Pod"}
_KINDS = {"job": "Job", "jobs": "Job", "pod": "Pod", "pods": "Pod", "deployment": "Deployment",
          "deploy": "Deployment", "statefulset": "StatefulSet", "sts": "StatefulSet"}


def parse_references(command: tuple[str, ...], args: tuple[str, ...], image: str) -> list[tuple[str, str, str]]:
    """The objects a command line names, (kind, namespace or "" for the pod's own, name)."""
    words = [*command, *args]
    out: list[tuple[str, str, str]] = []
    # k8s-wait-for: [job|job-wr|pod|pod-wr|service] NAME-or-selector
    wait_for = "wait" in (image + " ".join(command)).lower()
    for i, w in enumerate(words[:-1]):
        kind = _WAIT_FOR_KINDS.get(w)
        if kind and (wait_for or i == 0):
            out.append((kind, "", words[i + 1]))
    text = " ".join(words)
    ns_flag = re.search(r"(?:-n|--namespace)[ =]([a-z0-9][-a-z0-9]*)", text)
    ns = ns_flag.group(1) if ns_flag else ""
    for kind, name in _KUBECTL_REF.findall(text):
        out.append((_KINDS[kind], ns, name))
    for name, svc_ns in _DNS_SERVICE.findall(text):
        out.append(("Service", svc_ns, name))
    return list(dict.fromkeys(out))


def refs_document(refs: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """The `x-podtriage-waits` list a snapshot stores for a container."""
    return [{"kind": kind, "namespace": ns, "name": name} for kind, ns, name in refs]


def container_refs(ct: dict) -> list[tuple[str, str, str]]:
    """The references of one container object: its stored `x-podtriage-waits`, else its command."""
    stored = ct.get("x-podtriage-waits")
    if isinstance(stored, list):
        return [(str(d.get("kind", "")), str(d.get("namespace", "")), str(d.get("name", "")))
                for d in stored if isinstance(d, dict)]
    command, args = ct.get("command"), ct.get("args")
    command = tuple(str(w) for w in command) if isinstance(command, list) else ()
    args = tuple(str(w) for w in args) if isinstance(args, list) else ()
    if not command and not args:
        return []
    image = ct.get("image")
    return parse_references(command, args, image if isinstance(image, str) else "")


__all__ = ["container_refs", "parse_references", "refs_document"]
