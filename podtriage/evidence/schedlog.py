"""kube-scheduler logs as evidence: parse klog text and JSON logs, extract what concerns a pod.

Texts follow kube-scheduler v1.37 (`pkg/scheduler/schedule_one.go`, `framework/runtime/framework.go`,
`framework/preemption/preemption.go`, `cmd/kube-scheduler/app/server.go`) and client-go's
leader election; older wordings are accepted where they differ (`attempting to acquire leader
lease ns/name...` from klog.Infof before contextual logging). The pod lines are V(2): a
scheduler at the default verbosity 0 logs errors only.

    I1122 19:37:10.584960   29598 schedule_one.go:1194] "Unable to schedule pod; no fit; waiting" pod="ns/web" err="0/2 ..."
    {"ts":1763840230584.96,"caller":"scheduler/schedule_one.go:1194","msg":"Unable to schedule pod; no fit; waiting","v":2,"pod":{"name":"web","namespace":"ns"},"err":"0/2 ..."}

Every record keeps its file and line, so a finding can say `kube-scheduler.log:1234`. Parsing never
raises: a line that is not a log record is counted in `SchedulerLog.skipped` and otherwise ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from .. import model as m
from ..findings import EvidenceItem, Signal
from ..loaders.nesting import check_depth
from .messages import FitMessage, parse_fit_message

# --- the texts kube-scheduler writes ------------------------------------------------------------
MSG_NO_FIT = "Unable to schedule pod; no fit; waiting"
MSG_NO_NODES = "Unable to schedule pod; no nodes are registered to the cluster; waiting"
MSG_POD_GROUP = "Unable to schedule pod belonging to a pod group; waiting"
MSG_ERROR = "Error scheduling pod; retrying"
MSG_BOUND = "Successfully bound pod to node"
MSG_FAILED_BIND = "Failed to bind pod"
MSG_POSTFILTER = "Status after running PostFilter plugins for pod"
MSG_NO_CANDIDATE = "No preemption candidate is found; preemption is not helpful for scheduling"
MSG_STARTING = "Starting Kubernetes Scheduler"
MSG_CREATING_EXTENDER = "Creating extender"
MSG_CONFIG = "Using component config"  # V(2): the whole KubeSchedulerConfiguration as YAML
MSG_ERROR_OCCURRED = "Error occurred"  # scheduleOnePod: frameworkForPod failed (no profile)
MSG_NO_PROFILE = "Unable to get profile for pod"  # eventhandlers.go (pod delete)
PROFILE_NOT_FOUND = "profile not found for scheduler name"
ASSUME_FAILED = ("Scheduler cache AssumePod failed", "Scheduler snapshot AssumePod failed")
PLUGIN_FAILED = "Plugin failed"  # PreBind, Reserve, Permit, ... (framework/runtime/framework.go)
PLUGIN_FAILED_BIND = "Plugin Failed"  # only RunBindPlugins spells it with a capital F
# client-go leader election: "Attempting to acquire leader lease..." lock="ns/name" (1.3x),
# "attempting to acquire leader lease ns/name..." (older, klog.Infof); same for "acquired".
_LEASE_ATTEMPT = re.compile(r"^attempting to acquire leader lease\s*(?P<lock>\S*?)\.*$", re.IGNORECASE)
_LEASE_ACQUIRED = re.compile(r"^successfully acquired lease\s*(?P<lock>\S*)$", re.IGNORECASE)
_LEASE_LOST = re.compile(r"^(leaderelection lost|failed to renew lease)", re.IGNORECASE)

# Errors wrapped by the scheduling framework: which plugin (or extender) failed, at which point.
_PLUGIN_ERR = (
    re.compile(r'running PreFilter plugin "(?P<plugin>[^"]+)"'),
    re.compile(r'running "(?P<plugin>[^"]+)" filter plugin'),
    re.compile(r'running (?P<point>PreBind|Bind|Reserve|Permit|PreScore|Score|PostFilter|PreEnqueue) '
               r'plugin "(?P<plugin>[^"]+)"'),
)
_PLUGIN_POINT = {0: "PreFilter", 1: "Filter"}
_EXTENDER_ERR = re.compile(r"(?:failed \w+ with extender at URL (?P<url>\S+)|\bextender\b)", re.IGNORECASE)
# An extender's HTTP error when the log does not hold the "Creating extender" line (the API server
# is reached through client-go, whose errors in this place are about bindings).
_HTTP_ERR = re.compile(r'^(?:Post|Get) "(?P<url>https?://[^"]+)": ')
_BIND_ERR = re.compile(r'running Bind plugin|binding rejected|failed to bind|\bbindings?\b.* (?:denied|forbidden)',
                       re.IGNORECASE)


# --- records ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRecord:
    """One log entry: where it is, its header fields, its message and its key/value pairs."""

    source: str  # file name (or "pod kube-system/kube-scheduler-x") as given to parse_log
    line: int  # 1-based line of the record's first line
    msg: str
    kv: Mapping[str, Any] = field(default_factory=dict, hash=False)
    severity: str = ""  # I W E F ("" when unknown); JSON: "E" when an "err" without "v"
    time: str = ""  # as printed: "1122 19:37:10.584960" (text) or the JSON ts
    caller: str = ""  # "schedule_one.go:1194"
    verbosity: int | None = None  # JSON "v"; text logs do not print it
    format: str = "text"  # text | json
    structured: bool = True  # False for klog.Infof-style text records (no quoted message, no keys)

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def pod(self) -> str:
        """The pod the record is about, as "namespace/name" ("" when none)."""
        return _pod_key(self.kv.get("pod"))

    @property
    def err(self) -> str:
        v = self.kv.get("err", self.kv.get("error", ""))
        return v if isinstance(v, str) else json.dumps(v)

    def get(self, key: str, default: str = "") -> str:
        v = self.kv.get(key, default)
        return v if isinstance(v, str) else json.dumps(v)


@dataclass(frozen=True)
class PodLogEvent:
    """What a record says about one pod's scheduling.

    kind: no-fit | no-nodes | pod-group-wait | error | bind-failed | plugin-error | extender-error |
          bound | postfilter | no-preemption-candidate | profile-missing
    """

    kind: str
    pod: str
    record: LogRecord
    fit: FitMessage | None = None
    error: str = ""
    node: str = ""
    plugin: str = ""  # failing plugin ("VolumeBinding") or extender URL
    point: str = ""  # extension point: PreFilter, Filter, Bind, ...
    evaluated_nodes: int | None = None
    feasible_nodes: int | None = None
    scheduler_name: str = ""  # profile-missing: the schedulerName with no profile


@dataclass(frozen=True)
class SchedulerLog:
    """One parsed kube-scheduler log (a file, or the log of one scheduler pod)."""

    source: str
    records: tuple[LogRecord, ...]
    skipped: int  # lines that were not log records (garbage, truncated, other programs)
    total_lines: int
    format: str  # text | json | mixed | empty

    @property
    def version(self) -> str:
        """The version from "Starting Kubernetes Scheduler" ("" when the start is not in the log)."""
        for r in self.records:
            if r.msg == MSG_STARTING:
                return r.get("version") or r.get("versionInfo")
        return ""

    @property
    def leader_attempts(self) -> tuple[LogRecord, ...]:
        return tuple(r for r in self.records if _LEASE_ATTEMPT.match(r.msg))

    @property
    def leader_acquired(self) -> tuple[LogRecord, ...]:
        return tuple(r for r in self.records if _LEASE_ACQUIRED.match(r.msg))

    @property
    def waiting_for_lease(self) -> LogRecord | None:
        """The "attempting to acquire leader lease" record when the lease was never acquired after it."""
        last_attempt: LogRecord | None = None
        for r in self.records:
            if _LEASE_ATTEMPT.match(r.msg):
                last_attempt = r
            elif _LEASE_ACQUIRED.match(r.msg):
                last_attempt = None
        return last_attempt

    @property
    def extenders(self) -> tuple[str, ...]:
        """URL prefixes of the configured extenders ("Creating extender", V(2))."""
        out = []
        for r in self.records:
            if r.msg == MSG_CREATING_EXTENDER:
                ext = r.kv.get("extender")
                url = ext.get("URLPrefix") or ext.get("urlPrefix") if isinstance(ext, Mapping) else ext
                if isinstance(url, str) and url:
                    out.append(url)
        return tuple(out)

    @property
    def config_record(self) -> LogRecord | None:
        """The latest "Using component config" record (V(2), at start-up)."""
        return next((r for r in reversed(self.records) if r.msg == MSG_CONFIG and isinstance(r.kv.get("config"), str)),
                    None)

    @property
    def profiles(self) -> tuple[str, ...] | None:
        """The schedulerNames of the profiles in the logged configuration (None: not in the log)."""
        r = self.config_record
        if r is None:
            return None
        text = r.kv["config"]
        try:
            check_depth(text)
            doc = yaml.safe_load(text)
        except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: a timestamp like 2026-13-45
            return None
        if not isinstance(doc, Mapping):
            return None
        profiles = doc.get("profiles")
        if not profiles:
            return ("default-scheduler",)
        if not isinstance(profiles, list):
            return None
        names = [_scheduler_name(p.get("schedulerName")) for p in profiles if isinstance(p, Mapping)]
        return tuple(names) or None

    def serves(self, scheduler_name: str) -> bool | None:
        """Whether this scheduler has a profile for `scheduler_name` (None: unknown)."""
        profiles = self.profiles
        return None if profiles is None else (scheduler_name or "default-scheduler") in profiles

    @property
    def schedules(self) -> bool:
        """True when the log shows the scheduler working on pods (any per-pod outcome)."""
        return any(r.msg in _POD_OUTCOMES for r in self.records)

    def pod_events(self, pod: str | None = None) -> list[PodLogEvent]:
        """Scheduling outcomes in log order, for one pod ("ns/name") or every pod."""
        exts = self.extenders
        out = []
        for r in self.records:
            ev = classify(r, exts)
            if ev is not None and (pod is None or ev.pod == pod):
                out.append(ev)
        return out


def _scheduler_name(v: Any) -> str:
    """A profile's schedulerName as the scheduler reads it: a string, defaulted when empty."""
    return v if isinstance(v, str) and v else "default-scheduler"


_POD_OUTCOMES = frozenset({MSG_NO_FIT, MSG_NO_NODES, MSG_POD_GROUP, MSG_ERROR, MSG_BOUND, MSG_FAILED_BIND})


# --- parsing ------------------------------------------------------------------------------------
# klog header: Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg
_KLOG_HEADER = re.compile(
    r"^(?P<sev>[IWEF])(?P<date>\d{4}) (?P<time>\d{2}:\d{2}:\d{2}\.\d+)\s+(?P<tid>\d+) (?P<caller>[^\]\s]+)\] ?")
# A key in a structured record (klog keys are identifiers, sometimes dotted or dashed).
_KEY = re.compile(r"([A-Za-z_][\w.\-/]*)=")
_GO_ESCAPE = re.compile(r"\\(?:[abfnrtv\\'\"]|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3})")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", "'": "'", '"': '"'}


def parse_log(text: str, source: str) -> SchedulerLog:
    """Parse a kube-scheduler log in klog text or JSON format (or a mix); never raises."""
    lines = text.splitlines()
    records: list[LogRecord] = []
    skipped = 0
    formats: set[str] = set()
    continues = False  # the previous line was an unstructured text record (klog.Infof may span lines)
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip("\r")
        lineno = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped:
            continue
        # `kubectl logs --timestamps` and some collectors prefix an RFC 3339 time; drop it.
        stripped = _strip_collector_prefix(stripped)
        rec: LogRecord | None = None
        if stripped.startswith("{"):
            rec = _parse_json_line(stripped, source, lineno)
            if rec is not None:
                formats.add("json")
        else:
            head = _KLOG_HEADER.match(stripped)
            if head is not None:
                rest = stripped[head.end():]
                msg, kv, consumed = _parse_klog_body(rest, lines, i)
                i += consumed
                if msg is not None:
                    rec = LogRecord(source=source, line=lineno, msg=msg, kv=kv, severity=head["sev"],
                                    time=f"{head['date']} {head['time']}", caller=head["caller"],
                                    format="text", structured=rest.startswith('"'))
                    formats.add("text")
        if rec is None and continues and not stripped.startswith("{"):
            # e.g. healthz.go: "sched-handler-sync check failed: readyz\n[-]sched-handler-sync failed: ..."
            records[-1] = replace(records[-1], msg=records[-1].msg + "\n" + raw)
        elif rec is None:
            skipped += 1
            continues = False
        else:
            records.append(rec)
            continues = rec.format == "text" and not rec.structured
    fmt = "empty" if not formats else formats.pop() if len(formats) == 1 else "mixed"
    return SchedulerLog(source=source, records=tuple(records), skipped=skipped, total_lines=len(lines), format=fmt)


_COLLECTOR_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}) ")


def _strip_collector_prefix(s: str) -> str:
    m_ = _COLLECTOR_PREFIX.match(s)
    return s[m_.end():] if m_ else s


def _parse_json_line(s: str, source: str, lineno: int) -> LogRecord | None:
    try:
        doc = json.loads(s)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("msg"), str):
        return None
    kv = {k: v for k, v in doc.items() if k not in ("ts", "caller", "msg", "v")}
    v = doc.get("v")
    verbosity = v if isinstance(v, int) else None
    # The JSON logger writes "v" on every info record and omits it on errors (logger.Error).
    severity = "I" if verbosity is not None else "E"
    ts = doc.get("ts")
    return LogRecord(source=source, line=lineno, msg=doc["msg"], kv=kv, severity=severity,
                     time=str(ts) if ts is not None else "", caller=str(doc.get("caller", "")),
                     verbosity=verbosity, format="json")


def _unquote_go(body: str) -> str:
    """Decode the inside of a Go double-quoted string (strconv.Quote output)."""
    def repl(mt: re.Match[str]) -> str:
        e = mt.group(0)[1:]
        if e[0] in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[e[0]]
        code = int(e[1:], 16) if e[0] in "xuU" else int(e, 8)
        # Go's strconv.Unquote refuses what is not a Unicode scalar value; keep the text readable
        # (and encodable: a lone surrogate would break writing the report) with U+FFFD.
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return _GO_ESCAPE.sub(repl, body)


def _scan_quoted(s: str, pos: int) -> tuple[str, int] | None:
    """s[pos] == '"': -> (decoded string, index after the closing quote), None when unterminated."""
    j = pos + 1
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == '"':
            return _unquote_go(s[pos + 1:j]), j + 1
        j += 1
    return None


def _parse_klog_body(rest: str, lines: Sequence[str], next_index: int) -> tuple[str | None, dict[str, Any], int]:
    """-> (message, key/values, extra physical lines consumed by multi-line values).

    Structured records start with a quoted message followed by key=value pairs; unstructured
    ones (klog.Infof) are the text itself. A truncated quoted message makes the record unusable.
    """
    if not rest.startswith('"'):
        return rest.strip(), {}, 0
    q = _scan_quoted(rest, 0)
    if q is None:
        return None, {}, 0
    msg, pos = q
    kv: dict[str, Any] = {}
    consumed = 0
    n = len(rest)
    while pos < n:
        while pos < n and rest[pos] == " ":
            pos += 1
        km = _KEY.match(rest, pos)
        if km is None:
            break  # not key=value: keep what we have
        key = km.group(1)
        pos = km.end()
        if pos >= n:
            kv[key] = ""
            break
        c = rest[pos]
        if c == '"':
            q = _scan_quoted(rest, pos)
            if q is None:  # truncated value: keep the rest raw, marked
                kv[key] = _unquote_go(rest[pos + 1:])
                kv.setdefault("_truncated", key)
                break
            kv[key], pos = q
        elif c in "{[":
            try:
                val, end = json.JSONDecoder().raw_decode(rest, pos)
            except (ValueError, RecursionError):
                end = rest.find(" ", pos)
                end = n if end < 0 else end
                val = rest[pos:end]
            kv[key], pos = val, end
        elif c == "<" and rest[pos:].rstrip() == "<":
            # multi-line string: "\t"-indented lines up to a line " >"
            parts = []
            j = next_index
            while j < len(lines):
                ln = lines[j].rstrip("\r")
                j += 1
                if ln == " >":
                    break
                parts.append(ln.removeprefix("\t"))
            consumed = j - next_index
            kv[key] = "\n".join(parts)
            pos = n
        else:
            end = rest.find(" ", pos)
            end = n if end < 0 else end
            kv[key] = _bare_value(rest[pos:end])
            pos = end
    return msg, kv, consumed


def _bare_value(s: str) -> Any:
    if len(s) <= 20 and re.fullmatch(r"-?[0-9]+", s):  # longer: not a Go integer, keep the text
        return int(s)
    if s in ("true", "false"):
        return s == "true"
    return s


def _pod_key(v: Any) -> str:
    if isinstance(v, str):
        return v if "/" in v else ""
    if isinstance(v, Mapping):
        name, ns = v.get("name"), v.get("namespace")
        if isinstance(name, str) and name:
            return f"{ns}/{name}" if ns else name
    return ""


# --- classification -----------------------------------------------------------------------------
def classify(r: LogRecord, extenders: Sequence[str] = ()) -> PodLogEvent | None:
    """What a record says about a pod's scheduling, or None for anything else."""
    msg = r.msg
    pod = r.pod
    if msg == MSG_NO_FIT:
        return PodLogEvent("no-fit", pod, r, fit=parse_fit_message(r.err), error=r.err)
    if msg == MSG_NO_NODES:
        return PodLogEvent("no-nodes", pod, r, error=r.err)
    if msg == MSG_POD_GROUP:
        return PodLogEvent("pod-group-wait", pod, r, error=r.err)
    if msg == MSG_BOUND:
        return PodLogEvent("bound", pod, r, node=_node(r.kv.get("node")),
                           evaluated_nodes=_int(r.kv.get("evaluatedNodes")),
                           feasible_nodes=_int(r.kv.get("feasibleNodes")))
    if msg == MSG_FAILED_BIND or msg in ASSUME_FAILED:
        return PodLogEvent("bind-failed", pod, r, error=r.err, node=_node(r.kv.get("node")))
    if msg == PLUGIN_FAILED_BIND and pod:
        return PodLogEvent("bind-failed", pod, r, error=r.err, plugin=r.get("plugin"), point="Bind",
                           node=_node(r.kv.get("node")))
    if msg == PLUGIN_FAILED and pod:
        return PodLogEvent("plugin-error", pod, r, error=r.err, plugin=r.get("plugin"),
                           node=_node(r.kv.get("node")))
    if msg == MSG_POSTFILTER:
        return PodLogEvent("postfilter", pod, r, error=r.get("status"))
    if msg == MSG_NO_CANDIDATE:
        return PodLogEvent("no-preemption-candidate", pod, r)
    if msg in (MSG_ERROR_OCCURRED, MSG_NO_PROFILE) and (PROFILE_NOT_FOUND in r.err or msg == MSG_NO_PROFILE):
        name = re.search(PROFILE_NOT_FOUND + r' "((?:[^"\\]|\\.)*)"', r.err)
        return PodLogEvent("profile-missing", pod, r, error=r.err, scheduler_name=name.group(1) if name else "")
    if msg == MSG_ERROR:
        return _classify_error(r, pod, extenders)
    return None


def _classify_error(r: LogRecord, pod: str, extenders: Sequence[str]) -> PodLogEvent:
    err = r.err
    if PROFILE_NOT_FOUND in err:
        name = re.search(PROFILE_NOT_FOUND + r' "((?:[^"\\]|\\.)*)"', err)
        return PodLogEvent("profile-missing", pod, r, error=err, scheduler_name=name.group(1) if name else "")
    for i, pat in enumerate(_PLUGIN_ERR):
        mt = pat.search(err)
        if mt:
            point = mt.groupdict().get("point") or _PLUGIN_POINT.get(i, "")
            kind = "bind-failed" if point == "Bind" else "plugin-error"
            return PodLogEvent(kind, pod, r, error=err, plugin=mt["plugin"], point=point)
    for url in extenders:
        base = url.rstrip("/")
        if base and base in err:
            return PodLogEvent("extender-error", pod, r, error=err, plugin=url, point="Extender")
    mt = _HTTP_ERR.search(err)
    if mt and "/binding" not in mt["url"]:
        return PodLogEvent("extender-error", pod, r, error=err, plugin=mt["url"].rsplit("/", 1)[0],
                           point="Extender")
    mt = _EXTENDER_ERR.search(err)
    if mt:
        return PodLogEvent("extender-error", pod, r, error=err, plugin=mt.groupdict().get("url") or "",
                           point="Extender")
    if _BIND_ERR.search(err):
        return PodLogEvent("bind-failed", pod, r, error=err)
    return PodLogEvent("error", pod, r, error=err)


def _node(v: Any) -> str:
    if isinstance(v, Mapping):
        return str(v.get("name", ""))
    return str(v) if v is not None else ""


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and len(v) <= 20 and re.fullmatch(r"-?[0-9]+", v):  # not "²", not 5000 digits
        return int(v)
    return None


# --- signals ------------------------------------------------------------------------------------
_FAILURES = ("bind-failed", "plugin-error", "extender-error", "error")
# Outcomes that end one scheduling attempt; the latest one is the pod's current state in the log.
_ATTEMPT_END = ("no-fit", "no-nodes", "pod-group-wait", "bound", "error", "bind-failed", "plugin-error",
                "extender-error", "profile-missing")


def _evidence(ev: PodLogEvent, summary: str) -> EvidenceItem:
    r = ev.record
    data: dict[str, Any] = {"message": r.msg, "pod": ev.pod, "file": r.source, "line": r.line}
    if r.severity:
        data["severity"] = r.severity
    if r.caller:
        data["caller"] = r.caller
    if ev.error:
        data["err"] = ev.error
    if ev.node:
        data["node"] = ev.node
    if ev.plugin:
        data["plugin"] = ev.plugin
    if ev.fit is not None:
        data["counts"] = ev.fit.node_counts()
        data["totalNodes"] = ev.fit.total_nodes
    return EvidenceItem(kind="log", summary=summary, source=r.location, data=data, time=r.time)


def _lease_evidence(r: LogRecord, summary: str) -> EvidenceItem:
    return EvidenceItem(kind="log", summary=summary, source=r.location,
                        data={"message": r.msg, "file": r.source, "line": r.line, "lock": _lock(r)}, time=r.time)


def _lock(r: LogRecord) -> str:
    lock = r.get("lock")
    if lock:
        return lock
    mt = _LEASE_ATTEMPT.match(r.msg) or _LEASE_ACQUIRED.match(r.msg)
    return mt["lock"] if mt and mt["lock"] else ""


def _base(pod: m.Pod, total: int, ev: PodLogEvent | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"pod": pod.key, "total_nodes": total, "nodes_count": total, "node_examples": "",
                              "node_example": "NODE"}
    if ev is not None:
        r = ev.record
        params.update({"log_location": r.location, "log_file": r.source, "log_line": r.line,
                       "log_time": r.time, "log_message": r.msg, "error": ev.error})
    return params


def signals_for_pod(logs: Iterable[SchedulerLog], pod: m.Pod, total_nodes: int) -> list[Signal]:
    """Signals from kube-scheduler logs about `pod`: its latest outcome, failures, and scheduler-wide
    conditions (a scheduler that never became leader) that keep it Pending."""
    logs = [lg for lg in logs if isinstance(lg, SchedulerLog)]
    if not logs:
        return []
    events: list[PodLogEvent] = []
    for lg in logs:
        events += lg.pod_events(pod.key)
    out: list[Signal] = []
    bound_now = bool(pod.node_name)
    last_bound = max((i for i, e in enumerate(events) if e.kind == "bound"), default=-1)
    # Only what happened after the last successful bind still matters (per log; logs of several
    # schedulers are not interleaved, so "after" is per file).
    open_events = [e for i, e in enumerate(events) if i > last_bound] if not bound_now else []

    no_fit = [e for e in open_events if e.kind == "no-fit"]
    if no_fit:
        e = no_fit[-1]
        fit = e.fit
        counts = fit.node_counts() if fit is not None else {}
        reasons = "; ".join(f"{r.count} {r.reason}" if r.count is not None else r.reason
                            for r in (fit.all_reasons if fit else ())) or e.error
        params = {**_base(pod, total_nodes, e), "attempts_logged": len(no_fit),
                  "log_total_nodes": fit.total_nodes if fit and fit.total_nodes is not None else "?",
                  "reasons": reasons, "counts": counts,
                  "first_logged": no_fit[0].record.location}
        out.append(Signal(
            name="scheduler-log-no-fit", params=params, blocking=False, confidence=0.95,
            evidence=tuple(_evidence(x, f"kube-scheduler: {MSG_NO_FIT}: {x.error}") for x in no_fit[-3:]),
            subject=f"Pod/{pod.key}", effects=("kube-scheduler found no node that fits",)))

    nonodes = [e for e in open_events if e.kind == "no-nodes"]
    if nonodes and _latest_kind(open_events) == "no-nodes":
        e = nonodes[-1]
        out.append(Signal(
            name="scheduler-no-nodes", params={**_base(pod, total_nodes, e), "attempts_logged": len(nonodes)},
            blocking=total_nodes == 0, confidence=0.9 if total_nodes == 0 else 0.5,
            evidence=(_evidence(e, f"kube-scheduler: {MSG_NO_NODES}"),), subject=f"Pod/{pod.key}",
            effects=("kube-scheduler saw no registered node",)))

    for kind, name in (("bind-failed", "scheduler-bind-failed"), ("plugin-error", "scheduler-plugin-error"),
                       ("extender-error", "scheduler-plugin-error")):
        hits = [e for e in open_events if e.kind == kind]
        if not hits or name in {s.name for s in out}:
            continue
        e = _most_informative(hits)
        related = [x for x in hits if x is not e][-2:]
        node = next((x.node for x in reversed(hits) if x.node), "")
        what = e.plugin or ("extender" if kind == "extender-error" else "")
        # One failed attempt writes up to three records ("Plugin Failed", "Failed to bind pod",
        # "Error scheduling pod; retrying"); count attempts by the last of them.
        attempts = sum(1 for x in hits if x.record.msg == MSG_ERROR) or len(hits)
        params = {**_base(pod, total_nodes, e), "failures_logged": attempts, "node": node or "?",
                  "plugin": what or "?", "point": e.point or ("Bind" if kind == "bind-failed" else "?")}
        subject = f"Pod/{pod.key}" if kind != "extender-error" else f"extender {e.plugin or '?'}"
        out.append(Signal(
            name=name, params=params, blocking=True, confidence=0.9,
            evidence=tuple(_evidence(x, f"kube-scheduler: {x.record.msg}: {x.error}".rstrip(": "))
                           for x in [*related, e]),
            subject=subject,
            effects=(("the scheduler picked a node but could not bind the pod to it",) if kind == "bind-failed"
                     else (f"{what or 'a plugin'} failed with an error, so the attempt is retried",))))

    missing = [e for e in events if e.kind == "profile-missing"] if not bound_now else []
    if missing:
        e = missing[-1]
        out.append(Signal(
            name="scheduler-profile-missing",
            params={**_base(pod, total_nodes, e), "scheduler_name": e.scheduler_name or pod.scheduler_name},
            blocking=True, confidence=0.95, evidence=(_evidence(e, f"kube-scheduler: {e.error}"),),
            subject=f"Pod/{pod.key} spec.schedulerName",
            effects=(f"no scheduler profile named {e.scheduler_name or pod.scheduler_name!r}",)))

    if not bound_now and not missing:
        sig = _no_profile_signal(logs, pod, total_nodes, events)
        if sig is not None:
            out.append(sig)
    if not bound_now:
        sig = _not_leader_signal(logs, pod, total_nodes, events)
        if sig is not None:
            out.append(sig)
    return out


def _no_profile_signal(logs: Sequence[SchedulerLog], pod: m.Pod, total: int,
                       events: Sequence[PodLogEvent]) -> Signal | None:
    """Every scheduler whose configuration is in the logs lacks a profile for the pod's schedulerName.

    A real scheduler logs nothing about such a pod (its informer drops it), so the evidence is the
    configuration it logged at start-up.
    """
    if events:
        return None
    name = pod.scheduler_name or "default-scheduler"
    known = [(lg, lg.profiles) for lg in logs]
    if not known or any(p is None for _, p in known) or any(name in (p or ()) for _, p in known):
        return None
    served = sorted({n for _, p in known for n in p or ()})
    configs = [lg.config_record for lg, _ in known]
    rec = configs[-1]
    assert rec is not None
    params = {**_base(pod, total), "log_location": rec.location, "log_file": rec.source, "log_line": rec.line,
              "log_time": rec.time, "log_message": rec.msg, "scheduler_name": name,
              "error": f"the logged configuration has profiles {', '.join(served)} and none named {name!r}"}
    return Signal(
        name="scheduler-profile-missing", params=params, blocking=True, confidence=0.85,
        evidence=tuple(EvidenceItem(kind="log", summary=f"kube-scheduler configuration: profiles "
                                                        f"{', '.join(lg.profiles or ())}",
                                    source=r.location, data={"message": r.msg, "file": r.source, "line": r.line,
                                                             "profiles": list(lg.profiles or ())}, time=r.time)
                       for (lg, _), r in zip(known, configs) if r is not None),
        subject=f"Pod/{pod.key} spec.schedulerName",
        effects=(f"no scheduler profile named {name!r}",))


def _latest_kind(events: Sequence[PodLogEvent]) -> str:
    ends = [e for e in events if e.kind in _ATTEMPT_END]
    return ends[-1].kind if ends else ""


def _most_informative(hits: Sequence[PodLogEvent]) -> PodLogEvent:
    """The latest failure that carries an error text (the "Failed to bind pod" line has none)."""
    with_err = [e for e in hits if e.error]
    return (with_err or list(hits))[-1]


def _not_leader_signal(logs: Sequence[SchedulerLog], pod: m.Pod, total: int,
                       events: Sequence[PodLogEvent]) -> Signal | None:
    """Every scheduler whose log we have is still waiting for its lease, and none schedules."""
    # Only the schedulers that may serve the pod matter (profiles unknown: assume they do).
    logs = [lg for lg in logs if lg.serves(pod.scheduler_name) is not False]
    if events or not logs or any(lg.schedules or lg.leader_acquired for lg in logs):
        return None
    waiting = [(lg, lg.waiting_for_lease) for lg in logs]
    if not waiting or any(w is None for _, w in waiting):
        return None
    lg, rec = waiting[-1]
    assert rec is not None
    lock = _lock(rec) or "kube-system/kube-scheduler"
    params = {**_base(pod, total), "log_location": rec.location, "log_file": rec.source, "log_line": rec.line,
              "log_time": rec.time, "log_message": rec.msg, "error": "", "lock": lock,
              "lock_namespace": lock.split("/", 1)[0] if "/" in lock else "kube-system",
              "lock_name": lock.split("/", 1)[1] if "/" in lock else lock,
              "schedulers": len(logs), "version": lg.version or "?"}
    return Signal(
        name="scheduler-not-leader", params=params, blocking=True, confidence=0.8,
        evidence=tuple(_lease_evidence(w, f"kube-scheduler is waiting for leader lease {lock}; "
                                          "it never acquired it") for _, w in waiting if w is not None),
        subject=f"Lease/{lock}",
        effects=("the only kube-scheduler is not the leader, so it schedules nothing",))
