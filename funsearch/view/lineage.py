"""The lineage graph's nodes, chosen on the server: every registered program when there are at most `cap`,
otherwise the programs that matter (the best program's ancestry, every new best, the other islands' bests and
their ancestors, then the highest scores) so that a run of 10^5 samples ships a graph the browser draws at once.

A node is a short list, [program id, sample id, island, score, size index, new best, parent ids]; the seed
program is node 0 (sample -1, island -1): the parent of the first programs.
"""
from __future__ import annotations

CAP = 1500


def lineage(nodes: list[dict], sizes: list[str], seed_score: float | None, cap: int = CAP) -> dict:
    """The nodes to draw and how many there are in all; `nodes` as store/view_queries.program_nodes reads them."""
    by_id = {n["id"]: n for n in nodes}
    keep = _choose(nodes, by_id, cap) if len(nodes) > cap else set(by_id)
    index = {s: i for i, s in enumerate(sizes)}
    out = [[0, -1, -1, seed_score, -1, 0, []]]
    hidden = 0
    for n in nodes:
        if n["id"] not in keep:
            continue
        parents = [int(p) for p in (n["parent_ids"] or [])]
        shown = [p for p in parents if p == 0 or p in keep]
        hidden += len(parents) - len(shown)
        out.append([n["id"], n["sample_id"], n["island"], n["score"], index.get(n["model"], -1),
                    int(n["new_best"] or 0), shown])
    return {"total": len(nodes), "shown": len(out) - 1, "hidden_edges": hidden, "nodes": out}


def _choose(nodes: list[dict], by_id: dict, cap: int) -> set[int]:
    """The best program's whole ancestry (up to twice the cap), every new best, then the other islands' bests
    and their ancestors breadth first, then the highest scores of the rest, up to `cap`."""
    island_best: dict = {}
    for n in nodes:
        b = island_best.get(n["island"])
        if b is None or n["score"] > b["score"]:
            island_best[n["island"]] = n
    best = max(island_best.values(), key=lambda n: (n["score"], -n["id"]))
    keep: set[int] = set()
    _ancestry(keep, [best["id"]], by_id, 2 * cap)
    keep.update(n["id"] for n in nodes if n["new_best"])
    _ancestry(keep, [n["id"] for n in island_best.values()], by_id, cap)
    for n in sorted(nodes, key=lambda n: (-n["score"], n["id"])):
        if len(keep) >= cap:
            break
        keep.add(n["id"])
    return keep


def _ancestry(keep: set[int], start: list[int], by_id: dict, limit: int) -> None:
    """Add `start` and their ancestors to `keep`, breadth first, while it holds fewer than `limit`."""
    queue, seen = list(start), set()
    while queue and len(keep) < limit:
        pid = queue.pop(0)
        if pid in seen or pid not in by_id:
            continue
        seen.add(pid)
        keep.add(pid)
        queue.extend(int(p) for p in (by_id[pid]["parent_ids"] or []))
