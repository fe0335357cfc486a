"""The HTML audit report of the 300-node cluster (issue 18), opened in a real headless Chromium.

`podtriage audit --from FILE -o html` as a user runs it, then Debian's `chromium` driven over the
DevTools protocol (tests/e2e/browser.py): the page's height stays within a bound, every index link
lands on its card, a folded list opens with a real click and shows every object, and no label of
a causal-chain picture spills out of its box. Screenshots go to `.ci-artifacts/` (git-ignored)
for CI to keep; their paths are printed.

Outside CI a missing chromium skips these tests; with CI=true it fails them, like the Go toolchain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from report300 import ARGS, write_cluster

from .browser import Chromium, find_chromium

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".ci-artifacts"
VIEWPORT = (1280, 900)
# The page was 53,136 px high in Chromium at 1280 px (93 cards); 12 cards and an index took ~8,100.
PAGE_HEIGHT_LIMIT = 10_000
# One finding per cause the generator gave its Pending pods (benchmarks/check_generated_causes.py).
FINDINGS = 6


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _say(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Printed even under `pytest -q` (the screenshot paths and figures are for whoever reads the log)."""
    with capsys.disabled():
        print(f"\n{line}")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("report300")
    cluster = write_cluster(d / "c300.json")
    out = d / "report.html"
    env = {**os.environ}
    env.pop("PODTRIAGE_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", "--from", str(cluster), "-o", "html",
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
                       check=False)
    assert p.returncode == 1, p.stderr  # blocking findings: exit 1, the report written first
    return out


@pytest.fixture(scope="module")
def browser() -> Chromium:
    binary = find_chromium()
    if binary is None:
        if _in_ci():
            pytest.fail("chromium is missing: tools/browser/install.sh installs Debian's package in CI")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    with Chromium(binary, width=VIEWPORT[0], height=VIEWPORT[1]) as b:
        yield b


@pytest.fixture()
def page(browser: Chromium, report_html: Path) -> Chromium:
    browser.open(report_html.as_uri())
    return browser


def test_the_page_height_stays_within_a_bound(page: Chromium, capsys: pytest.CaptureFixture[str]) -> None:
    m = page.eval("""({height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth,
                      cards: document.querySelectorAll('section.finding').length,
                      index: document.querySelectorAll('table.index tr').length - 1})""")
    shot = page.screenshot(ARTIFACTS / "audit-300-report-top.png")
    _say(capsys, f"audit report of generate_cluster.py {' '.join(ARGS)}: {m['height']:,} px high at "
                  f"{VIEWPORT[0]} px, {m['cards']} finding cards, {m['index']} index rows; screenshot {shot}")
    assert m["cards"] == m["index"] == FINDINGS
    assert m["height"] <= PAGE_HEIGHT_LIMIT, m
    assert m["width"] <= VIEWPORT[0], m  # nothing forces a horizontal scroll


def test_every_index_link_lands_on_its_card(page: Chromium) -> None:
    links = page.eval("""[...document.querySelectorAll('table.index a[href^="#"]')].map(a => {
        const t = document.getElementById(a.getAttribute('href').slice(1));
        return {href: a.getAttribute('href'), tag: t && t.tagName, cls: t && t.className};})""")
    assert len(links) == FINDINGS
    assert all(x["tag"] == "SECTION" and x["cls"] == "finding" for x in links), links
    # a real click on the folded finding's row: the browser scrolls its card to the top
    href = page.eval("""(() => {const s = document.querySelector('details.folded').closest('section');
                              return '#' + s.id;})()""")
    x, y = page.eval(f"""(() => {{const a = document.querySelector('table.index a[href="{href}"]');
                             a.scrollIntoView({{block: 'center'}}); const r = a.getBoundingClientRect();
                             return [r.left + 5, r.top + r.height / 2];}})()""")
    page.click(x, y)
    page.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    where = page.eval(f"""({{hash: location.hash,
                          top: document.querySelector('{href}').getBoundingClientRect().top}})""")
    assert where["hash"] == href and abs(where["top"]) < 2, where
    # and each card links back to the index
    assert page.eval("document.querySelectorAll('section.finding a[href=\"#index\"]').length") == FINDINGS


def test_a_folded_list_expands_with_a_click(page: Chromium, capsys: pytest.CaptureFixture[str]) -> None:
    before = page.eval("""(() => {const d = document.querySelector('details.folded');
        d.scrollIntoView({block: 'start'}); const s = d.querySelector('summary').getBoundingClientRect();
        return {open: d.open, rows: [...d.querySelectorAll('tr')].filter(r => r.checkVisibility()).length,
                summary: d.querySelector('summary').textContent, x: s.left + 10, y: s.top + s.height / 2,
                box: d.getBoundingClientRect().height, height: document.documentElement.scrollHeight};})()""")
    assert before["open"] is False and before["rows"] == 0  # collapsed: nothing of the list is laid out
    assert before["summary"].startswith("83 PersistentVolumeClaims in ")
    page.click(before["x"], before["y"])
    after = page.eval("""(() => {const d = document.querySelector('details.folded');
        return {open: d.open, rows: [...d.querySelectorAll('tr')].filter(r => r.checkVisibility()).length,
                names: [...d.querySelectorAll('tr td:first-child')].map(td => td.textContent),
                box: d.getBoundingClientRect().height, height: document.documentElement.scrollHeight};})()""")
    assert after["open"] is True
    assert after["rows"] == 83 + 1  # every claim, and the header
    assert len(set(after["names"])) == 83 and all(n.startswith("data-pending-pvc-missing-") for n in after["names"])
    assert after["box"] > before["box"] + 83 * 15 and after["height"] > before["height"]
    shot = page.screenshot(ARTIFACTS / "audit-300-report-folded-list.png")
    _say(capsys, f"folded list expanded: {after['rows'] - 1} claims; screenshot {shot}")


def test_causal_chain_labels_stay_inside_their_boxes(page: Chromium) -> None:
    spills = page.eval("""(() => {
        const out = [];
        let texts = 0;
        for (const g of document.querySelectorAll('svg.chain g.box')) {
          const box = g.querySelector('rect').getBBox();
          for (const t of g.querySelectorAll('text')) {
            texts++;
            const b = t.getBBox();
            if (b.x < box.x || b.x + b.width > box.x + box.width || b.y < box.y ||
                b.y + b.height > box.y + box.height)
              out.push({text: t.textContent, box: [box.x, box.y, box.width, box.height],
                        bbox: [b.x, b.y, b.width, b.height]});
          }
        }
        return {spills: out, texts};})()""")
    assert spills["texts"] > 50  # every card has a picture with a few lines per box
    assert spills["spills"] == [], spills["spills"][:5]
