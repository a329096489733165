/* The fork server's native fast path (see funsearch/sandbox/native.py): fork() plus the whole hardening of a
 * candidate child in one call (fs_fork), and the common evaluation cycle (fs_serve).
 *
 * The Python path (child.harden) does the same steps one ctypes/os call at a time; each Python-level step
 * allocates objects and bumps reference counts on pages the child shares copy-on-write with the fork
 * server, and every such page costs a page fault (~3.5 us on this project's VMs). Here the child runs
 * the steps before it returns to Python, touching only the C stack. Same steps, same order, same checks.
 *
 * Steps (numbers reported in fs_outcome.step on failure, 0 when every step succeeded):
 *   1 setsid   2 fds   3 rlimits   4 workdir   5 uid   6 pdeathsig   7 no_new_privs   8 landlock   9 seccomp
 * Build: gcc -O2 -shared -fPIC -o _forkhelper.so forkhelper.c   (no Python headers needed)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#define FS_ABI 3
#define FS_MAX_LIMITS 8
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

int fs_abi(void) { return FS_ABI; }

static void close_from(int low, int high) /* close [low, high] */
{
    if (low > high) return;
    if (syscall(SYS_CLOSE_RANGE_NR, (unsigned)low, (unsigned)high, 0) == 0) return;
    for (int fd = low; fd <= high && fd < 65536; fd++) close(fd);
}

static int fds(const struct fs_plan *p)
{
    int out = fcntl(p->out_fd, F_DUPFD, 16), res = fcntl(p->result_fd, F_DUPFD, 16),
        cmd = fcntl(p->command_fd, F_DUPFD, 16);
    if (out < 0 || res < 0 || cmd < 0) return -1;
    if (dup2(p->devnull_fd, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 || dup2(res, RESULT_FD) < 0
        || dup2(cmd, COMMAND_FD) < 0) return -1;
    if (fcntl(RESULT_FD, F_SETFD, FD_CLOEXEC) < 0 || fcntl(COMMAND_FD, F_SETFD, FD_CLOEXEC) < 0) return -1;
    if (p->landlock_fd > COMMAND_FD) {
        close_from(COMMAND_FD + 1, p->landlock_fd - 1);
        close_from(p->landlock_fd + 1, 0x7fffffff);
    } else {
        close_from(COMMAND_FD + 1, 0x7fffffff);
    }
    return 0;
}

static int harden(const struct fs_plan *p)
{
    if (setsid() < 0) return 1;
    if (fds(p) < 0) return 2;
    for (int i = 0; i < p->n_limits && i < FS_MAX_LIMITS; i++) {
        struct rlimit rl = { (rlim_t)p->limits[i].soft, (rlim_t)p->limits[i].hard };
        if (setrlimit((int)p->limits[i].resource, &rl) < 0) return 3;
    }
    if (chdir(p->workdir) < 0) return 4;
    if (p->uid >= 0) {  /* raw syscalls: the process is single-threaded, no need for libc's setxid broadcast */
        if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, p->uid, p->uid, p->uid) < 0
            || syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0) return 5;
        if ((int)getuid() != p->uid || (int)geteuid() != p->uid) { errno = EPERM; return 5; }
    }
    /* after the uid switch: changing credentials clears the parent-death signal */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return 6;
    if (getppid() != p->server_pid) _exit(111);  /* the server died before the signal was armed */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 7;
    if (p->landlock_fd >= 0) {
        if (syscall(SYS_LANDLOCK_RESTRICT_SELF, p->landlock_fd, 0) < 0) return 8;
        close(p->landlock_fd);
    }
    if (p->seccomp != NULL && prctl(PR_SET_SECCOMP, 2 /* SECCOMP_MODE_FILTER */, p->seccomp, 0, 0) < 0) return 9;
    return 0;
}

/* fork(); in the child, harden before returning. Returns the child's pid in the parent, 0 in the child
 * (out->step: 0, or the failed step with out->err its errno), -1 with errno when fork failed. */
long fs_fork(const struct fs_plan *p, struct fs_outcome *out)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    out->err = 0;
    out->step = harden(p);
    if (out->step) out->err = errno;
    return 0;
}

/* ---- fs_serve: the common evaluation cycle, with no Python in the fork server's loop ---------------------------
 *
 * Handles, one after another, eval requests for instance keys the waiting spare child knows:
 *   read the request frame -> send the command to the spare -> supervise it (wall deadline, capped results and
 *   stdout) -> SIGKILL it after its end line -> last-pid proof (nothing else was created) -> reply frame ->
 *   fork and harden the next spare -> reap the old child -> check its tmp folder is empty.
 * It returns to Python (FS_* reasons below) for everything else: another request, a child that did not end
 * cleanly or cannot be proven alone, stdout that is not plain ASCII, a non-empty tmp folder, and in the new
 * spare child itself. The Python path (server.py, supervise.py) does the same cycle and handles all cases. */

#define FS_CHILD 1       /* we are the new spare child (hardened; fs_outcome in the plan's outcome) */
#define FS_REQUEST 2     /* a request frame header Python must handle (req, req_len; the payload is unread) */
#define FS_SUPERVISED 3  /* a candidate ran; Python concludes (sup_* fields) and forks the next spare */
#define FS_EOF 4         /* the harness closed the request pipe */
#define FS_WIPE 5        /* replied, next spare forked, old child reaped, but its tmp folder is not empty */
#define FS_ERROR -1      /* a system call failed (err: errno, err_where: which) */

static const char END_LINE[] = "{\"end\":true}\n";
#define END_LEN (sizeof(END_LINE) - 1)

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

void fs_free(void *p) { free(p); }

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int fail(struct fs_engine *e, const char *where)
{
    e->err = errno;
    e->err_where = where;
    e->reason = FS_ERROR;
    return FS_ERROR;
}

static int read_exact(int fd, void *buf, size_t n)  /* 0, 1 on EOF, -1 on error */
{
    char *p = buf;
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return 1;
        p += k; n -= (size_t)k;
    }
    return 0;
}

static int write_all_fd(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        p += k; n -= (size_t)k;
    }
    return 0;
}

static int append(char **buf, int64_t *len, int64_t *cap, const char *src, int64_t n)
{
    if (*len + n > *cap) {
        int64_t want = *cap ? *cap : 4096;
        while (want < *len + n) want *= 2;
        char *grown = realloc(*buf, (size_t)want);
        if (!grown) return -1;
        *buf = grown; *cap = want;
    }
    memcpy(*buf + *len, src, (size_t)n);
    *len += n;
    return 0;
}

static int64_t read_first_number(const char *path, int field)  /* the field-th number of a small /proc file */
{
    char text[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *p = text;
    for (int i = 0; i < field; i++) {  /* skip space-separated fields */
        while (*p && *p != ' ') p++;
        if (!*p) return -1;
        p++;
    }
    return strtoll(p, NULL, 10);
}

/* Supervise the spare after its command: the Python loop in supervise.py, in C. */
static int supervise(struct fs_engine *e, int64_t result_cap)
{
    struct fs_spare *s = &e->spare;
    int64_t deadline = e->sup_start_ns + e->wall_ns, rcap = 0, ocap = 0;
    char chunk[65536];
    struct pollfd fds[3] = {{s->res_r, POLLIN, 0}, {s->out_r, POLLIN, 0}, {s->pidfd, POLLIN, 0}};
    for (;;) {
        int64_t remaining = deadline - now_ns();
        if (remaining <= 0) { e->sup_timed_out = 1; break; }
        int r = poll(fds, 3, (int)(remaining / 1000000) + 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return fail(e, "poll");
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents) continue;
            ssize_t k = read(fds[i].fd, chunk, sizeof chunk);
            if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (k <= 0) { fds[i].fd = -1; continue; }  /* closed (or failed): stop watching it */
            if (i == 0) {
                if (append(&e->results, &e->results_len, &rcap, chunk, k) < 0) return fail(e, "malloc");
                if (e->results_len > result_cap) e->sup_overflow = 1;
                else if (e->results_len >= (int64_t)END_LEN
                         && !memcmp(e->results + e->results_len - END_LEN, END_LINE, END_LEN)) e->sup_finished = 1;
            } else if (e->out_len < e->stdout_cap) {
                int64_t keep = k < e->stdout_cap - e->out_len ? k : e->stdout_cap - e->out_len;
                if (append(&e->out, &e->out_len, &ocap, chunk, keep) < 0) return fail(e, "malloc");
            }
        }
        if (fds[2].revents) e->sup_exited = 1;
        if (e->sup_exited || e->sup_overflow || e->sup_finished) break;
    }
    if (e->sup_finished && fds[1].fd >= 0) {
        /* the child flushed its stdout before its end line: take what is already in the pipe */
        struct pollfd out = {s->out_r, POLLIN, 0};
        while (e->out_len < e->stdout_cap && poll(&out, 1, 0) > 0 && (out.revents & POLLIN)) {
            ssize_t k = read(s->out_r, chunk, sizeof chunk);
            if (k <= 0) break;
            int64_t keep = k < e->stdout_cap - e->out_len ? k : e->stdout_cap - e->out_len;
            if (append(&e->out, &e->out_len, &ocap, chunk, keep) < 0) return fail(e, "malloc");
        }
    }
    if (e->sup_finished) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/schedstat", s->pid);
        int64_t ns = read_first_number(path, 0);
        e->sup_cpu_ns = ns > 0 ? ns : 0;
    }
    if (e->sup_timed_out || e->sup_overflow || e->sup_finished) {
        kill(-s->pid, SIGKILL);
        kill(s->pid, SIGKILL);
    }
    return 0;
}

static int plain_ascii(const char *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c > 0x7e) return 0;
    }
    return 1;
}

/* The reply for a cleanly finished, proven-alone child, as server.py writes it (pack_frame). */
static int reply(struct fs_engine *e, double wall)
{
    int64_t cap = 256 + 2 * e->out_len + e->results_len, len = 8;
    char *frame = malloc((size_t)cap);
    if (!frame) return fail(e, "malloc");
    char *h = frame + 4;
    int n = snprintf(h, 200, "{\"timed_out\":false,\"overflow\":false,\"finished\":true,\"exit_code\":0,"
                     "\"cpu\":%.9f,\"wall\":%.9f,\"leftovers\":0,\"fast\":true,\"stdout\":\"", e->sup_cpu_ns / 1e9, wall);
    for (int64_t i = 0; i < e->out_len; i++) {
        char c = e->out[i];
        if (c == '"' || c == '\\') { h[n++] = '\\'; h[n++] = c; }
        else if (c == '\n') { h[n++] = '\\'; h[n++] = 'n'; }
        else if (c == '\t') { h[n++] = '\\'; h[n++] = 't'; }
        else if (c == '\r') { h[n++] = '\\'; h[n++] = 'r'; }
        else h[n++] = c;
    }
    h[n++] = '"';
    h[n++] = '}';
    uint32_t be = htobe32((uint32_t)n);
    memcpy(frame, &be, 4);
    be = htobe32((uint32_t)e->results_len);
    memcpy(h + n, &be, 4);
    memcpy(h + n + 4, e->results, (size_t)e->results_len);
    len = 4 + n + 4 + e->results_len;
    int rc = write_all_fd(1, frame, (size_t)len);
    free(frame);
    return rc < 0 ? fail(e, "write reply") : 0;
}

/* Fork and harden the next spare. Returns 1 in the child, 0 in the parent (e->spare replaced by the new one
 * after the caller has finished with the old one: the new one is returned through *next). */
static int fork_spare(struct fs_engine *e, struct fs_spare *next)
{
    int out[2], res[2], cmd[2];
    if (pipe2(out, O_CLOEXEC) < 0) return fail(e, "pipe2");
    if (pipe2(res, O_CLOEXEC) < 0) { close(out[0]); close(out[1]); return fail(e, "pipe2"); }
    if (pipe2(cmd, O_CLOEXEC) < 0) {
        close(out[0]); close(out[1]); close(res[0]); close(res[1]);
        return fail(e, "pipe2");
    }
    e->plan->out_fd = out[1];
    e->plan->result_fd = res[1];
    e->plan->command_fd = cmd[0];
    long pid = fs_fork(e->plan, e->outcome);
    if (pid == 0) { e->reason = FS_CHILD; return 1; }
    int saved = errno;
    close(out[1]); close(res[1]); close(cmd[0]);
    if (pid < 0) {
        close(out[0]); close(res[0]); close(cmd[1]);
        errno = saved;
        return fail(e, "fork");
    }
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (pidfd < 0) {  /* cannot supervise it: kill it and give up the fast path */
        saved = errno;
        kill((pid_t)pid, SIGKILL);
        waitpid((pid_t)pid, NULL, 0);
        close(out[0]); close(res[0]); close(cmd[1]);
        errno = saved;
        return fail(e, "pidfd_open");
    }
    next->pid = (int32_t)pid; next->pidfd = pidfd; next->out_r = out[0]; next->res_r = res[0]; next->cmd_w = cmd[1];
    return 0;
}

static int workdir_empty(int dirfd)
{
    char buf[1024];
    if (lseek(dirfd, 0, SEEK_SET) < 0) return 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
        if (n <= 0) return n == 0;
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, 2);
            const char *name = buf + off + 19;
            if (strcmp(name, ".") && strcmp(name, "..")) return 0;
            off += reclen;
        }
    }
}

static void reset(struct fs_engine *e)
{
    free(e->req); e->req = NULL; e->req_len = 0;
    free(e->results); e->results = NULL; e->results_len = 0;
    free(e->out); e->out = NULL; e->out_len = 0;
    e->sup_finished = e->sup_timed_out = e->sup_overflow = e->sup_exited = 0;
    e->sup_cpu_ns = 0;
    e->sup_key = -1;
}

int fs_serve(struct fs_engine *e)
{
    for (;;) {
        reset(e);
        uint32_t be;
        int r = read_exact(0, &be, 4);
        if (r) { if (r > 0) return e->reason = FS_EOF; return fail(e, "read request"); }
        uint32_t hlen = be32toh(be);
        if (hlen > (1u << 30)) { errno = EPROTO; return fail(e, "request header size"); }
        char *head = malloc(hlen ? hlen : 1);
        if (!head) return fail(e, "malloc");
        r = read_exact(0, head, hlen);
        if (r) { free(head); if (r > 0) return e->reason = FS_EOF; return fail(e, "read request"); }
        int64_t k = -1;
        for (int64_t i = 0; i < e->n_keys; i++)
            if (e->keys[i].header_len == hlen && !memcmp(e->keys[i].header, head, hlen)) { k = i; break; }
        if (k < 0) { e->req = head; e->req_len = hlen; return e->reason = FS_REQUEST; }
        free(head);
        if ((r = read_exact(0, &be, 4))) { if (r > 0) return e->reason = FS_EOF; return fail(e, "read request"); }
        uint32_t plen = be32toh(be);
        if (plen > (1u << 30)) { errno = EPROTO; return fail(e, "request payload size"); }
        const struct fs_key *key = &e->keys[k];
        int64_t clen = key->prefix_len + plen;
        char *command = malloc((size_t)clen + 4);
        if (!command) return fail(e, "malloc");
        be = htobe32((uint32_t)clen);
        memcpy(command, &be, 4);
        memcpy(command + 4, key->prefix, (size_t)key->prefix_len);
        r = read_exact(0, command + 4 + key->prefix_len, plen);
        if (r) { free(command); if (r > 0) return e->reason = FS_EOF; return fail(e, "read request"); }

        e->sup_key = k;
        e->sup_start_ns = now_ns();
        write_all_fd(e->spare.cmd_w, command, (size_t)clen + 4);  /* fails only when the child died: its exit tells */
        free(command);
        close(e->spare.cmd_w);
        e->spare.cmd_w = -1;
        int64_t n = key->n_instances > 1 ? key->n_instances : 1;
        e->sup_result_cap = e->output_bytes + 65536 + 256 * n;
        /* Overlap: fork the next spare now, on this core, while the candidate runs on the other, instead of
         * after the reply. Only when the candidate cannot touch the new spare (Python sets `overlap` only with
         * Landlock's signal scoping, the uid switch and seccomp: no signals, no ptrace, no /proc/pid/mem).
         * Its pid also keeps the proof exact: spare == candidate + 1 means nothing was created in between,
         * and last pid == spare means nothing after. */
        e->next.pid = -1;
        if (e->overlap) {
            struct fs_spare early;
            int fr = fork_spare(e, &early);
            if (fr == 1) return FS_CHILD;
            if (fr == 0) e->next = early;
            e->reason = 0;  /* a failed fork here only means the spare is forked after the reply */
        }
        if (supervise(e, e->sup_result_cap) < 0) return FS_ERROR;
        int proven = 0;
        if (e->sup_finished && e->proof) {
            int64_t last = read_first_number("/proc/loadavg", 4);
            proven = e->next.pid >= 0 ? (e->next.pid == e->spare.pid + 1 && last == e->next.pid)
                                      : last == e->spare.pid;
        }
        if (!proven || !plain_ascii(e->out, e->out_len)) return e->reason = FS_SUPERVISED;
        if (reply(e, (now_ns() - e->sup_start_ns) / 1e9) < 0) return FS_ERROR;
        e->served++;

        struct fs_spare next = e->next;
        e->next.pid = -1;
        r = 0;
        if (next.pid < 0) {
            r = fork_spare(e, &next);
            if (r == 1) return FS_CHILD;
        }
        while (waitpid(e->spare.pid, NULL, 0) < 0 && errno == EINTR) {}
        close(e->spare.pidfd); close(e->spare.out_r); close(e->spare.res_r);
        if (r < 0) {  /* replied and reaped, but no new spare: Python forks one (or fails loudly) */
            e->spare.pid = -1;
            return FS_ERROR;
        }
        e->spare = next;
        if (!workdir_empty(e->workdir_fd)) return e->reason = FS_WIPE;
    }
}
