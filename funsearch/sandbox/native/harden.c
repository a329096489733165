/* harden.c: fs_fork, fork() plus the whole hardening of a candidate child in one call (see forkhelper.h). */
#define _GNU_SOURCE
#include "forkhelper.h"

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
