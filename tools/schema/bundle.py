#!/usr/bin/env python3
"""Embed explain-v1.json in audit-v1.json, so that the audit schema validates offline as shipped.

audit-v1.json reuses explain-v1.json's definitions (`"$ref": "explain-v1.json#/$defs/rootCause"`).
Resolved against audit-v1.json's `$id`, that reference names https://podtriage.dev/schema/explain-v1.json:
a validator given only audit-v1.json would have to fetch it, or be handed both. JSON Schema 2020-12
compound documents solve it: explain-v1.json, `$id` included, is embedded as
`$defs["explain-v1.json"]`, and every 2020-12 validator resolves the reference to the embedded copy.

  python tools/schema/bundle.py           # rewrite podtriage/schema/audit-v1.json
  python tools/schema/bundle.py --check   # exit 1 when the embedded copy is out of date (tests run it)

Edit explain-v1.json, then run this: the embedded copy is generated, never edited by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[2] / "podtriage" / "schema"
KEY = "explain-v1.json"


def bundled() -> str:
    explain = json.loads((SCHEMA / "explain-v1.json").read_text(encoding="utf-8"))
    audit = json.loads((SCHEMA / "audit-v1.json").read_text(encoding="utf-8"))
    defs = {k: v for k, v in audit.get("$defs", {}).items() if k != KEY}
    defs[KEY] = explain
    audit["$defs"] = defs
    return json.dumps(audit, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    target = SCHEMA / "audit-v1.json"
    text = bundled()
    if "--check" in argv:
        if target.read_text(encoding="utf-8") != text:
            print(f"{target} does not embed the current explain-v1.json: run python tools/schema/bundle.py",
                  file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
