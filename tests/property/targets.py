"""Every fuzz target: a name, a strategy, and a check that holds podtriage to the contract in harness.py.

tests/property/test_targets.py runs each with the CI profile; benchmarks/fuzz.py runs each with
10,000 examples. A check receives one drawn example and raises AssertionError on a violation.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from podtriage import model as m
from podtriage.audit.command import render
from podtriage.audit.delta import compute_delta, load_previous
from podtriage.audit.model import AUDIT_KIND
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.audit.suppress import AuditConfig, load_config
from podtriage.diagnose.extra import ExtraEvidence
from podtriage.evidence import messages as msg
from podtriage.evidence.schedlog import parse_log, signals_for_pod
from podtriage.loaders.files import load_path
from podtriage.loaders.snapshot_file import API_VERSION, KIND, write_snapshot
from podtriage.nodestats import collect_node_stats, load_node_stats, node_stats_from_dict
from podtriage.quantity import QuantityError, parse_quantity, to_scheduler_units
from podtriage.rulebook import load_rules, parse_rule_file, validate_dir
from podtriage.snapshot import Snapshot

from .harness import allowed
from .strategies import (
    CGROUPS,
    QUANTITIES,
    RAW_TOKENS,
    RULES,
    huge_text,
    junk,
    mutated,
    object_set,
    spliced_text,
)

NOW = dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    what: str  # one line for the benchmark table and the README


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh directory per example (hypothesis runs examples many times in one test)."""
    d = Path(tempfile.mkdtemp(prefix="podtriage-fuzz-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- serialisation of hostile documents ---------------------------------------------------------

_JSON_TOKENS = {json.dumps(k): v for k, v in RAW_TOKENS.items()}
_YAML_TOKENS = {yaml.safe_dump(k, default_style='"').strip().removesuffix("\n..."): v
                for k, v in RAW_TOKENS.items()}


def to_json(doc: Any, indent: int | None = None) -> str:
    text = json.dumps(doc, indent=indent)  # NaN/Infinity included: Python's json reads them back
    for token, raw in _JSON_TOKENS.items():
        text = text.replace(token, raw)
    return text


def to_yaml(docs: list[Any]) -> str:
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    for token, raw in _YAML_TOKENS.items():
        text = text.replace(token, raw)
    return text


_FOLDER_NAME = re.compile(r"(?!\.)[A-Za-z0-9._-]{1,63}")  # what this test writes as a namespace folder


def write_form(form: str, items: list[Any], d: Path) -> Path:
    """Write items the way one of the supported inputs holds them; returns the path to load."""
    if form == "json-list":
        p = d / "objects.json"
        p.write_text(to_json({"apiVersion": "v1", "kind": "List", "items": items}, indent=1))
    elif form == "yaml-list":
        p = d / "objects.yaml"
        p.write_text(to_yaml([{"apiVersion": "v1", "kind": "List", "items": items}]))
    elif form == "yaml-multidoc":
        p = d / "objects.yaml"
        p.write_text(to_yaml(items))
    elif form == "json-stream":
        p = d / "objects.json"
        p.write_text("\n".join(to_json(i) for i in items) or "{}")
    elif form == "bare-array":
        p = d / "objects.json"
        p.write_text(to_json(items))
    elif form == "gzip":
        p = d / "objects.json.gz"
        p.write_bytes(gzip.compress(to_json({"kind": "List", "items": items}).encode()))
    elif form == "folder":
        p = d / "folder"
        (p / "sub").mkdir(parents=True)
        for i, obj in enumerate(items):
            where = p / "sub" if i % 2 else p
            (where / f"obj-{i}.yaml").write_text(to_yaml([obj]))
    elif form == "cluster-info-dump":
        p = d / "dump"
        by_file: dict[Path, list[Any]] = {}
        plural = {"Node": "nodes", "Pod": "pods", "Event": "events", "ReplicaSet": "replicasets",
                  "Deployment": "deployments", "DaemonSet": "daemonsets", "StatefulSet": "statefulsets"}
        for obj in items:
            kind = obj.get("kind") if isinstance(obj, dict) else None
            kind = kind if isinstance(kind, str) else None
            meta = obj.get("metadata") if isinstance(obj, dict) else None
            ns = meta.get("namespace") if isinstance(meta, dict) else None
            name = plural.get(kind, "other") if isinstance(kind, str) else "other"
            # A namespace is a DNS label in a real dump; hostile ones that could not even be a
            # folder name here (300 characters, a NUL, a lone surrogate) go to the top folder.
            folder = p / ns if kind != "Node" and isinstance(ns, str) and _FOLDER_NAME.fullmatch(ns) else p
            if isinstance(obj, dict) and kind in plural:
                obj = {k: v for k, v in obj.items() if k != "kind"}  # typed API Lists omit the item kind
            by_file.setdefault(folder / f"{name}.json", []).append((kind, obj))  # type: ignore[arg-type]
        p.mkdir()
        for path, pairs in by_file.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            kind = pairs[0][0]
            list_kind = f"{kind}List" if isinstance(kind, str) and path.stem != "other" else "List"
            path.write_text(to_json({"kind": list_kind, "apiVersion": "v1", "items": [o for _, o in pairs]}, 4))
        (p / "kube-system").mkdir(exist_ok=True)
        (p / "kube-system" / "pods.json").write_text('{"kind": "PodList", "apiVersion": "v1", "items": []}')
    elif form == "snapshot":
        p = d / "snap.json"
        header = {"created": "2026-11-20T10:30:00Z", "source": "live", "cluster": {"server": "https://x"},
                  "collected": ["Pod", "Node", "Event"], "namespaces": [], "missing": [],
                  "schedulerNames": None, "podtriageVersion": "0.1.0"}
        p.write_text(to_json({"apiVersion": API_VERSION, "kind": KIND, "metadata": header, "items": items}))
    elif form == "snapshot-writer":
        p = d / "snap.json.gz"
        write_snapshot([i for i in items if isinstance(i, dict)], p,
                       meta={"source": "live", "collected": ["Pod", "Node", "Event"]})
    else:
        raise ValueError(form)
    return p


FORMS = ("json-list", "yaml-list", "yaml-multidoc", "json-stream", "bare-array", "gzip", "folder",
         "cluster-info-dump", "snapshot", "snapshot-writer")


def _pod_names(items: list[Any]) -> set[str]:
    names = set()
    for obj in items:
        if isinstance(obj, dict) and obj.get("kind") == "Pod" and isinstance(obj.get("metadata"), dict):
            name = obj["metadata"].get("name")
            if isinstance(name, str) and name.strip() and not any(t in name for t in RAW_TOKENS):
                names.add(name)
    return names


def check_skipped_are_named(items: list[Any], snap: Snapshot) -> None:
    """A pod in the input that is not in the snapshot must be named by a warning."""
    have = {p.name for p in snap.pods}
    warnings = "\n".join(snap.meta.warnings)
    for name in _pod_names(items):
        assert name in have or name in warnings, f"pod {name!r} silently dropped; warnings: {warnings[:500]}"


# --- targets ------------------------------------------------------------------------------------

# quantity ---------------------------------------------------------------------------------------
_QTY_ALPHABET = "0123456789.+-eEkMGTPiKnum ٣"
quantity_input = st.one_of(st.sampled_from(QUANTITIES), st.text(alphabet=_QTY_ALPHABET, max_size=12),
                           st.text(max_size=8), junk, huge_text)
_EXACT = {"1e3": Fraction(1000), "0.5Gi": Fraction(2**29), "100m": Fraction(1, 10), "+1": Fraction(1),
          "1E": Fraction(10**18), "12Mi": Fraction(12 * 2**20), ".5": Fraction(1, 2), "1e-3": Fraction(1, 1000)}


def check_quantity(raw: Any) -> None:
    try:
        q = parse_quantity(raw)
    except QuantityError:
        q = None
    except BaseException as exc:
        raise AssertionError(f"parse_quantity({raw!r}) raised {type(exc).__name__}: {exc}") from exc
    if isinstance(raw, str) and raw in _EXACT:
        assert q == _EXACT[raw], (raw, q)
    if raw in ("Ki", "", "1e", "e3", "1..2", "1Gii", "m", "ten", "0x10", "1_000", "NaN"):
        assert q is None, (raw, q)
    for resource in ("cpu", "memory", "nvidia.com/gpu"):
        try:
            units = to_scheduler_units(resource, raw)
        except QuantityError:
            assert q is None, f"{raw!r} parses but has no scheduler units"
            continue
        except BaseException as exc:
            raise AssertionError(f"to_scheduler_units({resource!r}, {raw!r}) raised {type(exc).__name__}") from exc
        assert isinstance(units, int) and q is not None
        assert units == (-((-q * 1000) // 1) if resource == "cpu" else -((-q) // 1)), (raw, units, q)


# loader: raw bytes ------------------------------------------------------------------------------
def _nested(depth: int, style: str) -> str:
    if style == "json-array":
        return "[" * depth + "]" * depth
    if style == "json-object":
        return '{"a":' * depth + "1" + "}" * depth
    if style == "yaml-flow":
        return "a: " + "[" * depth + "]" * depth + "\n"
    if style == "yaml-block":
        return "".join("  " * i + f"k{i}:\n" for i in range(min(depth, 3000))) + "  " * min(depth, 3000) + "v\n"
    if style == "yaml-compact":
        return "- " * depth + "x\n"
    if style == "items-deep":
        return '{"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "p"}, "spec": ' \
               + '{"a":' * depth + "1" + "}" * depth + "}]}"
    raise ValueError(style)


@functools.lru_cache(maxsize=None)
def _loader_fixture_bytes() -> tuple[bytes, ...]:
    root = Path(__file__).resolve().parents[2] / "fixtures"
    files = sorted((root / "loaders").rglob("*.json")) + sorted((root / "loaders").glob("*.yaml")) \
        + sorted((root / "cases").glob("*.yaml"))[:8]
    return tuple(p.read_bytes() for p in files)


@st.composite
def loader_bytes(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["binary", "truncated", "deep", "huge", "gzip", "gzip-truncated", "bom", "tags"]))
    suffix = draw(st.sampled_from([".json", ".yaml", ".yml", ".json.gz"]))
    if kind == "binary":
        data = draw(st.binary(max_size=512))
    elif kind == "deep":
        depth = draw(st.sampled_from([10, 900, 1_001, 5_000, 30_000, 100_000]))
        data = _nested(depth, draw(st.sampled_from(
            ["json-array", "json-object", "yaml-flow", "yaml-block", "yaml-compact", "items-deep"]))).encode()
    elif kind == "huge":
        big = draw(huge_text)
        data = draw(st.sampled_from([
            '{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"%s"}}]}',
            "kind: Pod\nmetadata:\n  name: p\nstatus:\n  message: '%s'\n",
            '{"kind":"Event","metadata":{"name":"e"},"message":"%s"}',
        ])).replace("%s", big.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''")).encode()
    elif kind == "bom":
        data = draw(st.sampled_from([b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"])) + draw(st.binary(max_size=64))
    elif kind == "tags":
        data = draw(st.sampled_from([
            b"!!python/object/apply:os.system ['true']\n", b"a: &x [1]\nb: *x\n", b"kind: !!binary aGk=\n",
            b"a: !custom 1\n", b"kind: Pod\nmetadata: {name: p, creationTimestamp: 2026-13-45T00:00:00Z}\n",
            b"%YAML 1.1\n---\nkind: Pod\n", b"kind: Pod\nmetadata:\n  name: p\n  labels: {? [a]: b}\n",
            b"kind: Pod\nmetadata: {name: 1e999999, namespace: .nan}\n",
        ]))
    else:
        data = draw(st.sampled_from(_loader_fixture_bytes()))
        if kind in ("truncated", "gzip-truncated"):
            data = data[:draw(st.integers(0, len(data)))]
        if kind.startswith("gzip"):
            data = gzip.compress(data)
            if kind == "gzip-truncated":
                data = data[:draw(st.integers(0, len(data)))]
    return suffix, data


def check_loader_bytes(example: tuple[str, bytes]) -> None:
    suffix, data = example
    with scratch() as d:
        p = d / f"input{suffix}"
        p.write_bytes(data)
        allowed(lambda: load_path(p), path=str(p))


# loader: every input form, hostile objects ------------------------------------------------------
loader_forms = st.tuples(st.sampled_from(FORMS), object_set())


def check_loader_forms(example: tuple[str, tuple[str, list[Any]]]) -> None:
    form, (_, items) = example
    with scratch() as d:
        p = allowed(lambda: write_form(form, items, d)).value  # the snapshot writer is podtriage code too
        if p is None:
            return
        out = allowed(lambda: load_path(p), path=str(p))
        if out.ok and form not in ("folder", "cluster-info-dump"):
            check_skipped_are_named(items, out.value)


# the whole pipeline ----------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _rules() -> Any:
    return load_rules()


def _explain_all(snap: Snapshot, extra: ExtraEvidence) -> None:
    from podtriage.analyze import Explainer

    from podtriage.render.structured import render_json

    ex = Explainer(snap, _rules(), NOW, extra=extra)
    for pod in snap.pods[:6]:
        report = allowed(lambda: ex.explain(pod.name, pod.namespace)).value
        if report is not None:
            allowed(lambda: render_json(report).encode("utf-8"))  # printable: no lone surrogates
    for w in snap.workloads[:2]:
        allowed(lambda: ex.explain(f"{w.kind.lower()}/{w.name}", w.namespace))


def _audit(snap: Snapshot, previous: dict[str, Any] | None) -> None:
    options = AuditOptions(config=AuditConfig(), previous=previous, previous_path="prev.json")
    report = allowed(lambda: run_audit(snap, _rules(), options, now=NOW)).value
    if report is not None:
        for fmt in ("json", "markdown", "markdown-short", "html", "junit", "prometheus"):
            allowed(lambda: render(report, fmt).encode("utf-8"))


@st.composite
def log_text(draw: st.DrawFn) -> str:
    return "\n".join(draw(st.lists(sched_line(), min_size=1, max_size=8)))


@st.composite
def node_stats_doc(draw: st.DrawFn) -> dict[str, Any]:
    doc = json.loads(json.dumps(_valid_node_stats()))
    if draw(st.booleans()):
        for p in doc["pods"]:
            for c in p["containers"]:
                c["memory"]["peak"] = draw(st.sampled_from([0, 1, 2**63, 10**400, 2**1100, None]))
                c["memory"]["limit"] = draw(st.sampled_from([0, 1, 2**30, 10**400, None]))
    return doc


pipeline_input = st.tuples(st.sampled_from(("json-list", "yaml-multidoc", "snapshot")), object_set(),
                           st.one_of(st.none(), log_text()), st.one_of(st.none(), node_stats_doc()))


def check_pipeline(example: Any) -> None:
    form, (_, items), log, stats = example
    with scratch() as d:
        p = write_form(form, items, d)
        snap = allowed(lambda: load_path(p), path=str(p)).value
        if snap is None:
            return
        extra = ExtraEvidence()
        if log is not None:
            extra.scheduler_logs_requested = True
            extra.scheduler_logs.append(allowed(lambda: parse_log(log, "kube-scheduler.log")).value)
        if stats is not None:
            extra.cgroup_stats_requested = True
            ns = allowed(lambda: node_stats_from_dict(stats, "node.json")).value
            if ns is not None:
                extra.cgroup_stats.append(ns)
        _explain_all(snap, extra)
        _audit(snap, None)


# FailedScheduling / autoscaler / admission / kubelet message parsers ----------------------------
_REASONS = ["node(s) had untolerated taint {a: b}", "Insufficient cpu", "Insufficient nvidia.com/gpu",
            "node(s) didn't match Pod's node affinity/selector", "node(s) had untolerated taint(s)",
            "node(s) were unschedulable", "Too many pods", "node(s) had volume node affinity conflict",
            "node(s) didn't satisfy plugin(s) [NodeAffinity]", "node(s) didn't match pod anti-affinity rules",
            "Preemption is not helpful for scheduling", "No preemption victims found for incoming pod"]


@st.composite
def fit_text(draw: st.DrawFn) -> str:
    n = draw(st.integers(0, 10**6))
    parts = draw(st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(_REASONS)), max_size=5))
    body = ", ".join(f"{c} {r}" for c, r in parts)
    text = f"0/{n} nodes are available: {body}{draw(st.sampled_from(['.', '..', ' ...', '', ',']))}"
    if draw(st.booleans()):
        text += f" preemption: 0/{n} nodes are available: {body}."
    return text


message_text = st.one_of(spliced_text(), fit_text(), st.text(max_size=200), huge_text,
                         st.builds(lambda d: "0/3 nodes are available: " + d, st.sampled_from(
                             ["1" * 20_000, "{" * 50_000, ", 1 " * 20_000, "1/" * 30_000])),
                         st.builds(lambda d: d, st.sampled_from(["1" * 50_000, "1/" * 50_000, "0/1" * 20_000])))

PARSERS: tuple[Callable[[str], Any], ...] = (
    msg.parse_fit_message, msg.parse_not_trigger_scale_up, msg.parse_triggered_scale_up,
    msg.parse_admission_failure, msg.parse_preempted, msg.parse_nominated, msg.reason_code, msg.ca_reason_code,
)


def check_messages(text: str) -> None:
    for parse in PARSERS:
        allowed(lambda: parse(text))
    fit = msg.parse_fit_message(text)
    if fit is not None:
        allowed(lambda: (fit.node_counts(), fit.codes, fit.all_reasons, fit.is_fit_error))


# kubelet diagnosis: bound pods with hostile statuses and kubelet events ------------------------
@st.composite
def kubelet_case(draw: st.DrawFn) -> tuple[str, list[Any]]:
    from .strategies import case_documents

    cases = [c for c in case_documents() if c[0].startswith(("kubelet", "bound", "init", "image", "config",
                                                             "cni", "runtime", "volume", "mount"))]
    name, docs = draw(st.sampled_from(cases or case_documents()))
    items = []
    for d in docs:
        d = json.loads(json.dumps(d))
        if d.get("kind") == "Event" and draw(st.booleans()):
            d["message"] = draw(message_text)
        if d.get("kind") == "Pod" and draw(st.booleans()):
            for key in ("containerStatuses", "initContainerStatuses"):
                for cs in (d.get("status") or {}).get(key) or []:
                    for state in (cs.get("state") or {}).values():
                        if isinstance(state, dict):
                            state["message"] = draw(message_text)
                            state["reason"] = draw(st.sampled_from(
                                ["ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError", "OOMKilled",
                                 "CrashLoopBackOff", "RunContainerError", "", "Unknown", "ContainerCreating"]))
                            if "exitCode" in state or draw(st.booleans()):
                                state["exitCode"] = draw(junk)
        items.append(d if draw(st.integers(0, 4)) else draw(mutated(d)))
    return name, items


def check_kubelet(example: tuple[str, list[Any]]) -> None:
    check_pipeline(("json-list", example, None, None))


# kube-scheduler logs --------------------------------------------------------------------------
_LOG_MSGS = ["Unable to schedule pod; no fit; waiting", "Successfully bound pod to node", "Failed to bind pod",
             "Error scheduling pod; retrying", "Plugin failed", "Plugin Failed", "Using component config",
             "Creating extender", "Starting Kubernetes Scheduler", "Attempting to acquire leader lease...",
             "Unable to get profile for pod", "Error occurred", "Status after running PostFilter plugins for pod"]
_LOG_VALUES = ['"ns/web"', '"0/3 nodes are available: 3 Insufficient cpu."', "42", "-7", "1" * 5000, "true",
               '{"name":"web","namespace":"ns"}', '{"a":' * 3000 + "}" * 3000, "[1,2", '"unterminated',
               '"\\U0010ffff"', '"\\UFFFFFFFF"', '"\\x41\\101\\u00e9"', '"\\uD800"', "²", "<", '"profiles: 5"',
               '"profiles:\\n- schedulerName: [a]\\n"', '"a: 2026-13-45"', '"profiles: [{schedulerName: 1}, {}]"']


@st.composite
def sched_line(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(["klog", "json", "garbage", "prefixed"]))
    keys = draw(st.lists(st.sampled_from(["pod", "err", "node", "evaluatedNodes", "feasibleNodes", "plugin",
                                          "config", "extender", "lock", "status", "version"]), max_size=4))
    if form == "json":
        doc: dict[str, Any] = {"ts": draw(junk), "caller": "x.go:1", "msg": draw(st.sampled_from(_LOG_MSGS)),
                               "v": draw(st.sampled_from([2, None, "2", 1.5]))}
        for k in keys:
            doc[k] = draw(st.one_of(junk, st.sampled_from(["ns/web", "0/3 nodes are available: 3 Insufficient cpu.",
                                                           "profiles: 5", "profiles: [{schedulerName: [a]}]",
                                                           "a: 2026-13-45"])))
        return to_json(doc)
    if form == "garbage":
        return draw(st.one_of(st.text(max_size=80), huge_text, st.just("{" * 3000)))
    msg_text = draw(st.one_of(st.sampled_from(_LOG_MSGS), st.text(max_size=20)))
    kv = " ".join(f"{k}={draw(st.sampled_from(_LOG_VALUES))}" for k in keys)
    line = f'I1122 19:37:10.584960   29598 schedule_one.go:1194] "{msg_text}" {kv}'
    if form == "prefixed":
        line = "2026-11-22T19:37:10.584960Z " + line
    return line


def _pod() -> m.Pod:
    from podtriage.convert import pod

    return pod({"metadata": {"name": "web", "namespace": "ns", "uid": "u"}, "spec": {}})


def check_schedlog(text: str) -> None:
    log = allowed(lambda: parse_log(text, "kube-scheduler.log")).value
    if log is None:
        return
    allowed(lambda: (log.version, log.extenders, log.profiles, log.waiting_for_lease, log.pod_events(),
                     log.serves("default-scheduler")))
    allowed(lambda: signals_for_pod([log], _pod(), 3))


# node-stats documents and cgroup files --------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _valid_node_stats() -> dict[str, Any]:
    return collect_node_stats(CGROUPS / "v2-systemd", node="worker-1")


@st.composite
def node_stats_input(draw: st.DrawFn) -> tuple[str, Any]:
    how = draw(st.sampled_from(["mutated", "mutated", "bytes", "truncated", "gzip-garbage", "deep"]))
    if how == "mutated":
        return "doc", draw(mutated(_valid_node_stats()))
    text = to_json(_valid_node_stats(), indent=1).encode()
    if how == "bytes":
        return "bytes", draw(st.binary(max_size=256))
    if how == "truncated":
        return "bytes", text[:draw(st.integers(0, len(text)))]
    if how == "deep":
        return "bytes", b"[" * draw(st.sampled_from([1000, 100_000]))
    gz = gzip.compress(text)
    i = draw(st.integers(10, len(gz)))
    return "bytes", gz[:i] + draw(st.binary(max_size=16)) + gz[i + 16:]


def check_node_stats(example: tuple[str, Any]) -> None:
    how, value = example
    with scratch() as d:
        p = d / "node-stats.json"
        if how == "doc":
            try:
                p.write_text(to_json(value))
            except ValueError:
                return
        else:
            p.write_bytes(value)
        allowed(lambda: load_node_stats(p), path=str(p))
        if how == "doc":
            allowed(lambda: node_stats_from_dict(value, "doc.json"))


_CGROUP_FILES = ("memory.max", "memory.current", "memory.peak", "memory.events", "memory.events.local",
                 "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt",
                 "memory.oom_control")
cgroup_content = st.one_of(
    st.integers(-2**70, 2**70).map(str), st.just("max\n"), st.just("9223372036854771712\n"),
    st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1")), st.just("1" * 5000),
    st.lists(st.tuples(st.sampled_from(["max", "oom", "oom_kill", "low", "high", "under_oom", "x y"]),
                       st.one_of(st.integers(-5, 2**66).map(str), st.text(max_size=5))), max_size=6)
    .map(lambda kv: "\n".join(f"{k} {v}" for k, v in kv)),
)
cgroup_input = st.tuples(st.sampled_from(["v2-systemd", "v1-systemd", "v1-cgroupfs"]),
                         st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(_CGROUP_FILES), cgroup_content),
                                  min_size=1, max_size=6))


@functools.lru_cache(maxsize=None)
def _cgroup_files(tree: str) -> tuple[str, ...]:
    root = CGROUPS / tree
    return tuple(sorted(str(p.relative_to(root).parent) for p in root.rglob("memory.*") if p.is_file()))


def check_cgroups(example: tuple[str, list[tuple[int, str, str]]]) -> None:
    tree, edits = example
    with scratch() as d:
        root = d / tree
        shutil.copytree(CGROUPS / tree, root)
        dirs = sorted(set(_cgroup_files(tree)))
        for i, name, content in edits:
            target = root / dirs[i % len(dirs)] / name
            target.write_text(content, encoding="utf-8", errors="surrogateescape")
        doc = allowed(lambda: collect_node_stats(root, node="n")).value
        if doc is not None:
            # What node-stats writes, explain --cgroup-stats must read back.
            back = allowed(lambda: node_stats_from_dict(json.loads(json.dumps(doc)), "round-trip"))
            assert back.ok, f"node-stats wrote a document it cannot read back: {back.error}"


# rule files ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _rule_texts() -> tuple[str, ...]:
    return tuple(p.read_text(encoding="utf-8") for p in sorted(RULES.glob("*.yaml")))


@st.composite
def rule_file(draw: st.DrawFn) -> bytes:
    text = draw(st.sampled_from(_rule_texts()))
    how = draw(st.sampled_from(["mutated", "mutated", "truncated", "splice", "bytes", "deep", "tags"]))
    if how == "mutated":
        doc = yaml.safe_load(text)
        return to_yaml([draw(mutated(doc))]).encode()
    if how == "truncated":
        return text[:draw(st.integers(0, len(text)))].encode()
    if how == "splice":
        i = draw(st.integers(0, len(text)))
        return (text[:i] + draw(st.sampled_from(["\t", ": ", "- ", "{", "'", "&a ", "*a", "\n---\n", "!!python/none ",
                                                 "2026-13-45", "\x00"])) + text[i:]).encode()
    if how == "deep":
        return _nested(draw(st.sampled_from([1_001, 30_000, 100_000])),
                       draw(st.sampled_from(["yaml-flow", "yaml-compact", "yaml-block"]))).encode()
    if how == "tags":
        return (text + draw(st.sampled_from(["created: 2026-13-45\n", "x: !!python/name:os.system\n",
                                             "a: &x [1]\nb: *x\n"]))).encode()
    return draw(st.binary(max_size=200))


def check_rule_file(data: bytes) -> None:
    with scratch() as d:
        p = d / "rule.yaml"
        p.write_bytes(data)
        res = allowed(lambda: parse_rule_file(p))
        if res.ok:
            rule, errors = res.value
            assert (rule is None) == bool(errors)
            for e in errors:
                assert str(p) in e.message, e.message
        allowed(lambda: validate_dir(d))
        allowed(lambda: load_rules(extra_dirs=[d], include_builtin=False), path=str(p))


# audit suppression (config) files ----------------------------------------------------------------
_VALID_CONFIG = {"apiVersion": "podtriage.dev/v1", "kind": "AuditConfig", "failOn": "high",
                 "suppressions": [{"rule": "taint-untolerated", "namespace": "ml", "reason": "tracked",
                                   "expires": "2026-12-31"},
                                  {"selector": "app=web,tier in (a,b)", "reason": "x", "category": "taint"}]}


@st.composite
def config_file(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from(["mutated", "mutated", "mutated", "bytes", "deep", "text"]))
    if how == "mutated":
        return to_yaml([draw(mutated(_VALID_CONFIG))]).encode()
    if how == "deep":
        return _nested(draw(st.sampled_from([1_001, 30_000, 100_000])),
                       draw(st.sampled_from(["yaml-flow", "yaml-compact"]))).encode()
    if how == "text":
        return draw(st.sampled_from([
            "suppressions:\n- rule: x\n  reason: y\n  expires: 2026-13-45\n",
            "suppressions:\n- rule: x\n  reason: y\n  expires: 2026-02-30T00:00:00Z\n",
            "a: &a [1]\nb: [*a, *a]\n", "suppressions: !!python/object:os.system {}\n",
            "suppressions:\n- {selector: 'a in (b', reason: r}\n", "suppressions:\n- {? [a]: b}\n",
            "failOn: [critical]\n", "suppressions:\n- {rule: 1, reason: 2, expires: 20261231}\n",
        ])).encode()
    return draw(st.binary(max_size=200))


def check_config(data: bytes) -> None:
    with scratch() as d:
        p = d / "audit-config.yaml"
        p.write_bytes(data)
        cfg = allowed(lambda: load_config(p), path=str(p)).value
        if cfg is not None:
            from podtriage.audit.suppress import apply_suppressions

            allowed(lambda: apply_suppressions(_demo_findings(), cfg.suppressions, NOW.date()))


# previous audit reports --------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _demo_report() -> dict[str, Any]:
    snap = load_path(Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "cluster.yaml")
    report = run_audit(snap, _rules(), AuditOptions(), now=NOW)
    return json.loads(render(report, "json"))


@functools.lru_cache(maxsize=None)
def _demo_findings() -> tuple[Any, ...]:
    snap = load_path(Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "cluster.yaml")
    return tuple(run_audit(snap, _rules(), AuditOptions(), now=NOW).findings)


@st.composite
def previous_file(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from(["mutated", "mutated", "mutated", "truncated", "bytes", "deep", "shape"]))
    doc = _demo_report()
    if how == "mutated":
        return to_json(draw(mutated(doc))).encode()
    text = to_json(doc).encode()
    if how == "truncated":
        return text[:draw(st.integers(0, len(text)))]
    if how == "deep":
        return b'{"kind": "AuditReport", "findings": ' + b"[" * draw(st.sampled_from([1_001, 100_000]))
    if how == "shape":
        return to_json({"kind": AUDIT_KIND, "findings": draw(junk), "suppressed": draw(junk),
                        "generated": draw(junk)}).encode()
    return draw(st.binary(max_size=200))


def check_previous(data: bytes) -> None:
    with scratch() as d:
        p = d / "previous.json"
        p.write_bytes(data)
        prev = allowed(lambda: load_previous(p), path=str(p)).value
        if prev is not None:
            allowed(lambda: compute_delta(prev, str(p), list(_demo_findings())))


TARGETS: tuple[Target, ...] = (
    Target("quantity", quantity_input, check_quantity, "resource quantities (text, numbers, junk)"),
    Target("loader-bytes", loader_bytes(), check_loader_bytes,
           "snapshot files: binary, truncated, gzip, BOM, YAML tags, 100k-deep nesting, huge strings"),
    Target("loader-forms", loader_forms, check_loader_forms,
           "mutated objects in every input form (Lists, multi-doc, folders, cluster-info dump, snapshots)"),
    Target("pipeline", pipeline_input, check_pipeline,
           "mutated snapshot + scheduler log + cgroup stats -> explain every pod, audit, every renderer"),
    Target("messages", message_text, check_messages,
           "FailedScheduling, autoscaler, admission, preemption message parsers"),
    Target("kubelet", kubelet_case(), check_kubelet, "bound pods with hostile statuses and kubelet events"),
    Target("schedlog", log_text(), check_schedlog, "kube-scheduler logs, klog text and JSON"),
    Target("node-stats", node_stats_input(), check_node_stats, "node-stats documents (--cgroup-stats)"),
    Target("cgroup-files", cgroup_input, check_cgroups, "cgroup v1/v2 memory files read by node-stats"),
    Target("rule-files", rule_file(), check_rule_file, "rule files (rules validate, --rules)"),
    Target("suppressions", config_file(), check_config, "audit --config suppression files"),
    Target("previous-report", previous_file(), check_previous, "audit --previous reports"),
)
