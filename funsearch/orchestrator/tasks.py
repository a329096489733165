"""Independent jobs as Ray tasks (a sweep's cells): as many at once as asked for and the cluster's CPUs allow."""
from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import ray

from funsearch.orchestrator.cluster import init_ray


def run_as_tasks(fn: Callable, jobs: Sequence, start: Callable[[Any], tuple], finish: Callable[..., None], *,
                 parallel: int, cpus_each: int, address: str | None, echo: Callable[[str], None]) -> None:
    """Run `fn(*start(job))` for every job as a Ray task, at most `parallel` at once (and no more than the
    cluster has `cpus_each` CPUs for); `finish(job, result, error, seconds)` as each ends, in the order they end
    (`error` is one line when the task failed, else None). Ctrl-C cancels the running tasks and re-raises."""
    init_ray(address, parallel * cpus_each)
    width = max(1, min(parallel, int(ray.cluster_resources().get("CPU", 1) // cpus_each)))
    if width < parallel:
        echo(f"running {width} cells at a time (the cluster has CPUs for {width})")
    task = ray.remote(num_cpus=0, max_retries=0)(fn)
    queue, running = list(jobs), {}
    try:
        while queue or running:
            while queue and len(running) < width:
                job = queue.pop(0)
                running[task.remote(*start(job))] = (job, time.monotonic())
            ready, _ = ray.wait(list(running), num_returns=1)
            job, began = running.pop(ready[0])
            try:
                result, error = ray.get(ready[0]), None
            except ray.exceptions.RayError as exc:
                result, error = None, " ".join(str(exc).split())[:300]
            finish(job, result, error, time.monotonic() - began)
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref)
        ray.wait(list(running), num_returns=len(running), timeout=30)
        raise
