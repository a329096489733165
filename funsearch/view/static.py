"""`funsearch view --html FILE`: the same page as one self-contained file, to send to someone. The answers the
page would fetch are embedded under their request keys (view/api.py `key`): the run (or the sweep and each of
its runs), the first page of samples overall and per failure class and size, and the details of every node in
the lineage and every sample on those pages, up to a cap per run (the page says when one is not included).
Nothing is fetched when it is opened: its policy forbids any connection.
"""
from __future__ import annotations

from pathlib import Path

from funsearch.view.api import Api, NotFound, dumps, key
from funsearch.view.page import render
from funsearch.view.target import Target

DETAILS_PER_RUN = 600


def collect(target: Target) -> dict[str, dict]:
    """Every answer the file holds, by request key."""
    api = Api(target)
    answers = {"index": api.answer("index", {})}
    if target.kind == "sweep":
        answers["sweep"] = api.answer("sweep", {})
        for cell in target.cells():
            _run(api, answers, cell)
    else:
        _run(api, answers, None)
    return answers


def _run(api: Api, answers: dict, cell: str | None) -> None:
    run = api.answer("run", {"cell": cell})
    answers[key("run", {"cell": cell})] = run
    samples: list[int] = [-1] + [n[1] for n in run["lineage"]["nodes"] if n[1] >= 0]
    filters = [{}] + [{"failure": c} for c in sorted({f["failure"] for f in run["failures"]})] \
        + [{"model": m} for m in run["sizes"]]
    for f in filters:
        params = {"cell": cell, **f}
        page = api.answer("samples", params)
        answers[key("samples", params)] = page
        samples += [r["id"] for r in page["rows"]]
    seen: set[int] = set()
    for sid in samples:
        if sid in seen or len(seen) >= DETAILS_PER_RUN:
            continue
        seen.add(sid)
        try:
            answers[key("sample", {"cell": cell, "id": sid})] = api.answer("sample", {"cell": cell, "id": sid})
        except NotFound:
            continue


def write_html(target: Target, out: str | Path) -> Path:
    """Write the self-contained page to `out`; returns its path."""
    out = Path(out)
    text = render(dumps(collect(target)))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return out
