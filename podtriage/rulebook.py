"""The rules engine: load the YAML root-cause catalogue, validate it, match signals, render root causes.

Rules are data (one YAML file per rule in `rules/`, shipped as `podtriage/builtin_rules`); this module
is the only code that knows their format. A broken rule file is reported with its file, line and
field, and `validate_dir` lists every problem instead of stopping at the first.
"""

from __future__ import annotations

import difflib
import re
import string
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, RuleError
from .findings import CATEGORIES, SEVERITIES, RootCause, Signal
from .loaders.nesting import TOO_DEEP, check_depth, is_depth_error



def _builtin_dir() -> Path:
    """The built-in catalogue: `podtriage/builtin_rules` in an installed package (setup.py maps the
    repository's `rules/` there), else `rules/` itself in a source checkout (an editable install)."""
    packaged = Path(__file__).parent / "builtin_rules"
    checkout = Path(__file__).parents[1]
    if not packaged.is_dir() and (checkout / "pyproject.toml").is_file() and (checkout / "rules").is_dir():
        return checkout / "rules"
    return packaged  # when missing, load_rules says "rules directory not found" with this path


BUILTIN_DIR = _builtin_dir()

UNMATCHED_RULE = "unmatched-signal"

TOP_LEVEL_FIELDS = (
    "id",
    "category",
    "severity",
    "title",
    "match",
    "priority",
    "message",
    "fix",
    "fix_command",
    "references",
    "doc",
)
REQUIRED_FIELDS = ("id", "category", "severity", "title", "message", "fix")
MATCH_FIELDS = ("signal", "when")
DOC_FIELDS = ("what", "why", "example", "fix")
WHEN_OPERATORS = ("in", "not_in", "regex", "exists")
TEMPLATE_FIELDS = ("message", "fix", "fix_command")

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PLACEHOLDER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMATTER = string.Formatter()


@dataclass(frozen=True)
class Rule:
    """One root cause of the catalogue, as loaded from its YAML file."""

    id: str
    category: str
    severity: str
    title: str
    signal: str
    when: Mapping[str, Any] = field(default_factory=dict, hash=False)
    priority: int = 0
    message: str = ""
    fix: str = ""
    fix_command: str = ""
    references: tuple[str, ...] = ()
    doc: Mapping[str, str] = field(default_factory=dict, hash=False)
    path: str = ""
    line: int = 1
    builtin: bool = False

    def matches(self, signal: Signal) -> bool:
        """True when the rule explains this signal: same name, and every `when` condition holds."""
        if signal.name != self.signal:
            return False
        return all(_condition_holds(signal.params, key, cond) for key, cond in self.when.items())

    def render(self, signal: Signal) -> RootCause:
        """The root cause this rule states for `signal`, templates filled from its params."""
        params = template_params(signal)
        return RootCause(
            rule=self.id,
            category=self.category,
            severity=self.severity,
            title=self.title,
            message=render_template(self.message, params),
            fix=render_template(self.fix, params),
            fix_command=render_template(self.fix_command, params) if self.fix_command else "",
            evidence=tuple(signal.evidence),
            confidence=signal.confidence,
            blocking=signal.blocking,
            subject=signal.subject,
            nodes=tuple(signal.nodes),
            references=self.references,
            signal=signal.name,
            attempts=signal.attempts,
        )


@dataclass(frozen=True)
class RuleSet:
    """The loaded catalogue, in file order (built-ins first, then user directories)."""

    rules: tuple[Rule, ...]

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def get(self, rule_id: str) -> Rule:
        """The rule with this id; an InputError suggesting close ids if there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        close = difflib.get_close_matches(rule_id, self.ids, n=3, cutoff=0.6)
        raise InputError(
            f"unknown rule '{rule_id}'", hint=("did you mean: " + ", ".join(close)) if close else None
        )

    def candidates(self, signal_name: str) -> list[Rule]:
        """Rules written for a signal name, whatever their `when`."""
        return [r for r in self.rules if r.signal == signal_name]

    @cached_property
    def _by_signal(self) -> dict[str, list[tuple[int, Rule]]]:
        """Signal name -> (file order, rule) of the rules written for it."""
        out: dict[str, list[tuple[int, Rule]]] = {}
        for order, rule in enumerate(self.rules):
            out.setdefault(rule.signal, []).append((order, rule))
        return out

    def match(self, signal: Signal) -> Rule | None:
        """The rule that explains `signal`: highest priority, then user rules over built-ins, then file order."""
        best: tuple[tuple[int, int, int], Rule] | None = None
        for order, rule in self._by_signal.get(signal.name, ()):
            if not rule.matches(signal):
                continue
            key = (rule.priority, 0 if rule.builtin else 1, -order)
            if best is None or key > best[0]:
                best = (key, rule)
        return best[1] if best else None

    def apply(self, signals: Sequence[Signal]) -> list[RootCause]:
        """One root cause per signal, in signal order; a signal no rule explains is kept as 'unmatched-signal'."""
        out = []
        for signal in signals:
            rule = self.match(signal)
            out.append(rule.render(signal) if rule else _unmatched(signal))
        return out


# --- templates -------------------------------------------------------------------------------


def template_params(signal: Signal) -> dict[str, Any]:
    """Signal params plus a few derived ones every template may use (never overriding the signal's)."""
    params: dict[str, Any] = dict(signal.params)
    pod = params.get("pod")
    parts = pod.split("/") if isinstance(pod, str) else []
    if len(parts) == 2:  # "namespace/name"
        params.setdefault("namespace", parts[0])
        params.setdefault("pod_name", parts[1])
    elif len(parts) == 3:  # an owner for pods never created: "ReplicaSet/namespace/name"
        params.setdefault("namespace", parts[1])
    params.setdefault("nodes", list(signal.nodes))
    params.setdefault("subject", signal.subject)
    params.setdefault("signal", signal.name)
    return params


def format_value(value: Any) -> str:
    """How a param reads in a message: lists joined with ', ', booleans as true/false, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ", ".join(format_value(v) for v in items)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def render_template(template: str, params: Mapping[str, Any]) -> str:
    """Fill `{name}` placeholders; an unknown one renders as `<name?>`. Never raises."""
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError:
        return template  # validation rejects these; a hand-built Rule still must not crash a report
    out = []
    for literal, name, spec, conversion in parts:
        out.append(literal)
        if name is None:
            continue
        if name not in params:
            out.append(f"<{name}?>")
            continue
        value = params[name]
        if conversion == "r":
            text = repr(value)
        else:
            text = format_value(value)
        if spec:
            try:
                text = format(value if not isinstance(value, (list, tuple, bool)) else text, spec)
            except (ValueError, TypeError):
                pass
        out.append(text)
    return "".join(out)


def placeholders(template: str) -> list[str]:
    """Placeholder names used by a (valid) template."""
    try:
        return [name for _, name, _, _ in _FORMATTER.parse(template) if name is not None]
    except ValueError:
        return []


def _template_problems(template: str) -> list[str]:
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        return [f"bad template syntax: {exc} (write literal braces as '{{{{' and '}}}}')"]
    problems = []
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if not _PLACEHOLDER_RE.match(name):
            problems.append(
                f"bad placeholder '{{{name}}}': use a plain parameter name such as '{{taint}}'"
                " (write literal braces as '{{' and '}}')"
            )
        elif spec and "{" in spec:
            problems.append(f"nested placeholder in the format spec of '{{{name}}}' is not supported")
        elif conversion not in (None, "s", "r"):
            problems.append(f"bad conversion '!{conversion}' in '{{{name}}}'")
    return problems


# --- `when` conditions -------------------------------------------------------------------------


def _norm(value: Any) -> str:
    return format_value(value)


def _present(params: Mapping[str, Any], key: str) -> bool:
    value = params.get(key)
    if value is None:
        return False
    return not (isinstance(value, (str, list, tuple, set, frozenset, Mapping)) and len(value) == 0)


def _condition_holds(params: Mapping[str, Any], key: str, cond: Any) -> bool:
    if isinstance(cond, Mapping):
        ((op, arg),) = cond.items()
        op = str(op)
        if op == "exists":
            return _present(params, key) is bool(arg)
        if key not in params:
            return op == "not_in"
        value = _norm(params[key])
        if op == "in":
            return value in {_norm(a) for a in arg}
        if op == "not_in":
            return value not in {_norm(a) for a in arg}
        if op == "regex":
            return re.search(str(arg), value) is not None
        return False
    if cond is None:
        return params.get(key) is None
    return key in params and _norm(params[key]) == _norm(cond)


# --- loading and validation ---------------------------------------------------------------------


def _key_lines(node: yaml.Node, prefix: str = "") -> dict[str, int]:
    """Dotted field path -> 1-based line of its key, for every mapping key in the document."""
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            name = f"{prefix}{key_node.value}"
            lines.setdefault(name, key_node.start_mark.line + 1)
            lines.update({k: v for k, v in _key_lines(value_node, name + ".").items() if k not in lines})
    return lines


def _duplicate_keys(node: yaml.Node, prefix: str = "") -> list[tuple[str, int]]:
    dups: list[tuple[str, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = f"{prefix}{key_node.value}"
            if key_node.value in seen:
                dups.append((name, key_node.start_mark.line + 1))
            seen.add(key_node.value)
            dups += _duplicate_keys(value_node, name + ".")
    return dups


class _Problems:
    """Collects RuleErrors for one file, locating each field by its line."""

    def __init__(self, path: str, lines: Mapping[str, int]) -> None:
        self.path = path
        self.lines = lines
        self.errors: list[RuleError] = []

    def add(self, field_name: str | None, message: str, *, at: str | None = None) -> None:
        where = at if at is not None else field_name
        line = self.lines.get(where, 1) if where else 1
        self.errors.append(RuleError(self.path, message, line=line, field=field_name))


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# The C-accelerated variant of SafeLoader when libyaml is there: same safe constructors, same marks.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose_and_construct(text: str) -> tuple[list[yaml.Node], list[Any]]:
    """Parse once: the node trees (for line numbers) and the constructed documents."""
    check_depth(text, _SafeLoader)  # libyaml's composer would overflow the C stack (see loaders/nesting.py)
    loader = _SafeLoader(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        return nodes, [loader.construct_document(n) for n in nodes]
    finally:
        loader.dispose()


def parse_rule_file(path: str | Path, *, builtin: bool = False) -> tuple[Rule | None, list[RuleError]]:
    """Read and validate one rule file: the rule (None if unusable) and every problem found."""
    spath = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [RuleError(spath, f"cannot read rule file: {exc}")]
    try:
        nodes, docs = _compose_and_construct(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = TOO_DEEP if is_depth_error(exc) else getattr(exc, "problem", None) or str(exc)
        if "mapping values are not allowed" in problem:
            problem += " (quote a value that contains ': ')"
        return None, [RuleError(spath, f"YAML syntax error: {problem}", line=line)]
    except (ValueError, RecursionError) as exc:  # ValueError: a timestamp such as 2026-13-45
        what = TOO_DEEP if isinstance(exc, RecursionError) else f"invalid value: {exc}"
        return None, [RuleError(spath, f"YAML syntax error: {what}", line=None)]
    if len(nodes) != 1 or not isinstance(nodes[0], yaml.MappingNode) or not isinstance(docs[0], dict):
        what = "several YAML documents" if len(nodes) > 1 else "no mapping"
        return None, [RuleError(spath, f"a rule file holds exactly one YAML mapping, found {what}", line=1)]
    node, data = nodes[0], docs[0]
    p = _Problems(spath, _key_lines(node))
    for name, line in _duplicate_keys(node):
        p.errors.append(RuleError(spath, "field given twice", line=line, field=name))

    for key in data:
        if key not in TOP_LEVEL_FIELDS:
            p.add(
                str(key),
                f"unknown field{_suggest(str(key), TOP_LEVEL_FIELDS)}; allowed: "
                + ", ".join(TOP_LEVEL_FIELDS),
            )
    for key in REQUIRED_FIELDS:
        if key not in data:
            p.add(key, "required field is missing", at="")
        elif not isinstance(data[key], str) or not data[key].strip():
            p.add(key, "must be a non-empty string")

    rule_id = data.get("id")
    if isinstance(rule_id, str) and rule_id and not _ID_RE.match(rule_id):
        p.add("id", f"'{rule_id}' is not kebab-case (lowercase letters, digits and '-')")
    category = data.get("category")
    if isinstance(category, str) and category and category not in CATEGORIES:
        p.add(
            "category",
            f"unknown category '{category}'{_suggest(category, CATEGORIES)}; see findings.CATEGORIES",
        )
    severity = data.get("severity")
    if isinstance(severity, str) and severity and severity not in SEVERITIES:
        p.add(
            "severity",
            f"unknown severity '{severity}'{_suggest(severity, SEVERITIES)}; allowed: "
            + ", ".join(SEVERITIES),
        )

    signal, when = _check_match(data, p)

    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        p.add("priority", "must be an integer")
        priority = 0
    fix_command = data.get("fix_command", "")
    if fix_command is None:
        fix_command = ""
    if not isinstance(fix_command, str):
        p.add("fix_command", "must be a string")
        fix_command = ""
    for name in TEMPLATE_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            for problem in _template_problems(value):
                p.add(name, problem)

    references = data.get("references", [])
    if references is None:
        references = []
    if not isinstance(references, list) or not all(isinstance(r, str) and r for r in references):
        p.add("references", "must be a list of URLs (strings)")
        references = []

    doc = data.get("doc", {})
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        p.add("doc", "must be a mapping with " + ", ".join(DOC_FIELDS))
        doc = {}
    for key, value in doc.items():
        if key not in DOC_FIELDS:
            p.add(
                f"doc.{key}",
                f"unknown doc section{_suggest(str(key), DOC_FIELDS)}; allowed: " + ", ".join(DOC_FIELDS),
            )
        elif not isinstance(value, str):
            p.add(f"doc.{key}", "must be a string")

    if p.errors:
        p.errors.sort(key=lambda e: e.line or 0)
        return None, p.errors
    rule = Rule(
        id=str(rule_id),
        category=str(category),
        severity=str(severity),
        title=data["title"].strip(),
        signal=signal,
        when=dict(when),
        priority=priority,
        message=data["message"].strip(),
        fix=data["fix"].strip(),
        fix_command=fix_command.strip(),
        references=tuple(references),
        doc={k: str(v).rstrip() for k, v in doc.items()},
        path=spath,
        line=p.lines.get("id", 1),
        builtin=builtin,
    )
    return rule, []


def _check_match(data: Mapping[str, Any], p: _Problems) -> tuple[str, Mapping[str, Any]]:
    match = data.get("match")
    if match is None:
        p.add(
            "match.signal",
            "required field is missing (the Signal name this rule explains)",
            at="match" if "match" in data else "",
        )
        return "", {}
    if not isinstance(match, dict):
        p.add("match", "must be a mapping with 'signal' and optionally 'when'")
        return "", {}
    for key in match:
        if key not in MATCH_FIELDS:
            p.add(
                f"match.{key}",
                f"unknown field{_suggest(str(key), MATCH_FIELDS)}; allowed: " + ", ".join(MATCH_FIELDS),
            )
    signal = match.get("signal")
    if signal is None:
        p.add("match.signal", "required field is missing (the Signal name this rule explains)", at="match")
        signal = ""
    elif not isinstance(signal, str) or not _ID_RE.match(signal):
        p.add("match.signal", "must be a kebab-case signal name")
        signal = ""
    when = match.get("when", {})
    if when is None:
        when = {}
    if not isinstance(when, dict):
        p.add(
            "match.when",
            "must be a mapping of parameter -> value, {in: [...]}, {not_in: [...]}, "
            "{regex: ...} or {exists: true|false}",
        )
        return signal, {}
    for key, cond in when.items():
        name = f"match.when.{key}"
        if isinstance(cond, dict):
            if len(cond) != 1:
                p.add(name, "an operator mapping holds exactly one of: " + ", ".join(WHEN_OPERATORS))
                continue
            ((op, arg),) = cond.items()
            if op not in WHEN_OPERATORS:
                p.add(
                    f"{name}.{op}",
                    f"unknown operator '{op}'{_suggest(str(op), WHEN_OPERATORS)}; allowed: "
                    + ", ".join(WHEN_OPERATORS),
                )
            elif op in ("in", "not_in") and not (isinstance(arg, list) and all(_is_scalar(a) for a in arg)):
                p.add(f"{name}.{op}", f"'{op}' takes a list of values")
            elif op == "regex":
                try:
                    re.compile(str(arg))
                except re.error as exc:
                    p.add(f"{name}.{op}", f"invalid regular expression: {exc}")
            elif op == "exists" and not isinstance(arg, bool):
                p.add(f"{name}.{op}", "'exists' takes true or false")
        elif not _is_scalar(cond):
            p.add(name, "must be a value or an operator mapping ({in: [...]}, {regex: ...}, {exists: true})")
    return signal, when


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def load_rule_file(path: str | Path, *, builtin: bool = False) -> Rule:
    """One rule file, validated; raises the first RuleError."""
    rule, errors = parse_rule_file(path, builtin=builtin)
    if errors:
        raise errors[0]
    assert rule is not None
    return rule


def _dir_or_error(directory: str | Path) -> Path:
    d = Path(directory)
    if not d.is_dir():
        raise RuleError(str(d), "rules directory not found" if not d.exists() else "not a directory")
    return d


def _duplicate_error(rule: Rule, first: Rule) -> RuleError:
    return RuleError(
        rule.path,
        f"duplicate rule id '{rule.id}': also defined in {first.path}:{first.line}",
        line=rule.line,
        field="id",
    )


def load_rules(extra_dirs: Sequence[str | Path] = (), include_builtin: bool = True) -> RuleSet:
    """The built-in catalogue plus user rule directories; raises RuleError on the first broken file.

    A user rule with a built-in's id replaces that built-in; any other repeated id is an error.
    """
    rules: list[Rule] = []
    sources: list[tuple[Path, bool]] = [(BUILTIN_DIR, True)] if include_builtin else []
    sources += [(Path(d), False) for d in extra_dirs]
    by_id: dict[str, Rule] = {}
    for directory, builtin in sources:
        for path in _rule_files(_dir_or_error(directory)):
            rule = load_rule_file(path, builtin=builtin)
            first = by_id.get(rule.id)
            if first is not None:
                if first.builtin and not builtin:
                    rules = [r for r in rules if r.id != rule.id]  # explicit override of a built-in
                else:
                    raise _duplicate_error(rule, first)
            by_id[rule.id] = rule
            rules.append(rule)
    return RuleSet(tuple(rules))


def validate_dir(path: str | Path) -> list[RuleError]:
    """Every problem in every rule file of a directory (including repeated ids), in file order."""
    directory = Path(path)
    if not directory.is_dir():
        return [RuleError(str(directory), "rules directory not found")]
    errors: list[RuleError] = []
    by_id: dict[str, Rule] = {}
    for file in _rule_files(directory):
        rule, problems = parse_rule_file(file)
        errors += problems
        if rule is None:
            continue
        if rule.id in by_id:
            errors.append(_duplicate_error(rule, by_id[rule.id]))
        else:
            by_id[rule.id] = rule
    return errors


def _unmatched(signal: Signal) -> RootCause:
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in sorted(signal.params.items()))
    return RootCause(
        rule=UNMATCHED_RULE,
        category="other",
        severity="medium",
        title=f"Signal '{signal.name}' has no rule",
        message=f"podtriage recognised '{signal.name}' but no rule explains it ({shown or 'no parameters'})",
        fix=f"Inspect the evidence below; to explain it in future, add a rule file with `match: {{signal: "
        f"{signal.name}}}` to a rules directory (--rules DIR).",
        evidence=tuple(signal.evidence),
        confidence=signal.confidence,
        blocking=signal.blocking,
        subject=signal.subject,
        nodes=tuple(signal.nodes),
        signal=signal.name,
        attempts=signal.attempts,
    )


# --- documentation ---------------------------------------------------------------------------


def _md_escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _describe_when(when: Mapping[str, Any]) -> str:
    parts = []
    for key, cond in when.items():
        if isinstance(cond, Mapping):
            ((op, arg),) = cond.items()
            shown = (
                "[" + ", ".join(format_value(a) for a in arg) + "]"
                if isinstance(arg, list)
                else format_value(arg)
            )
            parts.append(f"`{key}` {op} `{shown}`")
        else:
            parts.append(f"`{key}` = `{format_value(cond)}`")
    return " and ".join(parts)


def render_rules_markdown(ruleset: RuleSet) -> str:
    """The rule catalogue as Markdown (docs/rules.md), one ruff-style section per rule."""
    order = {c: i for i, c in enumerate(CATEGORIES)}
    rules = sorted(
        ruleset.rules, key=lambda r: (order.get(r.category, len(order)), r.signal, r.priority, r.id)
    )
    out = [
        "# Root-cause rules",
        "",
        (
            "<!-- Generated by podtriage.rulebook.render_rules_markdown from rules/*.yaml;"
            " regenerate with `python -m podtriage.rulebook > docs/rules.md`. -->"
        ),
        "",
        (
            "Each rule explains one *signal* the diagnosis recognises. When several rules match a signal,"
            " the one with the highest `priority` wins (ties: a user rule beats a built-in, then file order)."
            " Messages and fixes are templates filled from the signal's parameters; every signal carries"
            " `pod`, `namespace`, `pod_name`, `nodes_count`, `total_nodes`, `node_examples` and `node_example`."
        ),
        "",
        (
            "Add your own rules with `--rules DIR` (one rule per `.yaml` file); a user rule with a"
            " built-in's id replaces it."
        ),
        "",
        f"{len(rules)} rules.",
        "",
        "| Rule | Category | Severity | Signal | Title |",
        "|---|---|---|---|---|",
    ]
    for r in rules:
        out.append(
            f"| [`{r.id}`](#{r.id}) | {r.category} | {r.severity} | `{r.signal}` | "
            f"{_md_escape_cell(r.title)} |"
        )
    for r in rules:
        out += [
            "",
            f"## {r.id}",
            "",
            f"**{r.title}**",
            "",
            f"Category `{r.category}` · severity `{r.severity}` · signal `{r.signal}`"
            + (f" when {_describe_when(r.when)}" if r.when else "")
            + (f" · priority {r.priority}" if r.priority else ""),
            "",
        ]
        sections = (
            ("what", "What it means"),
            ("why", "Why the pod stays Pending"),
            ("example", "Example"),
            ("fix", "How to fix"),
        )
        for key, heading in sections:
            text = r.doc.get(key, "").strip()
            if not text:
                continue
            out += [f"### {heading}", ""]
            if key == "example":
                out += ["```yaml", text, "```", ""]
            else:
                out += [text, ""]
        out += ["### Message", "", "```text", r.message, "```", "", "Fix:", "", "```text", r.fix, "```", ""]
        if r.fix_command:
            out += ["Fix command:", "", "```sh", r.fix_command, "```", ""]
        if r.references:
            out += ["References:", ""] + [f"- <{u}>" for u in r.references] + [""]
    return "\n".join(out).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m podtriage.rulebook [DIR...]`: print the catalogue docs; with dirs, validate them instead."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        sys.stdout.write(render_rules_markdown(load_rules()))
        return 0
    errors = [e for d in args for e in validate_dir(d)]
    for e in errors:
        print(e.message, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
