"""`funsearch view` without a browser: what the server answers for a real scripted run, a store of 10^5 samples,
a store with columns and failure classes it has never heard of, a store being written, hostile text in the
--html file, and bad input (not a run or sweep: one line, exit 2; the port in use: one line naming it)."""
import json
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import pytest
from view_data import cli, copy_store, hostile_copy, large_store, scripted_run, show_json

from funsearch.store.run_store import RunStore
from funsearch.view.api import Api, key
from funsearch.view.lineage import CAP
from funsearch.view.page import render
from funsearch.view.server import ServeError, ViewServer
from funsearch.view.static import collect, write_html
from funsearch.view.target import open_target


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return scripted_run(tmp_path_factory.mktemp("view") / "runs")


def programs_of(run_dir):
    store = RunStore(run_dir, read_only=True)
    try:
        return store.programs()
    finally:
        store.close()


def test_run_answer_agrees_with_show_and_the_programs_table(run_dir):
    run = Api(open_target(run_dir)).answer("run", {})
    shown = show_json(run_dir)
    assert run["best"]["score"] == shown["best"]["score"] and run["best"]["id"] == shown["best"]["id"]
    programs = programs_of(run_dir)
    nodes = run["lineage"]["nodes"]
    assert run["lineage"]["total"] == run["lineage"]["shown"] == len(programs)
    assert sorted(n[0] for n in nodes) == [0] + sorted(p["id"] for p in programs)  # 0: the seed program
    assert all(p in {n[0] for n in nodes} for n in nodes for p in n[6])
    (funnel,) = run["funnel"]
    assert funnel["samples"] == shown["samples"] == run["counts"]["samples"]
    assert sum(f["n"] for f in run["failures"]) == shown["samples"]
    (curve,) = run["curves"]
    assert curve["points"][0][3] == shown["baseline"]["score"] and curve["points"][-1][3] == shown["best"]["score"]
    assert curve["points"][-1][0] == shown["samples"]


def test_a_node_shows_source_diffs_scores_prompt_and_completion(run_dir):
    api = Api(open_target(run_dir))
    best = max(programs_of(run_dir), key=lambda p: (p["score"], -p["id"]))
    d = api.answer("sample", {"id": best["sample_id"]})
    assert d["source"] == best["source"] and d["program"]["id"] == best["id"]
    assert d["prompt"] and d["completion"] and d["evaluation"]["instances"]
    assert all(p["diff"] and p["diff"][0].startswith("---") for p in d["parents"])
    seed = api.answer("sample", {"id": -1})
    assert seed["source"].startswith("def priority(") and seed["evaluation"]["score"] == d["parents"][0]["score"]
    failed = api.answer("samples", {"failure": "syntax_error"})
    assert failed["total"] == 1
    detail = api.answer("sample", {"id": failed["rows"][0]["id"]})
    assert detail["failure"] == "syntax_error" and "never closed" in detail["message"]


def test_large_runs_are_aggregated_on_the_server(tmp_path):
    written = large_store(tmp_path / "large")
    api = Api(open_target(tmp_path / "large"))
    start = time.monotonic()
    body = api.encoded("run", {})
    seconds = time.monotonic() - start
    run = json.loads(body)
    assert seconds < 20 and len(body) < 2_000_000, (seconds, len(body))
    assert run["counts"]["samples"] == written["samples"] and run["lineage"]["total"] == written["programs"]
    assert run["lineage"]["shown"] < written["programs"] and run["best"]["score"] == written["best"]
    shown = {n[0] for n in run["lineage"]["nodes"]}
    assert all(p in shown for n in run["lineage"]["nodes"] for p in n[6])
    assert run["lineage"]["shown"] <= CAP * 3
    assert {f["failure"] for f in run["failures"]} >= {"noop", "cascade_stop", "valid"}
    assert max(len(c["points"]) for c in run["curves"]) < 5000
    page = api.answer("samples", {"offset": 99_950})
    assert [r["id"] for r in page["rows"]] == list(range(99_950, 100_000))


def test_new_columns_failure_classes_and_heldout_are_shown(tmp_path, run_dir):
    copy = copy_store(run_dir, tmp_path / "copy")
    db = sqlite3.connect(copy / "run.sqlite")
    db.execute("ALTER TABLE samples ADD COLUMN future_operator TEXT")
    db.execute("ALTER TABLE samples ADD COLUMN future_count INTEGER")
    db.execute("UPDATE samples SET future_operator = 'crossover', future_count = 3 WHERE id = 2")
    db.execute("UPDATE samples SET failure = 'some_class_from_the_future' WHERE id = 3")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('heldout', ?)", (json.dumps({"or2": {"excess_bins_pct": 4.9}}),))
    db.commit()
    db.close()
    api = Api(open_target(copy))
    run = api.answer("run", {})
    assert "some_class_from_the_future" in {f["failure"] for f in run["failures"]}
    assert run["heldout"] == {"or2": {"excess_bins_pct": 4.9}} and "future_operator" in run["sample_columns"]
    d = api.answer("sample", {"id": 2})
    assert d["fields"]["future_operator"] == "crossover" and d["fields"]["future_count"] == 3


def test_a_store_being_written_is_read_as_of_one_commit(tmp_path, run_dir):
    live = copy_store(run_dir, tmp_path / "live")
    api = Api(open_target(live))
    base = api.answer("run", {})
    stop = threading.Event()
    reads = [0]  # reads completed; the writer pauses at two points until the reader has read twice there

    def wait_for_two_reads():
        target = reads[0] + 2
        deadline = time.monotonic() + 300  # a loaded 2-core machine reads slowly
        while reads[0] < target and not stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)

    def write():
        store = RunStore(live)
        k = base["counts"]["samples"]
        while not stop.is_set() and k < 400:
            store.add_sample({"id": k, "island": 0, "parent_ids": [0], "model": "small", "source": "x",
                              "program_hash": f"h{k}", "measured_cost": 0.0, "modelled_cost": 1e-6})
            store.add_program({"id": k, "sample_id": k, "island": 0, "hash": f"h{k}", "source": "x",
                               "score": -50.0 + k / 1000, "signature": [], "new_best": 1})
            k += 1
            if k in (200, 300):
                wait_for_two_reads()
        store.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = set()
        deadline = time.monotonic() + 700
        while writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
            run = api.answer("run", {})
            funnel_samples = sum(r["samples"] for r in run["funnel"])
            assert funnel_samples == run["counts"]["samples"] == sum(f["n"] for f in run["failures"])
            assert run["lineage"]["total"] == run["counts"]["programs"]
            seen.add(run["counts"]["samples"])
            reads[0] += 1
    finally:
        stop.set()
        writer.join()
    assert {200, 300} <= seen  # it followed the writer, reading whole commits while it paused
    assert api.answer("run", {})["counts"]["samples"] == max(400, base["counts"]["samples"])


def test_html_file_embeds_hostile_text_only_as_escaped_json(tmp_path, run_dir):
    run = hostile_copy(run_dir, tmp_path / "hostile")
    out = write_html(open_target(run), tmp_path / "view.html")
    text = out.read_text()
    assert text.count("<script") == 2  # the JSON data block and the page's own script
    assert "window.__pwned" in text and "<img" not in text and "example.invalid" in text
    assert "\\u003cscript\\u003ewindow.__pwned" in text
    assert 'http-equiv="Content-Security-Policy"' in text and "connect-src 'none'" in text
    answers = collect(open_target(run))
    assert key("sample", {"id": 5}) in answers and key("samples", {"failure": "runtime_error"}) in answers
    assert "window.__pwned" in answers[key("sample", {"id": 5})]["message"]
    assert render() == render()  # the live page is the same bytes for every run: no data in it


def test_server_refuses_other_hosts_unknown_cells_and_routes(run_dir):
    server = ViewServer(open_target(run_dir), port=0)
    server.start()
    try:
        def fetch(path, host=None):
            req = urllib.request.Request(server.url + path, headers={"Host": host} if host else {})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                return e.code, e.headers, e.read()
        status, headers, body = fetch("")
        assert status == 200 and "script-src 'sha256-" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert fetch("api/run")[0] == 200
        assert fetch("api/run", host="evil.example:80")[0] == 403
        assert fetch("api/run?cell=../..")[0] == 404
        assert fetch("api/nothing")[0] == 404
        assert fetch("api/sample?id=999999")[0] == 404
    finally:
        server.close()


def test_not_a_run_or_sweep_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    for path in (tmp_path / "empty", tmp_path / "missing", tmp_path / "file.txt"):
        done = cli("view", str(path), "--port", "0")
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1 and str(path) in done.stderr
        assert done.stdout == ""


def test_port_in_use_is_one_line_naming_it(run_dir):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ServeError, match=str(port)):
            ViewServer(open_target(run_dir), port=port)
        done = cli("view", str(run_dir), "--port", str(port))
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1 and f"port {port}" in done.stderr
    finally:
        taken.close()
