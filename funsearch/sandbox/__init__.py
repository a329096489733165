"""The candidate sandbox: a hardened fork server per evaluator slot.

What it does (each layer where the machine allows it; `funsearch sandbox` lists what is on):
- one fork server per slot, inside bubblewrap (own mount, pid, network, ipc and uts namespaces;
  / read-only; private tmpfs /tmp, /proc and /dev; /root, /home and secret folders masked;
  /proc/1/environ masked; environment scrubbed; dies with the harness). It imports numpy and the
  problem once and forks one child per candidate;
- each child: own session and process group, PDEATHSIG, rlimits (address space, CPU, file size,
  open files, processes), an unprivileged per-slot uid (so RLIMIT_NPROC holds and the server
  cannot be signalled), no_new_privs, Landlock (writes only in its tmp, no execve, no TCP, signals
  scoped), a seccomp denylist (ptrace, mount, namespaces, execve, bpf, perf, keyctl, non-AF_UNIX
  sockets...), stdin /dev/null, stdout/stderr to a capped buffer, results through a dedicated pipe
  as size-capped strict JSON (never pickle);
- time limits are per instance (each instance timed separately; SandboxLimits): at a deadline the whole group
  is SIGKILLed; after every candidate every leftover process
  (setsid and double-fork escapees included) is SIGKILLed and reaped; the child's tmp is wiped;
- the trusted harness decodes and scores solutions; the child never scores.
- speed: the usual cycle (fork and harden a spare, supervise, prove nothing else exists, reply) runs in
  C (funsearch/sandbox/native/, trusted harness code built by set-up); every unusual case goes to the Python path.

What it does NOT protect against:
- kernel exploits and hardware side channels (Spectre-class, timing, cache) — the kernel is shared;
- reading world-readable files inside the read-only view (e.g. /etc, /usr, the project checkout,
  the problem file and its data, other world-readable files outside the masked folders);
- CPU, memory-bandwidth and disk-cache contention: a candidate slows its neighbours until its deadline;
- memory pressure across slots: RLIMIT_AS bounds each process, not the sum of a slot's processes
  (bounded by the process limit); no cgroup is used;
- a candidate that learns the instances (it receives them) and hard-codes answers to them;
- denial of service of its own evaluation (it can always fail or time out);
- bugs in the fork server itself, including its C fast path (it runs with the server's privileges; it
  parses only the harness's frames and bounded child output, and FUNSEARCH_SANDBOX_NATIVE=0 turns it off);
- where bubblewrap, root, seccomp or Landlock are missing, the corresponding layers (see above) are
  off — the evaluator warns loudly, it does not refuse to run.
"""
from funsearch.sandbox.limits import SandboxLimits
from funsearch.sandbox.protections import Protection, describe_protections

__all__ = ["SandboxLimits", "Protection", "describe_protections"]
