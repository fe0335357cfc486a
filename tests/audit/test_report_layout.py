"""The report a person reads at cluster scale (issue 18): an index first, then the cards; Markdown
in full and short (chat) modes. Measured on the 300-node cluster the issue was found on."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from podtriage.audit.command import render
from podtriage.audit.render_human import CHAT_LIMIT
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.diagnose.status import human_duration
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from report300 import write_cluster

NOW = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    snap = load_path(write_cluster(tmp_path_factory.mktemp("c300") / "c300.json"))
    return run_audit(snap, load_rules(), AuditOptions(), now=NOW)


class _Index(HTMLParser):
    """Rows of table.index (cells as text, the link of the cause) and every element id."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.rows: list[dict] = []
        self.sections: list[str] = []
        self._in_index = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "section" and a.get("id"):
            self.sections.append(a["id"])
        if tag == "table" and a.get("class") == "index":
            self._in_index = True
        if self._in_index and tag == "tr":
            self.rows.append({"cells": [], "href": None})
        if self._in_index and tag == "td":
            self._cell = []
        if self._in_index and tag == "a" and self.rows:
            self.rows[-1]["href"] = a.get("href")

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_index = False
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_html_index_first_one_row_per_finding_linked_to_its_card(report) -> None:
    html = render(report, "html")
    p = _Index()
    p.feed(html)
    rows = [r for r in p.rows if r["cells"]]
    cards = [f for f in report.findings if f.kind != "risk"] + [f for f in report.findings if f.kind == "risk"]
    assert len(rows) == len(cards) == len(report.findings) == 6
    assert [r["href"] for r in rows] == [f"#f-{f.id}" for f in cards]  # sorted by impact, like the cards
    assert all(r["href"][1:] in p.sections for r in rows)  # every link resolves to a card
    assert html.index('id="index"') < html.index('<section class="finding"')
    pvc, folded = next((r, f) for r, f in zip(rows, cards) if f.folded)
    # severity, cause, pods, workloads, namespaces, age of the oldest pod
    assert pvc["cells"][1].startswith("critical") and "83 PersistentVolumeClaims in 10 namespaces" in pvc["cells"][2]
    assert pvc["cells"][3:7] == ["83", "83", "10", human_duration(folded.oldest_seconds)]
    assert sum(1 for r in rows if "not blocking" in r["cells"][1]) == sum(1 for f in cards if f.kind == "advisory")
    assert len(set(p.ids)) == len(p.ids)  # anchors are unique


def test_html_delta_column_only_with_previous(report) -> None:
    assert "since last report" not in render(report, "html")


def test_markdown_full_has_an_index_and_anchors(report) -> None:
    md = render(report, "markdown")
    links = re.findall(r"\]\(#(f-[0-9a-f]{12})\)", md)
    anchors = re.findall(r'<a id="(f-[0-9a-f]{12})"></a>', md)
    assert links == anchors == [f"f-{f.id}" for f in report.findings]
    assert md.index("## Index") < md.index("## Summary") < md.index("## Findings")
    # the report was 2,899 lines
    assert len(md.splitlines()) < 700, len(md.splitlines())


def test_markdown_short_fits_a_chat_message(report) -> None:
    short = render(report, "markdown-short")
    assert len(short) <= CHAT_LIMIT
    lines = short.splitlines()
    assert lines[0].startswith("**podtriage audit**") and "**500 Pending pods**, 6 blocking findings" in lines[1]
    listed = [line for line in lines if re.match(r"\d+\. ", line)]
    assert len(listed) == 6  # every finding fits (the top 10 are listed; see the next test for more)
    assert [re.search(r"\*\*(.+?)\*\*", line)[1] for line in listed] == [
        f.root_cause.title for f in report.findings[:10]]
    assert "more finding(s)" not in short
    assert "83 PersistentVolumeClaims in 10 namespaces · 83 pods" in short


def test_markdown_short_holds_its_bound_whatever_the_names(report) -> None:
    huge = "x" * 5000
    many = tuple(replace(f, id=f"{i:012x}", subject=f"{huge}-{i}",
                         root_cause=replace(f.root_cause, title=f.root_cause.title + " " + huge))
                 for i, f in enumerate(report.findings * 30))
    big = replace(report, findings=many, source={**report.source, "path": huge}, scope={"namespaces": [huge] * 50,
                                                                                        "selector": huge})
    short = render(big, "markdown-short")
    assert len(short) <= CHAT_LIMIT, len(short)
    listed = [line for line in short.splitlines() if re.match(r"\d+\. ", line)]
    assert listed and all(len(line) <= 320 for line in listed)
    shown = len(listed)
    assert f"_… {len(many) - shown:,} more finding(s) ({sum(1 for f in many[shown:] if f.kind == 'blocking'):,} " \
           "blocking)" in short


def test_markdown_short_with_nothing_pending() -> None:
    from pathlib import Path

    snap = load_path(Path(__file__).resolve().parents[2] / "fixtures" / "cases" / "running-pod.yaml")
    r = run_audit(snap, load_rules(), AuditOptions(risks=False), now=NOW)
    short = render(r, "markdown-short")
    assert "Nothing Pending in scope." in short and "passes" in short
