"""Resource limits for one sandboxed evaluation (pure; no I/O)."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

# The default time limit per instance: long enough for every shipped baseline on every shipped split, the slowest
# being FunSearch's own OR heuristic (problems/baselines/bin_packing/funsearch_or.py: one Python call per bin)
# on a Weibull 5k instance: ~10 s alone on this project's 2-core VMs, 58 s with the machine loaded five times over
# (load average 10); twice that. `funsearch run` keeps its own (--eval-timeout, 10 s per train instance).
DEFAULT_INSTANCE_SECONDS = 120.0

# Bounds on every field: each one reaches C (the native fork helper's int64 nanoseconds, rlimits and buffer
# sizes, poll()'s int milliseconds, 32-bit frame lengths), so none may overflow a narrowing there. Far beyond
# any sensible use; a value outside is refused when the limits are made, with one line.
MAX_SECONDS = 7 * 24 * 3600.0       # a week per instance
MAX_MEMORY_MB = 1 << 22             # 4 TiB of address space
MAX_OUTPUT_BYTES = 1 << 30          # solutions of a candidate, all instances together (frames are < 4 GiB)
MAX_FILE_BYTES = 1 << 40            # 1 TiB (the tmpfs is four times this)
MAX_OPEN_FILES = 1 << 20            # the kernel's default nr_open
MAX_PROCESSES = 1 << 15
MAX_STDOUT_BYTES = 1 << 26          # 64 MiB kept of a child's stdout (escaped twice over into the reply frame)
_BOUNDS = {"wall_seconds": MAX_SECONDS, "cpu_seconds": MAX_SECONDS, "memory_mb": MAX_MEMORY_MB,
           "output_bytes": MAX_OUTPUT_BYTES, "file_bytes": MAX_FILE_BYTES, "open_files": MAX_OPEN_FILES,
           "processes": MAX_PROCESSES, "stdout_bytes": MAX_STDOUT_BYTES}


@dataclass(frozen=True)
class SandboxLimits:
    """Limits applied to every candidate child.

    Attributes:
      wall_seconds: wall-clock limit PER INSTANCE. Each instance is timed separately: the child must send
        instance k's result within wall_seconds of instance k-1's (of the command, for the first), and all of
        them within wall_seconds x instances; past either deadline the child's process group and every leftover
        process are SIGKILLed, and the instance being run fails as a timeout.
      cpu_seconds: CPU seconds per instance: the child's RLIMIT_CPU is set, once it knows its instances, to
        this times their number (rounded up to whole seconds); None (the default) means the same as wall_seconds.
      memory_mb: address-space limit of each candidate process (RLIMIT_AS), in MiB.
      output_bytes: cap on the bytes of raw JSON solutions the child may send back, all instances together.
      file_bytes: largest file a candidate may write in its private tmp (RLIMIT_FSIZE); the tmp folder
        itself is a tmpfs of four times this size where bubblewrap is available.
      open_files: open file descriptors per candidate process (RLIMIT_NOFILE).
      processes: processes and threads the candidate's uid may have at once (RLIMIT_NPROC; effective
        only with the uid switch, since root ignores it).
      stdout_bytes: how much of the child's stdout/stderr is kept (for crash messages); the rest is discarded.
    Every field must be positive and at most its bound (MAX_* above); integers where the kernel wants integers.
    """

    wall_seconds: float = DEFAULT_INSTANCE_SECONDS
    cpu_seconds: float | None = None
    memory_mb: int = 2048
    output_bytes: int = 16 * 1024 * 1024
    file_bytes: int = 16 * 1024 * 1024
    open_files: int = 64
    processes: int = 8
    stdout_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.cpu_seconds is None:
            object.__setattr__(self, "cpu_seconds", self.wall_seconds)
        for name, value in asdict(self).items():
            seconds = name.endswith("_seconds")
            if isinstance(value, bool) or not isinstance(value, (int, float) if seconds else int):
                kind = "a number" if seconds else "an integer"
                raise ValueError(f"SandboxLimits.{name} must be {kind}, got {value!r}")
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"SandboxLimits.{name} must be positive and finite, got {value!r}")
            if value > _BOUNDS[name]:
                raise ValueError(f"SandboxLimits.{name} = {value!r} is beyond its bound of {_BOUNDS[name]:g}")

    def cpu_limit(self, instances: int) -> int:
        """Whole CPU seconds for a run over `instances` instances (RLIMIT_CPU's soft limit, before the child's own)."""
        return max(1, math.ceil(self.cpu_seconds * max(1, instances)))

    def deadline(self, instances: int) -> float:
        """Wall seconds a run over `instances` instances may take at most (each of them timed separately)."""
        return self.wall_seconds * max(1, instances)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SandboxLimits":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
