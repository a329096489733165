/* io.c: small helpers of the evaluation cycle (engine.c): exact reads and writes, buffers, /proc numbers. */
#define _GNU_SOURCE
#include "forkhelper.h"

void fs_free(void *p) { free(p); }

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int read_exact(int fd, void *buf, size_t n)  /* 0, 1 on EOF, -1 on error */
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

int write_all_fd(int fd, const void *buf, size_t n)
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

int append(char **buf, int64_t *len, int64_t *cap, const char *src, int64_t n)
{
    if (n < 0 || *len < 0 || *len > INT64_MAX / 2 - n) { errno = EOVERFLOW; return -1; }
    if (*len + n > *cap) {
        int64_t want = *cap > 0 ? *cap : 4096;
        while (want < *len + n) want = want > INT64_MAX / 4 ? *len + n : want * 2;
        char *grown = realloc(*buf, (size_t)want);
        if (!grown) return -1;
        *buf = grown; *cap = want;
    }
    memcpy(*buf + *len, src, (size_t)n);
    *len += n;
    return 0;
}

int64_t read_first_number(const char *path, int field)  /* the field-th number of a small /proc file */
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

int plain_ascii(const char *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c > 0x7e) return 0;
    }
    return 1;
}

int workdir_empty(int dirfd)
{
    char buf[1024];
    if (lseek(dirfd, 0, SEEK_SET) < 0) return 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dirfd, buf, sizeof buf);
        if (n <= 0) return n == 0;
        for (long off = 0; off < n;) {
            unsigned short reclen;
            memcpy(&reclen, buf + off + 16, 2);
            if (reclen == 0) return 0;
            const char *name = buf + off + 19;
            if (strcmp(name, ".") && strcmp(name, "..")) return 0;
            off += reclen;
        }
    }
}

int64_t sat_add(int64_t a, int64_t b)  /* a + b for a, b >= 0, saturating at INT64_MAX */
{
    if (a < 0) a = 0;
    if (b < 0) b = 0;
    return b > INT64_MAX - a ? INT64_MAX : a + b;
}

int64_t sat_mul(int64_t a, int64_t b)  /* a * b for a, b >= 0, saturating at INT64_MAX */
{
    if (a <= 0 || b <= 0) return 0;
    return a > INT64_MAX / b ? INT64_MAX : a * b;
}
