#!/usr/bin/env python3
"""Is the generated audit right by construction? The generator knows why it made each pod Pending
(annotation benchmarks.podtriage.dev/pending-cause); this checks that every blocking finding of
`podtriage audit` names that cause for every pod it counts, and that every Pending pod is counted
by at least one.

    python benchmarks/generate_cluster.py --nodes 300 --pods 6000 --pending 500 --seed 3 -o /tmp/c.json
    python benchmarks/check_generated_causes.py /tmp/c.json          # runs the audit itself
    python benchmarks/check_generated_causes.py /tmp/c.json --report audit.json

Prints the share of pods whose primary finding names their cause, per cause, and every finding
that counts a pod under another cause; exits 1 unless the share is 100 %.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.generate_cluster import CAUSE_ANNOTATION  # noqa: E402

# What a correct answer says for each generated cause: the rule (or one of them) and a text the
# finding must name (the taint, the label key, the claim).
EXPECTED: dict[str, tuple[set[str], str]] = {
    "gpu-taint": ({"taint-untolerated"}, "nvidia.com/gpu=present:NoSchedule"),
    "selector-absent": ({"node-selector-key-absent"}, "gpu-node"),
    "too-large": ({"pod-larger-than-any-node"}, "cpu"),
    "pvc-missing": ({"pvc-not-found"}, "data-pending-pvc-missing-"),
    "deprecated-zone": ({"deprecated-label"}, "failure-domain.beta.kubernetes.io/zone"),
    "infra-taint": ({"taint-untolerated"}, "dedicated=infra:NoSchedule"),
    # generate_cluster.py --distinct-pending
    "daemonset-no-room": ({"insufficient-resources"}, "cpu"),
    "job-queue-selector": ({"node-selector-key-absent"}, "batch.example.com/queue"),
    "job-gpu-too-large": ({"pod-larger-than-any-node"}, "nvidia.com/gpu"),
}


def causes_of(snapshot: Path) -> dict[str, str]:
    """namespace/name -> the generator's cause, for every annotated pod."""
    doc = json.loads(snapshot.read_text())
    out = {}
    for it in doc.get("items", ()):
        if it.get("kind") == "Pod":
            cause = (it["metadata"].get("annotations") or {}).get(CAUSE_ANNOTATION)
            if cause:
                out[f"{it['metadata']['namespace']}/{it['metadata']['name']}"] = cause
    return out


def names(finding: dict[str, Any], cause: str) -> bool:
    rules, text = EXPECTED[cause]
    rc = finding.get("rootCause") or {}
    blob = " ".join(str(x) for x in (finding.get("headline", ""), finding.get("subject", ""), rc.get("message", ""),
                                      rc.get("subject", "")))
    return finding.get("rule") in rules and text in blob


def _pods(f: dict[str, Any]) -> list[str]:
    return [x if isinstance(x, str) else f"{x.get('namespace')}/{x.get('name')}" for x in f.get("pods", ())]


def check(report: dict[str, Any], causes: dict[str, str]) -> tuple[Counter, Counter, list[str]]:
    """Per cause, the pods every blocking finding of which names their cause (at least one does),
    the pods per cause, and the findings that count a pod under another cause."""
    counted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    wrong: list[str] = []
    for f in report.get("findings", ()):
        if not f.get("blocking", True):
            continue
        bad: dict[str, int] = defaultdict(int)
        for key in _pods(f):
            counted[key].append(f)
            cause = causes.get(key)
            if cause is not None and not names(f, cause):
                bad[cause] += 1
        for cause, n in bad.items():
            wrong.append(f"finding {f['id']} ({f['rule']}: {f.get('headline', '')[:120]}) counts {n} pod(s) "
                         f"made Pending by {cause}")
    ok, total = Counter(), Counter()
    for key, cause in causes.items():
        total[cause] += 1
        fs = counted.get(key, [])
        if fs and all(names(f, cause) for f in fs):
            ok[cause] += 1
    return ok, total, wrong


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("snapshot", type=Path)
    ap.add_argument("--report", type=Path, help="an `audit -o json` of the snapshot (default: run it)")
    args = ap.parse_args(argv)
    if args.report:
        report = json.loads(args.report.read_text())
    else:
        run = subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", "--from", str(args.snapshot), "-o",
                              "json", "--no-progress"], capture_output=True, text=True)
        if run.returncode not in (0, 1):
            print(run.stderr, file=sys.stderr)
            return 2
        report = json.loads(run.stdout)
    ok, total, wrong = check(report, causes_of(args.snapshot))
    n_ok, n = sum(ok.values()), sum(total.values())
    print(f"pods whose blocking findings all name the generated cause: {n_ok}/{n} = {100 * n_ok / max(n, 1):.2f}%")
    for cause in sorted(total):
        print(f"  {cause:16} {ok[cause]}/{total[cause]}")
    print(f"findings counting a pod under another cause: {len(wrong)}")
    for w in wrong[:20]:
        print("  " + w)
    return 0 if n and n_ok == n and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
