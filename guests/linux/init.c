/* /init of the sun4v-hv Linux test guest: prints a banner and a few facts read from
 * /proc, checks that processes really work (fork, exec, pipes, page contents across
 * processes), runs a parallel workload on every online CPU, prints one line per check,
 * then powers the machine off. Built static with sparc64-linux-gnu-gcc by `cargo xtask
 * linux` and packed into the initramfs.
 *
 * Lines: `init: ok <check>` or `init: FAIL <check>: <detail>`, then
 * `init: all checks passed` or `init: N checks FAILED`. `/init child-exec N` is the
 * program the exec check runs (the same binary). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *detail)
{
    if (ok)
        printf("init: ok %s\n", name);
    else {
        failures++;
        printf("init: FAIL %s: %s\n", name, detail);
    }
    fflush(stdout);
}

/* Prints the lines of `path` that start with one of `keys` (NULL-terminated). */
static void facts(const char *path, const char *const keys[])
{
    char line[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("init: cannot open %s\n", path);
        return;
    }
    while (fgets(line, sizeof line, f))
        for (const char *const *k = keys; *k; k++)
            if (strncmp(line, *k, strlen(*k)) == 0) {
                printf("init: %s", line);
                break;
            }
    fclose(f);
}

/* A pattern that differs on every page and every word. */
static unsigned long pattern(unsigned long i, unsigned long seed)
{
    unsigned long x = i * 0x9e3779b97f4a7c15UL + seed;
    x ^= x >> 29;
    return x * 0xbf58476d1ce4e5b9UL;
}

#define PAGES 64
#define WORDS (PAGES * 8192 / sizeof(unsigned long))

/* fork: the child sees the parent's pages (copy on write), changes its own copy,
 * and sends a checksum of what it saw through a pipe; the parent's pages stay. */
static void check_fork_pipe_pages(void)
{
    unsigned long *buf = malloc(WORDS * sizeof *buf);
    int fds[2];
    if (!buf || pipe(fds) != 0) {
        check("fork, pipe and page contents", 0, strerror(errno));
        return;
    }
    for (unsigned long i = 0; i < WORDS; i++)
        buf[i] = pattern(i, 1);
    pid_t pid = fork();
    if (pid < 0) {
        check("fork", 0, strerror(errno));
        return;
    }
    if (pid == 0) {
        unsigned long bad = 0, sum = 0;
        for (unsigned long i = 0; i < WORDS; i++) {
            bad += buf[i] != pattern(i, 1);
            sum += buf[i];
            buf[i] = pattern(i, 2); /* copy on write: the parent must not see this */
        }
        unsigned long msg[2] = { bad, sum };
        ssize_t n = write(fds[1], msg, sizeof msg);
        _exit(n == sizeof msg ? 0 : 1);
    }
    close(fds[1]);
    unsigned long msg[2] = { 1, 0 }, want = 0;
    ssize_t n = read(fds[0], msg, sizeof msg);
    int status = -1;
    waitpid(pid, &status, 0);
    for (unsigned long i = 0; i < WORDS; i++)
        want += pattern(i, 1);
    check("fork: child exited 0", WIFEXITED(status) && WEXITSTATUS(status) == 0, "bad status");
    check("pipe: child's message arrived", n == sizeof msg, "short read");
    check("child saw the parent's pages", msg[0] == 0 && msg[1] == want, "pages differ");
    unsigned long bad = 0;
    for (unsigned long i = 0; i < WORDS; i++)
        bad += buf[i] != pattern(i, 1);
    check("parent's pages unchanged by the child's writes", bad == 0, "copy on write broken");
    close(fds[0]);
    free(buf);
}

/* MAP_SHARED anonymous memory: a child's writes are seen by the parent. */
static void check_shared_pages(void)
{
    unsigned long *shared = mmap(NULL, 4 * 8192, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        check("shared pages", 0, strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        for (unsigned long i = 0; i < 4 * 1024; i++)
            shared[i] = pattern(i, 3);
        _exit(0);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    unsigned long bad = 0;
    for (unsigned long i = 0; i < 4 * 1024; i++)
        bad += shared[i] != pattern(i, 3);
    check("shared pages written by a child", pid > 0 && bad == 0, "parent does not see them");
}

/* exec: a child runs this program again with an argument; its output comes back
 * through a pipe on its stdout, its exit code through wait. */
static void check_exec(void)
{
    int fds[2];
    if (pipe(fds) != 0) {
        check("exec", 0, strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl("/init", "/init", "child-exec", "41", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char out[64] = { 0 };
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    check("exec: the new program ran", n > 0 && strcmp(out, "child-exec 42\n") == 0, out);
    check("exec: its exit code came back", WIFEXITED(status) && WEXITSTATUS(status) == 42,
          "bad status");
}

/* The parallel workload: a linear congruential generator stirs a 256 KB buffer
 * (WORK_ROUNDS passes, 2M word updates), then the buffer is folded into one checksum.
 * Deterministic for a seed: WORK_SUMS[seed - 1] is its result (computed with this same
 * function on another machine; 64-bit unsigned arithmetic is the same everywhere). */
#define WORK_WORDS 32768
#define WORK_ROUNDS 64
#define MAX_WORKERS 8
static const unsigned long WORK_SUMS[MAX_WORKERS] = {
    0x8023df46a2347fccUL, 0xad52eed5521f32ebUL, 0x3aad2d9e5715e9d6UL, 0x5d311b71945d8fbbUL,
    0x1ed137a27c87e3dcUL, 0x379b11280113ccf7UL, 0xd1bb4de08a9245bcUL, 0xe83d8a83bfbe1ebaUL,
};

static unsigned long workload(unsigned long seed)
{
    static unsigned long buf[WORK_WORDS];
    unsigned long x = seed;
    for (unsigned long j = 0; j < WORK_WORDS; j++)
        buf[j] = pattern(j, seed);
    for (unsigned long r = 0; r < WORK_ROUNDS; r++)
        for (unsigned long j = 0; j < WORK_WORDS; j++) {
            x = x * 6364136223846793005UL + 1442695040888963407UL;
            buf[j] ^= x >> 17;
            buf[j] += buf[(j + r * 7919) % WORK_WORDS];
        }
    unsigned long sum = 0;
    for (unsigned long j = 0; j < WORK_WORDS; j++)
        sum = (sum << 7 | sum >> 57) ^ buf[j];
    return sum;
}

/* What a worker sends back: its index, the CPU it ran on before and after the work, and
 * its checksum. Smaller than PIPE_BUF, so the writes of several workers do not mix. */
struct work_result {
    long index, cpu_before, cpu_after;
    unsigned long sum;
};

/* With more than one CPU online: one worker process per CPU, each pinned to its CPU with
 * sched_setaffinity, all running `workload` at the same time (they start together once
 * every worker is pinned: a bounded wait on a shared counter). The parent checks every
 * checksum and that the workers ran on distinct CPUs (sched_getcpu). */
static void check_parallel_workload(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 1) {
        printf("init: parallel workload: one CPU\n");
        fflush(stdout);
        return;
    }
    if (n > MAX_WORKERS) {
        check("parallel workload", 0, "more CPUs online than NR_CPUS");
        return;
    }
    volatile long *ready = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fds[2];
    if (ready == MAP_FAILED || pipe(fds) != 0) {
        check("parallel workload", 0, strerror(errno));
        return;
    }
    *ready = 0;
    pid_t pids[MAX_WORKERS];
    for (long i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            check("parallel workload: fork", 0, strerror(errno));
            n = i;
            break;
        }
        if (pids[i] == 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(i, &set);
            struct work_result r = { i, -1, -1, 0 };
            if (sched_setaffinity(0, sizeof set, &set) == 0) {
                __sync_fetch_and_add(ready, 1);
                /* Start together: at most ~10 s of yields, then work anyway (the parent
                 * then sees the CPUs, which is what it checks). */
                for (long t = 0; *ready < n && t < 1000000; t++)
                    sched_yield();
                r.cpu_before = sched_getcpu();
                r.sum = workload(i + 1);
                r.cpu_after = sched_getcpu();
            }
            ssize_t w = write(fds[1], &r, sizeof r);
            _exit(w == sizeof r ? 0 : 1);
        }
    }
    close(fds[1]);
    int seen = 0, bad_sum = 0, bad_cpu = 0, exited = 0;
    unsigned long cpus = 0;
    struct work_result r;
    while (read(fds[0], &r, sizeof r) == sizeof r) {
        if (r.index < 0 || r.index >= n || (seen & 1 << r.index))
            continue;
        seen |= 1 << r.index;
        if (r.sum != WORK_SUMS[r.index])
            bad_sum++;
        if (r.cpu_before != r.index || r.cpu_after != r.index || (cpus & 1UL << r.index))
            bad_cpu++;
        else
            cpus |= 1UL << r.index;
        printf("init: worker %ld on cpu %ld: checksum %016lx\n", r.index, r.cpu_after, r.sum);
    }
    close(fds[0]);
    for (long i = 0; i < n; i++) {
        int status = -1;
        waitpid(pids[i], &status, 0);
        exited += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    munmap((void *)ready, 8192);
    char detail[96];
    snprintf(detail, sizeof detail, "%d of %ld results, %d wrong checksums, %d on a wrong CPU",
             __builtin_popcount(seen), n, bad_sum, bad_cpu);
    int ok = seen == (1 << n) - 1 && bad_sum == 0 && bad_cpu == 0 && exited == n;
    char name[64];
    snprintf(name, sizeof name, "parallel workload on %ld CPUs", n);
    check(name, ok, detail);
    if (ok) {
        printf("init: ok each worker ran on its own CPU\n");
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child-exec") == 0) {
        int v = atoi(argv[2]) + 1;
        printf("child-exec %d\n", v);
        fflush(stdout);
        return v;
    }
    printf("*** sun4v-hv linux guest: init started ***\n");
    if (mount("proc", "/proc", "proc", 0, NULL) != 0)
        perror("init: mount /proc");
    facts("/proc/version", (const char *const[]){"Linux version", NULL});
    facts("/proc/cpuinfo", (const char *const[]){"cpu\t", "type", "ncpus active", "MMU Type", NULL});
    facts("/proc/meminfo", (const char *const[]){"MemTotal", NULL});
    check_fork_pipe_pages();
    check_shared_pages();
    check_exec();
    check_parallel_workload();
    if (failures == 0)
        printf("init: all checks passed\n");
    else
        printf("init: %d checks FAILED\n", failures);
    printf("*** sun4v-hv linux guest: powering off ***\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    perror("init: reboot(RB_POWER_OFF)");
    for (;;)
        pause();
}
