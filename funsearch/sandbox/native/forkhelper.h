#ifndef FORKHELPER_H
#define FORKHELPER_H
/* forkhelper.h: the fork server's native fast path (see funsearch/sandbox/native.py), shared by harden.c
 * (fs_fork: fork() plus the whole hardening of a candidate child in one call), engine.c (fs_serve: the usual
 * evaluation cycle) and io.c (their small helpers). Structures are mirrored by ctypes in native.py.
 *
 * The Python path (child.harden) does the same steps one ctypes/os call at a time; each Python-level step
 * allocates objects and bumps reference counts on pages the child shares copy-on-write with the fork
 * server, and every such page costs a page fault (~3.5 us on this project's VMs). Here the child runs
 * the steps before it returns to Python, touching only the C stack. Same steps, same order, same checks.
 *
 * Steps (numbers reported in fs_outcome.step on failure, 0 when every step succeeded):
 *   1 setsid   2 fds   3 rlimits   4 workdir   5 uid   6 pdeathsig   7 no_new_privs   8 landlock   9 seccomp
 * Build: gcc -O2 -Wall -Wextra -Werror -shared -fPIC -o _forkhelper.so harden.c io.c engine.c   (no Python headers)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FS_ABI 4
#define FS_MAX_LIMITS 8
#define FS_MAX_RESULTS (INT64_C(1) << 30)  /* result bytes the C cycle replies itself (more: Python's path) */
#define FS_MAX_STDOUT (INT64_C(1) << 26)   /* stdout bytes it replies itself (SandboxLimits bounds stdout_bytes) */
#define RESULT_FD 3
#define COMMAND_FD 4
#define SYS_LANDLOCK_RESTRICT_SELF 446
#define SYS_CLOSE_RANGE_NR 436

struct fs_limit { int64_t resource, soft, hard; };

struct fs_plan {                 /* mirrored by native.Plan (ctypes) */
    int32_t devnull_fd, out_fd, result_fd, command_fd;
    int32_t landlock_fd;         /* -1: no Landlock */
    int32_t uid;                 /* -1: keep the current uid */
    int32_t server_pid;
    int32_t n_limits;
    struct fs_limit limits[FS_MAX_LIMITS];
    const char *workdir;
    const void *seccomp;         /* a struct sock_fprog *, NULL: no seccomp */
};

struct fs_outcome { int32_t step, err; };

#define FS_CHILD 1       /* we are the new spare child (hardened; fs_outcome in the plan's outcome) */
#define FS_REQUEST 2     /* a request frame header Python must handle (req, req_len; the payload is unread) */
#define FS_SUPERVISED 3  /* a candidate ran; Python concludes (sup_* fields) and forks the next spare */
#define FS_EOF 4         /* the harness closed the request pipe */
#define FS_WIPE 5        /* replied, next spare forked, old child reaped, but its tmp folder is not empty */
#define FS_ERROR -1      /* a system call failed (err: errno, err_where: which) */

struct fs_key {                  /* mirrored by native.Key */
    const char *header;          /* the exact eval request header bytes the harness sends for this key */
    int64_t header_len;
    const char *prefix;          /* the command's first line for this key, newline included */
    int64_t prefix_len;
    int64_t n_instances;
};

struct fs_spare { int32_t pid, pidfd, out_r, res_r, cmd_w, pad; };

struct fs_engine {               /* mirrored by native.Engine */
    struct fs_plan *plan;
    struct fs_outcome *outcome;
    struct fs_key *keys;
    int64_t n_keys;
    int64_t wall_ns, stdout_cap, output_bytes;
    int32_t proof;               /* 1: pid namespace + unprivileged candidates: the last-pid proof is valid */
    int32_t workdir_fd;          /* O_RDONLY|O_DIRECTORY fd of the children's tmp folder */
    struct fs_spare spare;       /* in/out: the waiting spare child */
    int32_t reason, err;
    const char *err_where;
    char *req; int64_t req_len;  /* FS_REQUEST: the header (malloc'd; fs_free) */
    /* FS_SUPERVISED */
    int32_t sup_finished, sup_timed_out, sup_overflow, sup_exited;
    int64_t sup_key, sup_start_ns, sup_cpu_ns, sup_result_cap;
    char *results; int64_t results_len;   /* malloc'd; fs_free */
    char *out; int64_t out_len;           /* malloc'd; fs_free */
    int64_t served;              /* evaluations completed on the fast path (statistics) */
    int32_t overlap;             /* 1: fork the next spare while the candidate runs (see below) */
    int32_t pad;
    struct fs_spare next;        /* the spare forked while the candidate ran (pid -1: none); on FS_SUPERVISED
                                    Python kills it (it is not proven safe to keep) */
};

#define HIDDEN __attribute__((visibility("hidden")))
long fs_fork(const struct fs_plan *p, struct fs_outcome *out);
HIDDEN int64_t now_ns(void);
HIDDEN int read_exact(int fd, void *buf, size_t n);
HIDDEN int write_all_fd(int fd, const void *buf, size_t n);
HIDDEN int append(char **buf, int64_t *len, int64_t *cap, const char *src, int64_t n);
HIDDEN int64_t read_first_number(const char *path, int field);
HIDDEN int plain_ascii(const char *p, int64_t n);
HIDDEN int workdir_empty(int dirfd);
HIDDEN int64_t sat_add(int64_t a, int64_t b);
HIDDEN int64_t sat_mul(int64_t a, int64_t b);

#endif
