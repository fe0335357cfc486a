"""Run every fuzz target of tests/property with many examples and print a table.

    python benchmarks/fuzz.py                       # 10,000 examples per target
    python benchmarks/fuzz.py -n 500 -t messages,schedlog
    python benchmarks/fuzz.py --seed 1 --out fuzz.md

For each target: examples run, failures (distinct ones, as hypothesis reports them after
shrinking; each is printed with its minimal example), wall time. Exit code 1 when any target
failed. The contract each example is held to is in tests/property/harness.py.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import given, seed, settings  # noqa: E402

from tests.property.profiles import register_profiles  # noqa: E402
from tests.property.targets import TARGETS, Target  # noqa: E402


def run(target: Target, examples: int, seed_value: int | None) -> tuple[int, list[str], float]:
    """-> (examples run, failure descriptions, seconds)."""
    count = 0

    @settings(settings.get_profile("podtriage-fuzz"), max_examples=examples)
    @given(target.strategy)
    def prop(example: object) -> None:
        nonlocal count
        count += 1
        target.check(example)

    if seed_value is not None:
        prop = seed(seed_value)(prop)
    failures: list[str] = []
    t0 = time.perf_counter()
    try:
        prop()
    except Exception as exc:  # noqa: BLE001 - reported below; an ExceptionGroup holds distinct failures
        failures = [_describe(e) for e in getattr(exc, "exceptions", None) or [exc]]
    return count, failures, time.perf_counter() - t0


def _describe(exc: BaseException) -> str:
    notes = "\n".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {str(exc)[:500]}\n{notes[:3000]}\n" + "".join(
        traceback.format_exception(exc)[-6:])[:3000]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--examples", type=int, default=10_000, help="examples per target (default 10000)")
    ap.add_argument("-t", "--targets", default="", help="comma-separated target names (default: all)")
    ap.add_argument("--seed", type=int, default=None, help="fixed seed for a reproducible run")
    ap.add_argument("--out", default=None, help="also write the table (markdown) to this file")
    args = ap.parse_args(argv)
    register_profiles()
    by_name = {t.name: t for t in TARGETS}
    names = args.targets.split(",") if args.targets else list(by_name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    wanted = [by_name[n] for n in names]
    rows = []
    total_failures = 0
    for t in wanted:
        print(f"# {t.name}: {t.what} ...", file=sys.stderr, flush=True)
        n, failures, secs = run(t, args.examples, args.seed)
        total_failures += len(failures)
        for f in failures:
            print(f"## FAILURE in {t.name}\n{f}", file=sys.stderr, flush=True)
        rows.append((t.name, n, len(failures), secs))
        print(f"#   {n} examples, {len(failures)} failures, {secs:.1f}s", file=sys.stderr, flush=True)
    lines = ["| target | examples run | failures | time |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {n:,} | {f} | {secs:.1f} s |" for name, n, f, secs in rows]
    lines.append(f"| **total** | {sum(r[1] for r in rows):,} | {total_failures} | {sum(r[3] for r in rows):.1f} s |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n", encoding="utf-8")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
