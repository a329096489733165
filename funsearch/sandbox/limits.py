"""Resource limits for one sandboxed evaluation (pure; no I/O)."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SandboxLimits:
    """Limits applied to every candidate child.

    Attributes:
      wall_seconds: wall-clock deadline for the whole evaluation (all instances of the split);
        at the deadline the child's process group and every leftover process are SIGKILLed.
      cpu_seconds: CPU-time limit of the child process (RLIMIT_CPU, rounded up to whole seconds);
        None (the default) means the same as wall_seconds.
      memory_mb: address-space limit of each candidate process (RLIMIT_AS), in MiB.
      output_bytes: cap on the bytes of raw JSON solutions the child may send back, all instances together.
      file_bytes: largest file a candidate may write in its private tmp (RLIMIT_FSIZE); the tmp folder
        itself is a tmpfs of four times this size where bubblewrap is available.
      open_files: open file descriptors per candidate process (RLIMIT_NOFILE).
      processes: processes and threads the candidate's uid may have at once (RLIMIT_NPROC; effective
        only with the uid switch, since root ignores it).
      stdout_bytes: how much of the child's stdout/stderr is kept (for crash messages); the rest is discarded.
    """

    wall_seconds: float = 10.0
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
            if not value > 0:
                raise ValueError(f"SandboxLimits.{name} must be positive, got {value!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "SandboxLimits":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
