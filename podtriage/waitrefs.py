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


# Words of a command line that are shown as they are: what a wait loop is made of. Anything else
# (values, hosts, paths, scripts' other words) may be a credential and is shown as "…".
_SHOWN_WORDS = frozenset({
    "sh", "bash", "ash", "/bin/sh", "/bin/bash", "-c", "-ec", "-euc", "-ex", "until", "while", "do", "done", "if",
    "then", "else", "fi", "sleep", "true", "false", "exit", "nc", "-z", "-w", "nslookup", "getent", "hosts", "curl",
    "-f", "-s", "-sf", "-fsS", "wget", "-q", "-O-", "--spider", "kubectl", "wait", "get", "rollout", "status",
    "k8s-wait-for", "wait_for.sh", "pg_isready", "redis-cli", "ping", ";", "&&", "||", "!", "[", "]", "job",
    "job-wr", "pod", "pod-wr", "service", "--all", "-h", "-p"})
# Flags whose value is shown (the value says what is waited for, never a credential).
_SHOWN_VALUE_FLAGS = frozenset({"--for", "--timeout", "-n", "--namespace", "-l", "--selector", "--watch"})
_NUMBER = re.compile(r"^\d{1,5}[smh]?$")  # a port, a sleep
_FLAG = re.compile(r"^(?:-[A-Za-z]|--[A-Za-z][-A-Za-z0-9]*)$")  # -z, --spider; never -pVALUE
_TOKEN = re.compile(r"[;&|]{1,2}|[^\s;&|]+")
ELIDED = "…"


def shown_command(command: tuple[str, ...], args: tuple[str, ...], image: str = "") -> str:
    """The command line as the answer shows it: its program, flags, numbers, the objects it names
    and the words wait loops are made of; every other word (a value, a host, a password) is "…".
    'sh -c "until nc -z postgres.data.svc 5432; do … sleep 2; done"'."""
    refs = {w for kind, ns, name in parse_references(command, args, image)
            for w in (name, f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local") if name} | \
        {f"{k}/{name}" for k, _ns, name in parse_references(command, args, image)
         for k in ("job", "jobs", "pod", "pods", "deployment", "deploy", "statefulset", "sts")}
    out: list[str] = []
    words = [*command, *args]
    for i, word in enumerate(words):
        tokens = _TOKEN.findall(word)
        shown: list[str] = []
        prev = words[i - 1] if i and len(_TOKEN.findall(words[i - 1])) == 1 else ""
        for j, tok in enumerate(tokens):
            before = tokens[j - 1] if j else prev
            keep = (
                (i == 0 and j == 0 and bool(command))  # the program
                or tok in _SHOWN_WORDS or tok in refs or _NUMBER.match(tok) is not None
                or _FLAG.match(tok) is not None  # a flag's name; its value is judged on its own
                or (before in _SHOWN_VALUE_FLAGS and re.match(r"^[-A-Za-z0-9_.=,/]+$", tok) is not None)
            )
            if not keep and "=" in tok and tok.startswith("-"):
                flag, _, value = tok.partition("=")
                keep_value = flag in _SHOWN_VALUE_FLAGS and re.match(r"^[-A-Za-z0-9_.=,/]+$", value) is not None
                shown.append(f"{flag}={value if keep_value else ELIDED}" if _FLAG.match(flag) else ELIDED)
                continue
            shown.append(tok if keep else ELIDED)
        text = _collapse(shown)
        out.append(f'"{text}"' if len(tokens) > 1 else text)
    return _collapse(out)


def _collapse(words: list[str]) -> str:
    out: list[str] = []
    for w in words:
        if w == ELIDED and out and out[-1] == ELIDED:
            continue
        out.append(w)
    return " ".join(out).replace(" ;", ";")


def container_summary(ct: dict) -> tuple[str, list[tuple[str, str, str]]]:
    """(shown command, references) of one container object: what a snapshot stored
    (`x-podtriage-command`, `x-podtriage-waits`), else computed from its command and args."""
    stored = ct.get("x-podtriage-waits")
    shown = ct.get("x-podtriage-command")
    if isinstance(stored, list) or isinstance(shown, str):
        refs = [(str(d.get("kind", "")), str(d.get("namespace", "")), str(d.get("name", "")))
                for d in (stored if isinstance(stored, list) else ()) if isinstance(d, dict)]
        return (shown if isinstance(shown, str) else ""), refs
    command, args = ct.get("command"), ct.get("args")
    command = tuple(str(w) for w in command) if isinstance(command, list) else ()
    args = tuple(str(w) for w in args) if isinstance(args, list) else ()
    if not command and not args:
        return "", []
    image = ct.get("image")
    image = image if isinstance(image, str) else ""
    return shown_command(command, args, image), parse_references(command, args, image)


def summary_document(shown: str, refs: list[tuple[str, str, str]]) -> dict[str, object]:
    """What a snapshot stores for an init container instead of its command line."""
    doc: dict[str, object] = {}
    if shown:
        doc["x-podtriage-command"] = shown
    if refs:
        doc["x-podtriage-waits"] = [{"kind": kind, "namespace": ns, "name": name} for kind, ns, name in refs]
    return doc


__all__ = ["ELIDED", "container_summary", "parse_references", "shown_command", "summary_document"]
