/* engine_driver.c: drives the native fork server's C code (funsearch/sandbox/native/{harden,io,engine}.c) the
 * way server.py does, without Python, so that it can be built and run under AddressSanitizer and UBSan
 * (tests/test_native_asan.py). It forks hardened spares with fs_fork, feeds fs_serve eval requests whose
 * candidates (this file's `candidate`) behave well or badly, concludes what fs_serve hands back as Python would,
 * then checks the reply frames fs_serve wrote.
 *
 *   engine_driver PROOF OVERLAP     PROOF=1 only in a fresh pid namespace (unshare --pid --fork --mount-proc),
 *                                   where the last-pid proof holds and fs_serve replies itself
 */
#define _GNU_SOURCE
#include "forkhelper.h"
#include <dirent.h>
#include <sys/stat.h>

int fs_serve(struct fs_engine *e);
void fs_free(void *p);

static const char HEADER[] = "{\"op\":\"eval\",\"key\":\"k\"}";
static const char PREFIX[] = "{\"key\": \"k\"}\n";
static const char END[] = "{\"end\":true}\n";
#define N_INSTANCES 3

static void die(const char *what) { perror(what); _exit(90); }

static void put(int fd, const char *s) { if (write_all_fd(fd, s, strlen(s)) < 0) _exit(91); }

/* A candidate child (hardened by fs_fork): read the command, behave as its mode says. Never returns. */
static void candidate(void)
{
    uint32_t be;
    if (read_exact(COMMAND_FD, &be, 4)) _exit(92);
    uint32_t n = be32toh(be);
    char *cmd = calloc(1, (size_t)n + 1);
    if (!cmd || read_exact(COMMAND_FD, cmd, n)) _exit(93);
    if (strncmp(cmd, PREFIX, strlen(PREFIX))) _exit(94);
    const char *mode = cmd + strlen(PREFIX);
    char record[128];
    if (!strcmp(mode, "exit")) _exit(3);
    if (!strcmp(mode, "stdout")) put(1, "a \"quoted\" \\ line\n\twith a tab\r\n");
    if (!strcmp(mode, "utf8")) put(1, "caf\xc3\xa9\n");
    if (!strcmp(mode, "tmpfile")) { int fd = open("left-behind", O_CREAT | O_WRONLY, 0600); if (fd >= 0) close(fd); }
    if (!strcmp(mode, "flood")) {
        static char junk[1 << 16];
        memset(junk, 'x', sizeof junk);
        for (;;) if (write_all_fd(RESULT_FD, junk, sizeof junk) < 0) _exit(0);
    }
    if (!strcmp(mode, "forge")) for (;;) { put(RESULT_FD, "\n"); usleep(20000); }
    for (int i = 0; i < N_INSTANCES; i++) {
        if (!strcmp(mode, "hang") && i == 1) for (;;) pause();
        snprintf(record, sizeof record, "{\"i\":%d,\"t\":0.001,\"s\":[%d]}\n", i, i);
        put(RESULT_FD, record);
    }
    put(RESULT_FD, END);
    for (;;) pause();  /* the server SIGKILLs it after its end line */
}

static struct fs_spare spawn(struct fs_plan *plan, struct fs_outcome *outcome)
{
    int out[2], res[2], cmd[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(res, O_CLOEXEC) || pipe2(cmd, O_CLOEXEC)) die("pipe2");
    plan->out_fd = out[1]; plan->result_fd = res[1]; plan->command_fd = cmd[0];
    long pid = fs_fork(plan, outcome);
    if (pid < 0) die("fs_fork");
    if (pid == 0) { if (outcome->step) _exit(95); candidate(); }
    close(out[1]); close(res[1]); close(cmd[0]);
    struct fs_spare s = {(int32_t)pid, (int32_t)syscall(SYS_pidfd_open, (pid_t)pid, 0), out[0], res[0], cmd[1], 0};
    if (s.pidfd < 0) die("pidfd_open");
    return s;
}

static void finish(struct fs_spare *s)  /* kill, reap and close a supervised or unused spare (Python's conclude) */
{
    if (s->pid <= 0) return;
    kill(-s->pid, SIGKILL);
    kill(s->pid, SIGKILL);
    while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {}
    close(s->pidfd); close(s->out_r); close(s->res_r);
    if (s->cmd_w >= 0) close(s->cmd_w);
    s->pid = -1;
}

static void wipe(int dirfd)
{
    DIR *d = fdopendir(dup(dirfd));
    if (!d) die("fdopendir");
    rewinddir(d);  /* the dup shares its offset with dirfd, which workdir_empty() left at the end */
    struct dirent *ent;
    while ((ent = readdir(d)))
        if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, "..")) unlinkat(dirfd, ent->d_name, 0);
    closedir(d);
}

static void frame(int fd, const char *header, const char *payload)
{
    uint32_t be = htobe32((uint32_t)strlen(header));
    if (write_all_fd(fd, &be, 4) || write_all_fd(fd, header, strlen(header))) die("write request");
    be = htobe32((uint32_t)strlen(payload));
    if (write_all_fd(fd, &be, 4) || write_all_fd(fd, payload, strlen(payload))) die("write request");
}

int main(int argc, char **argv)
{
    int proof = argc > 1 && atoi(argv[1]), overlap = argc > 2 && atoi(argv[2]);
    const char *modes[] = {"ok", "stdout", "utf8", "hang", "ok", "flood", "exit", "tmpfile", "forge", "ok"};
    int n_modes = (int)(sizeof modes / sizeof *modes);
    char workdir[] = "/tmp/fs-engine-driver-XXXXXX";
    if (!mkdtemp(workdir)) die("mkdtemp");
    int workdir_fd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char replies_path[] = "/tmp/fs-engine-replies-XXXXXX";
    int replies = mkstemp(replies_path);
    int req[2];
    if (workdir_fd < 0 || replies < 0 || pipe(req)) die("setup");
    unlink(replies_path);
    /* requests: every mode, plus one for a key the engine does not know (handed to "Python") */
    for (int i = 0; i < n_modes; i++) {
        frame(req[1], HEADER, modes[i]);
        if (i == 4) frame(req[1], "{\"op\":\"eval\",\"key\":\"other\"}", "ok");
    }
    close(req[1]);
    int saved_out = dup(1);
    if (dup2(req[0], 0) < 0 || dup2(replies, 1) < 0 || saved_out < 0) die("dup2");
    close(req[0]);

    struct fs_plan plan = {0};
    struct fs_outcome outcome = {0};
    plan.devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    plan.landlock_fd = -1; plan.uid = -1; plan.server_pid = (int32_t)getpid(); plan.workdir = workdir;
    plan.n_limits = 1;
    plan.limits[0] = (struct fs_limit){RLIMIT_CORE, 0, 0};
    struct fs_key key = {HEADER, (int64_t)strlen(HEADER), PREFIX, (int64_t)strlen(PREFIX), N_INSTANCES};
    struct fs_engine e;
    memset(&e, 0, sizeof e);
    e.plan = &plan; e.outcome = &outcome; e.keys = &key; e.n_keys = 1;
    e.wall_ns = 300 * 1000000LL; e.stdout_cap = 4096; e.output_bytes = 1 << 16;
    e.proof = proof; e.overlap = overlap; e.workdir_fd = workdir_fd; e.next.pid = -1;
    e.spare = spawn(&plan, &outcome);

    int supervised = 0, requests = 0, wipes = 0;
    for (;;) {
        int r = fs_serve(&e);
        if (r == FS_CHILD) candidate();
        if (r == FS_EOF) break;
        if (r == FS_ERROR) { dprintf(saved_out, "fs_serve error at %s: %s\n", e.err_where, strerror(e.err)); return 1; }
        if (r == FS_REQUEST) {  /* Python reads the payload and answers; here: skip it */
            uint32_t be;
            if (read_exact(0, &be, 4)) die("read payload");
            char *payload = malloc(be32toh(be) + 1);
            if (!payload || read_exact(0, payload, be32toh(be))) die("read payload");
            free(payload);
            fs_free(e.req); e.req = NULL; e.req_len = 0;
            requests++;
        } else if (r == FS_SUPERVISED) {
            supervised++;
            finish(&e.next);
            finish(&e.spare);
            wipe(workdir_fd);
            e.spare = spawn(&plan, &outcome);
        } else if (r == FS_WIPE) {
            wipes++;
            wipe(workdir_fd);
        }
    }
    finish(&e.spare);
    fs_free(e.req);
    fs_free(e.results);
    fs_free(e.out);

    /* the reply frames fs_serve wrote itself: header {"timed_out":false,...,"stdout":"..."} + the results */
    off_t size = lseek(replies, 0, SEEK_END);
    char *all = malloc((size_t)size + 1);
    if (!all || pread(replies, all, (size_t)size, 0) != size) die("read replies");
    all[size] = 0;
    int frames = 0, escaped = 0;
    for (off_t at = 0; at < size;) {
        uint32_t hlen, plen;
        memcpy(&hlen, all + at, 4); hlen = be32toh(hlen);
        char *head = strndup(all + at + 4, hlen);
        memcpy(&plen, all + at + 4 + hlen, 4); plen = be32toh(plen);
        const char *payload = all + at + 8 + hlen;
        if (!head || strncmp(head, "{\"timed_out\":false,\"overflow\":false,\"finished\":true", 50)
            || plen < strlen(END) || memcmp(payload + plen - strlen(END), END, strlen(END))) {
            dprintf(saved_out, "bad reply frame %d\n", frames);
            return 1;
        }
        escaped += strstr(head, "a \\\"quoted\\\" \\\\ line\\n\\twith a tab\\r\\n") != NULL;
        free(head);
        frames++;
        at += 8 + hlen + plen;
    }
    free(all);
    dprintf(saved_out, "served=%lld replies=%d supervised=%d requests=%d wipes=%d escaped=%d\n",
            (long long)e.served, frames, supervised, requests, wipes, escaped);
    rmdir(workdir);
    return 0;
}
