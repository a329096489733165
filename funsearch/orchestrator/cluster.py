"""Joining a Ray cluster, or starting a local one sized for a run's actors."""
from __future__ import annotations

import os

import ray


def init_ray(address: str | None, actors: int, custom_resources: tuple[str, ...] = ()) -> None:
    """Join a cluster (address) or start a local Ray with enough logical CPUs for the run's actors.

    Locally, the custom resources a config asks for (node labels on a cluster) are provided in plenty.
    """
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    else:
        cpus = max(os.cpu_count() or 1, actors)
        ray.init(num_cpus=cpus, include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 resources={name: 10_000 for name in custom_resources})
