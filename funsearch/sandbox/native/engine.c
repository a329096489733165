/* engine.c: fs_serve, the usual evaluation cycle of the fork server, in C (see forkhelper.h).
 */
#define _GNU_SOURCE
#include "forkhelper.h"

/* ---- fs_serve: the common evaluation cycle, with no Python in the fork server's loop ---------------------------
 *
 * Handles, one after another, eval requests for instance keys the waiting spare child knows:
 *   read the request frame -> send the command to the spare -> supervise it (wall deadline, capped results and
 *   stdout) -> SIGKILL it after its end line -> last-pid proof (nothing else was created) -> reply frame ->
 *   fork and harden the next spare -> reap the old child -> check its tmp folder is empty.
 * It returns to Python (the FS_* reasons in forkhelper.h) for everything else: another request, a child that
 * did not end cleanly or cannot be proven alone, stdout that is not plain ASCII, a non-empty tmp folder, and
 * in the new spare child itself. The Python path (server.py, supervise.py) does the same cycle and handles all cases. */

static const char END_LINE[] = "{\"end\":true}\n";
#define END_LEN (sizeof(END_LINE) - 1)

static int fail(struct fs_engine *e, const char *where)
{
    e->err = errno;
    e->err_where = where;
    e->reason = FS_ERROR;
    return FS_ERROR;
}

/* Supervise the spare after its command: the Python loop in supervise.py, in C. Each of the n instances is timed
 * separately: a result record (one line) restarts the clock of wall_ns, and all of them end by n * wall_ns. */
static int supervise(struct fs_engine *e, int64_t result_cap, int64_t n)
{
    struct fs_spare *s = &e->spare;
    int64_t per = e->wall_ns > 0 ? e->wall_ns : 1, rcap = 0, ocap = 0, records = 0;
    int64_t last_call = sat_add(e->sup_start_ns, sat_mul(per, n > 0 ? n : 1));
    int64_t deadline = sat_add(e->sup_start_ns, per);
    if (deadline > last_call) deadline = last_call;
    char chunk[65536];
    struct pollfd fds[3] = {{s->res_r, POLLIN, 0}, {s->out_r, POLLIN, 0}, {s->pidfd, POLLIN, 0}};
    for (;;) {
        int64_t remaining = deadline - now_ns();
        if (remaining <= 0) { e->sup_timed_out = 1; break; }
        int r = poll(fds, 3, remaining / 1000000 >= INT_MAX - 1 ? INT_MAX : (int)(remaining / 1000000) + 1);
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
                else if (records < n && memchr(chunk, '\n', (size_t)k)) {  /* a record: the next instance's clock */
                    for (ssize_t j = 0; j < k; j++) records += chunk[j] == '\n';
                    deadline = sat_add(now_ns(), per);
                    if (deadline > last_call) deadline = last_call;
                }
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

/* The reply for a cleanly finished, proven-alone child, as server.py writes it (pack_frame). */
static int reply(struct fs_engine *e, double wall)
{
    if (e->out_len < 0 || e->out_len > FS_MAX_STDOUT || e->results_len < 0 || e->results_len > FS_MAX_RESULTS) {
        errno = EOVERFLOW;  /* the caller hands these to Python first; never a frame length past 32 bits */
        return fail(e, "reply size");
    }
    int64_t cap = 256 + 2 * e->out_len + e->results_len, len;
    char *frame = malloc((size_t)cap);
    if (!frame) return fail(e, "malloc");
    char *h = frame + 4;
    int printed = snprintf(h, 200, "{\"timed_out\":false,\"overflow\":false,\"finished\":true,\"exit_code\":0,"
                           "\"cpu\":%.9f,\"wall\":%.9f,\"leftovers\":0,\"fast\":true,\"stdout\":\"",
                           (double)e->sup_cpu_ns / 1e9, wall);
    if (printed < 0 || printed >= 200) { free(frame); errno = EOVERFLOW; return fail(e, "reply header"); }
    int64_t n = printed;
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
        if (k < 0 || e->spare.pid <= 0) {  /* not ours, or no spare to run it: Python handles it */
            e->req = head; e->req_len = hlen;
            return e->reason = FS_REQUEST;
        }
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
        e->sup_result_cap = sat_add(sat_add(e->output_bytes, 65536), sat_mul(256, n));
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
        if (supervise(e, e->sup_result_cap, n) < 0) return FS_ERROR;
        int proven = 0;
        if (e->sup_finished && e->proof) {
            int64_t last = read_first_number("/proc/loadavg", 4);
            proven = e->next.pid >= 0 ? (e->next.pid == e->spare.pid + 1 && last == e->next.pid)
                                      : last == e->spare.pid;
        }
        if (!proven || !plain_ascii(e->out, e->out_len) || e->results_len > FS_MAX_RESULTS
            || e->out_len > FS_MAX_STDOUT) return e->reason = FS_SUPERVISED;
        if (reply(e, (double)(now_ns() - e->sup_start_ns) / 1e9) < 0) return FS_ERROR;
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
