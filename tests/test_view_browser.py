"""`funsearch view` in real headless Chromium (Debian's package, which scripts/setup.sh installs as root), driven
over the DevTools protocol (tests/view_browser.py). What a person checks: the best score shown is `show --json`'s,
the lineage has a node per registered program (plus the seed), clicking the best node shows its source; hostile
text is shown as text and nothing runs or loads, live and in the --html file; the page follows a run as it is
written; a sweep's points open their runs; 10^5 samples load in seconds."""
import re
import subprocess
import sys
import time

import pytest
from view_browser import Browser, chromium_path
from view_data import ROOT, cli, copy_store, hostile_copy, large_store, scripted_run, show_json, tiny_sweep

from funsearch.store.run_store import RunStore

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="chromium is not installed (bash scripts/setup.sh installs it as root)")
READY = "document.body.dataset.ready === '1'"


class View:
    """`funsearch view PATH --port 0` as a subprocess; `url` from the line it prints."""

    def __init__(self, path):
        self.proc = subprocess.Popen([sys.executable, "-m", "funsearch", "view", str(path), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, (line, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.url = match.group(0)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def view():
    started = []

    def start(path):
        started.append(View(path))
        return started[-1]
    yield start
    for v in started:
        v.close()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return scripted_run(tmp_path_factory.mktemp("browser") / "runs")


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def programs_of(run_dir):
    store = RunStore(run_dir, read_only=True)
    try:
        return store.programs()
    finally:
        store.close()


def test_the_page_shows_what_show_json_says_and_the_best_nodes_source(run_dir, browser, view):
    v = view(run_dir)
    browser.goto(v.url)
    browser.wait_for(READY)
    shown = show_json(run_dir)
    assert float(browser.js("document.getElementById('best-score').textContent")) == shown["best"]["score"]
    programs = programs_of(run_dir)
    assert browser.js("document.querySelectorAll('.lineage .node[data-kind=program]').length") == len(programs)
    assert browser.js("document.querySelectorAll('.lineage .node').length") == len(programs) + 1  # + the seed
    best = max(programs, key=lambda p: (p["score"], -p["id"]))
    assert best["id"] == shown["best"]["id"]
    browser.click(f".lineage .node[data-program-id='{best['id']}']")
    browser.wait_for(f"document.querySelector('#detail .detail[data-sample-id=\"{best['sample_id']}\"]')")
    assert browser.js("document.querySelector('#detail pre.source').textContent") == best["source"]
    assert browser.js("document.querySelectorAll('#detail pre.diff').length") >= 1
    assert browser.js("document.querySelectorAll('#detail table.instances tbody tr').length") > 0
    assert browser.js("document.querySelector('#detail pre.completion').textContent") != ""
    # a failed sample from the table: its class and message
    browser.click("#samples tr[data-sample-id='3']")
    browser.wait_for("document.querySelector('#detail .detail[data-sample-id=\"3\"]')")
    assert browser.js("document.querySelector('#detail .badge.fail').textContent") == "syntax_error"


def _assert_inert(browser, allowed_prefix):
    """The hostile text is on the page as text; nothing it holds ran or loaded."""
    assert browser.js("typeof window.__pwned") == "undefined"
    assert browser.js("document.querySelectorAll('img, iframe, link[rel=stylesheet], object, embed').length") == 0
    assert browser.js("document.scripts.length") <= 2  # the page's script (and the JSON block of an --html file)
    text = browser.js("document.body.textContent")
    assert "<script>window.__pwned = 1</script>" in text and "</textarea>" in text
    requests = browser.requests()
    assert requests and all(u.startswith(allowed_prefix) for u in requests), requests
    assert not any("example.invalid" in u or u.endswith("/x") for u in requests)


def _assert_policy_blocks_markup(browser):
    """Even markup that got into the document could neither run nor load: the Content-Security-Policy forbids
    any script but the page's own and any request but to the page's own server."""
    browser.js("(() => { const s = document.createElement('script'); s.textContent = 'window.__csp = 1';"
               " document.body.appendChild(s); const i = document.createElement('img');"
               " i.src = 'http://example.invalid/probe.png'; document.body.appendChild(i); })()")
    time.sleep(1)
    assert browser.js("typeof window.__csp") == "undefined"
    loaded = [e for e in browser.events if e.get("method") == "Network.responseReceived"
              and "example.invalid" in e["params"]["response"]["url"]]
    assert loaded == []


def _open_every_detail(browser):
    ids = browser.js("[...document.querySelectorAll('#samples tr[data-sample-id]')].map(e => e.dataset.sampleId)")
    assert len(ids) == 10
    for sid in ids:
        browser.click(f"#samples tr[data-sample-id='{sid}']")
        browser.wait_for(f"document.querySelector('#detail .detail[data-sample-id=\"{sid}\"]')")
        browser.js("document.querySelectorAll('#detail details').forEach(d => d.open = true)")
        time.sleep(0.2)
    for pid in browser.js("[...document.querySelectorAll('.lineage .node')].map(e => e.dataset.programId)"):
        browser.click(f".lineage .node[data-program-id='{pid}']")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hostile(run_dir, tmp_path_factory):
    return hostile_copy(run_dir, tmp_path_factory.mktemp("hostile") / "run")


def test_hostile_text_is_shown_as_text_in_the_live_page(hostile, view):
    v = view(hostile)
    with Browser() as b:
        b.goto(v.url)
        b.wait_for(READY)
        _open_every_detail(b)
        _assert_inert(b, v.url)
        _assert_policy_blocks_markup(b)


def test_hostile_text_is_shown_as_text_in_the_html_file(hostile, tmp_path):
    out = tmp_path / "view.html"
    done = cli("view", str(hostile), "--html", str(out))
    assert done.returncode == 0, done.stderr
    with Browser() as b:
        b.goto(out.as_uri())
        b.wait_for(READY)
        assert float(b.js("document.getElementById('best-score').textContent")) == show_json(hostile)["best"]["score"]
        _open_every_detail(b)
        _assert_inert(b, out.as_uri())
        assert b.js("document.querySelector('#detail pre.source') !== null")
        _assert_policy_blocks_markup(b)


def test_the_page_follows_a_run_being_written(run_dir, tmp_path, browser, view):
    live = copy_store(run_dir, tmp_path / "live")
    v = view(live)
    browser.goto(v.url)
    browser.wait_for(READY)
    before = float(browser.js("document.getElementById('best-score').textContent"))
    store = RunStore(live)
    try:
        n = store.count("samples")
        store.add_sample({"id": n, "island": 0, "parent_ids": [1], "model": "small", "source": "def priority(): pass",
                          "program_hash": "new", "measured_cost": 0.0, "modelled_cost": 1e-6})
        store.add_program({"id": 99, "sample_id": n, "island": 0, "hash": "new", "source": "def priority(): pass",
                           "score": before + 1.0, "signature": [], "new_best": 1})
    finally:
        store.close()
    browser.wait_for(f"document.getElementById('best-score').dataset.value === '{before + 1.0}'", timeout=30)
    assert browser.js("document.getElementById('sample-count').textContent") == str(n + 1)
    assert browser.js("document.querySelectorAll('.lineage .node[data-program-id=\"99\"]').length") == 1


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    return tiny_sweep(tmp_path_factory.mktemp("sweep") / "tiny")


def test_the_sweep_page_links_each_point_to_its_run(sweep_dir, browser, view):
    v = view(sweep_dir)
    browser.goto(v.url)
    browser.wait_for(READY)
    assert browser.js("document.querySelectorAll('table.answers tbody tr').length") == 2  # two budgets
    assert browser.js("document.querySelectorAll('table.decomposition tbody tr').length") == 2  # evolve, best-of-n
    cells = set(browser.js("[...document.querySelectorAll('a.ptlink circle')].map(e => e.dataset.cell)"))
    assert cells == {p.name for p in (sweep_dir / "cells").iterdir()}  # every run has its points
    browser.click("a.ptlink circle")  # points of runs may overlap: the one on top gets the click
    browser.wait_for("location.hash.startsWith('#/run/')")
    cell = browser.js("decodeURIComponent(location.hash.slice(6))")
    assert cell in cells
    browser.wait_for(f"document.body.dataset.ready === '1' && document.querySelector('.run[data-run=\"{cell}\"]')")
    assert browser.js("document.querySelectorAll('.lineage .node').length") >= 1


def test_a_run_of_100k_samples_loads_in_seconds(tmp_path, browser, view):
    written = large_store(tmp_path / "large")
    v = view(tmp_path / "large")
    start = time.monotonic()
    browser.goto(v.url)
    browser.wait_for(READY, timeout=120)
    seconds = time.monotonic() - start
    assert seconds < 30, seconds
    assert browser.js("document.getElementById('sample-count').textContent") == str(written["samples"])
    assert browser.js("document.querySelectorAll('.lineage .node').length") < written["programs"]
