/* /init of the sun4v-hv Linux test guest: prints a banner and a few facts read from
 * /proc, then powers the machine off. Built static with sparc64-linux-gnu-gcc by
 * `cargo xtask linux` and packed into the kernel's built-in initramfs. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/reboot.h>

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

int main(void)
{
    printf("*** sun4v-hv linux guest: init started ***\n");
    if (mount("proc", "/proc", "proc", 0, NULL) != 0)
        perror("init: mount /proc");
    facts("/proc/version", (const char *const[]){"Linux version", NULL});
    facts("/proc/cpuinfo", (const char *const[]){"cpu\t", "type", "ncpus active", "MMU Type", NULL});
    facts("/proc/meminfo", (const char *const[]){"MemTotal", NULL});
    printf("*** sun4v-hv linux guest: powering off ***\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    perror("init: reboot(RB_POWER_OFF)");
    for (;;)
        pause();
}
