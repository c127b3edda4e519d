/* /init of the sun4v-hv Linux test guest: prints a banner and a few facts read from
 * /proc, checks that processes really work (fork, exec, pipes, page contents across
 * processes), prints one line per check, then powers the machine off. Built static with
 * sparc64-linux-gnu-gcc by `cargo xtask linux` and packed into the initramfs.
 *
 * Lines: `init: ok <check>` or `init: FAIL <check>: <detail>`, then
 * `init: all checks passed` or `init: N checks FAILED`. `/init child-exec N` is the
 * program the exec check runs (the same binary). */
#include <errno.h>
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
