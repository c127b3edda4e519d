/* /init of the sun4v-hv Linux test guest: prints a banner and a few facts read from
 * /proc, checks that processes really work (fork, exec, pipes, page contents across
 * processes), runs a parallel workload on every online CPU, exchanges UDP datagrams with
 * the other domains of its virtual network when it has one (eth0, sunvnet), prints one line
 * per check, then powers the machine off. Built static with sparc64-linux-gnu-gcc by `cargo
 * xtask linux` and packed into the initramfs.
 *
 * Lines: `init: ok <check>` or `init: FAIL <check>: <detail>`, then
 * `init: all checks passed` or `init: N checks FAILED`. `/init child-exec N` is the
 * program the exec check runs (the same binary). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
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

/* ---- The virtual network (docs/ldom-config.md, "Networks") ----
 *
 * eth0 (sunvnet) gets 10.b3.b4.b5/8 from the last three bytes of its MAC address. The
 * peers' MAC addresses come from the driver: its ethtool statistics name every port
 * `p<n>.q-<mac>` (`.s-` for a switch port). Each peer's address is derived the same way and
 * entered as a permanent neighbour: sunvnet sends broadcasts only to a switch port, so ARP
 * between two plain ports would go nowhere.
 *
 * Then both sides run the same exchange with every peer: UDP_COUNT datagrams each way
 * (sizes and payloads differ per sequence number and sender), every datagram acknowledged;
 * unacknowledged datagrams are sent again each round (they are lost while the LDC and VIO
 * handshakes are not done yet). Pass/fail is decided by what arrives and what it contains;
 * the rounds only bound the wait (UDP_ROUNDS polls of UDP_POLL_MS). Once done, the side
 * keeps acknowledging the peer's repeats until UDP_QUIET_POLLS polls pass without a
 * datagram, so that the peer can finish too. */

#define UDP_PORT 7447
#define UDP_COUNT 8
#define UDP_MAGIC 0x766e6574u /* "vnet" */
#define UDP_POLL_MS 200
#define UDP_ROUNDS 900      /* 180 s */
#define UDP_QUIET_POLLS 25  /* 5 s without a datagram */
#define UDP_LINGER_MAX 300  /* at most 60 s more */
#define MAX_PEERS 8

enum { KIND_DATA = 1, KIND_ACK = 2 };

struct dgram {
    uint32_t magic, kind, seq, src, dst, len;
    uint8_t payload[1400];
};

static unsigned payload_len(unsigned seq) { return 200 + 150 * seq; }

static uint8_t payload_byte(unsigned i, unsigned seq, uint32_t src)
{
    return (uint8_t)(pattern(i + 4096UL * seq, src) >> 24);
}

static uint32_t mac_to_ip(const unsigned char *m)
{
    return 10u << 24 | (uint32_t)m[3] << 16 | (uint32_t)m[4] << 8 | m[5];
}

static const char *ip_text(uint32_t ip, char *buf)
{
    sprintf(buf, "%u.%u.%u.%u", ip >> 24, ip >> 16 & 255, ip >> 8 & 255, ip & 255);
    return buf;
}

/* The names of eth0's ethtool statistics (NULL on failure; *n is their number). */
static struct ethtool_gstrings *stat_names(int s, unsigned *n)
{
    struct {
        struct ethtool_sset_info hdr;
        uint32_t len;
    } info = { .hdr = { .cmd = ETHTOOL_GSSET_INFO, .sset_mask = 1ULL << ETH_SS_STATS } };
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    ifr.ifr_data = (void *)&info;
    if (ioctl(s, SIOCETHTOOL, &ifr) != 0 || !info.hdr.sset_mask)
        return NULL;
    *n = info.len;
    struct ethtool_gstrings *gs = calloc(1, sizeof *gs + *n * ETH_GSTRING_LEN + 1);
    if (!gs)
        return NULL;
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = *n;
    ifr.ifr_data = (void *)gs;
    if (ioctl(s, SIOCETHTOOL, &ifr) != 0 || gs->len != *n) {
        free(gs);
        return NULL;
    }
    return gs;
}

static const char *stat_name(struct ethtool_gstrings *gs, unsigned i, char *buf)
{
    memcpy(buf, gs->data + i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
    buf[ETH_GSTRING_LEN] = 0;
    return buf;
}

/* The peers' MAC addresses, from sunvnet's `p<n>.<q|s>-<mac>` statistics names. */
static int peer_macs(int s, unsigned char macs[][6], int max)
{
    unsigned n;
    struct ethtool_gstrings *gs = stat_names(s, &n);
    if (!gs)
        return -1;
    int found = 0;
    for (unsigned i = 0; i < n && found < max; i++) {
        char name[ETH_GSTRING_LEN + 1];
        unsigned q, m[6];
        char kind;
        if (sscanf(stat_name(gs, i, name), "p%u.%c-%2x:%2x:%2x:%2x:%2x:%2x", &q, &kind, &m[0], &m[1], &m[2], &m[3],
                   &m[4], &m[5]) == 8 && (kind == 'q' || kind == 's')) {
            for (int k = 0; k < 6; k++)
                macs[found][k] = (unsigned char)m[k];
            printf("init: eth0 port %u to %02x:%02x:%02x:%02x:%02x:%02x%s\n", q, m[0], m[1], m[2], m[3], m[4], m[5],
                   kind == 's' ? " (switch port)" : "");
            found++;
        }
    }
    free(gs);
    return found;
}

/* Prints each port's LDC and packet counters (sunvnet's p<n>.event_up, .event_reset,
 * .rx_packets, .tx_packets): event_up counts the LDC links that came up (handshakes done). */
static void port_stats(int s)
{
    unsigned n;
    struct ethtool_gstrings *gs = stat_names(s, &n);
    struct ethtool_stats *st = gs ? calloc(1, sizeof *st + n * sizeof(uint64_t)) : NULL;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    if (st) {
        st->cmd = ETHTOOL_GSTATS;
        st->n_stats = n;
        ifr.ifr_data = (void *)st;
    }
    if (!st || ioctl(s, SIOCETHTOOL, &ifr) != 0 || st->n_stats != n) {
        printf("init: eth0 port counters unavailable\n");
        free(gs);
        free(st);
        return;
    }
    for (unsigned q = 0; q < MAX_PEERS; q++) {
        unsigned long long v[4] = { 0 };
        int seen = 0;
        static const char *const keys[4] = { "event_up", "event_reset", "rx_packets", "tx_packets" };
        for (unsigned i = 0; i < n; i++) {
            char name[ETH_GSTRING_LEN + 1], want[ETH_GSTRING_LEN];
            stat_name(gs, i, name);
            for (int k = 0; k < 4; k++) {
                snprintf(want, sizeof want, "p%u.%s", q, keys[k]);
                if (strcmp(name, want) == 0) {
                    v[k] = st->data[i];
                    seen++;
                }
            }
        }
        if (seen)
            printf("init: eth0 port %u: LDC up %llu time(s), reset %llu; packets in %llu, out %llu\n", q, v[0], v[1],
                   v[2], v[3]);
    }
    free(gs);
    free(st);
}

static int set_addr(int s, unsigned long req, uint32_t ip)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(ip);
    return ioctl(s, req, &ifr);
}

static int add_neighbour(int s, uint32_t ip, const unsigned char *mac)
{
    struct arpreq r;
    memset(&r, 0, sizeof r);
    struct sockaddr_in *sin = (struct sockaddr_in *)&r.arp_pa;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(ip);
    r.arp_ha.sa_family = ARPHRD_ETHER;
    memcpy(r.arp_ha.sa_data, mac, 6);
    r.arp_flags = ATF_PERM | ATF_COM;
    strcpy(r.arp_dev, "eth0");
    return ioctl(s, SIOCSARP, &r);
}

struct peer {
    uint32_t ip;
    unsigned acked, received; /* bit masks of sequence numbers */
    unsigned bad;             /* datagrams from it with a wrong header or payload */
};

static void send_dgram(int fd, uint32_t me, struct peer *p, unsigned kind, unsigned seq)
{
    static struct dgram d;
    memset(&d, 0, sizeof d);
    d.magic = htonl(UDP_MAGIC);
    d.kind = htonl(kind);
    d.seq = htonl(seq);
    d.src = htonl(me);
    d.dst = htonl(p->ip);
    unsigned len = kind == KIND_DATA ? payload_len(seq) : 0;
    d.len = htonl(len);
    for (unsigned i = 0; i < len; i++)
        d.payload[i] = payload_byte(i, seq, me);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT), .sin_addr = { htonl(p->ip) } };
    sendto(fd, &d, offsetof(struct dgram, payload) + len, 0, (struct sockaddr *)&to, sizeof to);
}

/* Reads every datagram waiting; returns how many arrived. */
static int receive_all(int fd, uint32_t me, struct peer *peers, int npeers)
{
    static struct dgram d;
    int got = 0;
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, &d, sizeof d, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return got;
        got++;
        uint32_t src = ntohl(from.sin_addr.s_addr);
        struct peer *p = NULL;
        for (int k = 0; k < npeers; k++)
            if (peers[k].ip == src)
                p = &peers[k];
        if (!p)
            continue;
        unsigned seq = ntohl(d.seq), kind = ntohl(d.kind), len = ntohl(d.len);
        int ok = n >= (ssize_t)offsetof(struct dgram, payload) && ntohl(d.magic) == UDP_MAGIC &&
                 ntohl(d.src) == src && ntohl(d.dst) == me && seq < UDP_COUNT &&
                 (kind == KIND_ACK || kind == KIND_DATA);
        if (ok && kind == KIND_DATA) {
            ok = len == payload_len(seq) && (size_t)n == offsetof(struct dgram, payload) + len;
            for (unsigned i = 0; ok && i < len; i++)
                ok = d.payload[i] == payload_byte(i, seq, src);
        } else if (ok)
            ok = len == 0;
        if (!ok) {
            p->bad++;
            continue;
        }
        if (kind == KIND_ACK)
            p->acked |= 1u << seq;
        else {
            p->received |= 1u << seq;
            send_dgram(fd, me, p, KIND_ACK, seq);
        }
    }
}

static void check_network(void)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "eth0");
    if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) != 0) {
        printf("init: network: no eth0\n");
        fflush(stdout);
        if (s >= 0)
            close(s);
        return;
    }
    const unsigned char *mac = (const unsigned char *)ifr.ifr_hwaddr.sa_data;
    uint32_t me = mac_to_ip(mac);
    char a[16], b[16];
    printf("init: eth0 %02x:%02x:%02x:%02x:%02x:%02x is %s/8\n", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
           ip_text(me, a));
    if ((me & 0xffffff) == 0 || (me & 0xffffff) == 0xffffff) {
        check("eth0 address from its MAC", 0, "10.0.0.0 and 10.255.255.255 are not host addresses");
        close(s);
        return;
    }
    int up = set_addr(s, SIOCSIFADDR, me) == 0 && set_addr(s, SIOCSIFNETMASK, 0xff000000u) == 0;
    if (up) {
        memset(&ifr, 0, sizeof ifr);
        strcpy(ifr.ifr_name, "eth0");
        up = ioctl(s, SIOCGIFFLAGS, &ifr) == 0;
        ifr.ifr_flags |= IFF_UP;
        up = up && ioctl(s, SIOCSIFFLAGS, &ifr) == 0;
    }
    check("eth0 up with its address", up, strerror(errno));
    unsigned char macs[MAX_PEERS][6];
    int npeers = up ? peer_macs(s, macs, MAX_PEERS) : -1;
    check("eth0 has peer ports", npeers > 0, npeers < 0 ? strerror(errno) : "no port (see sunvnet's lines)");
    if (npeers <= 0) {
        close(s);
        return;
    }
    struct peer peers[MAX_PEERS];
    memset(peers, 0, sizeof peers);
    int neigh_ok = 1;
    for (int k = 0; k < npeers; k++) {
        peers[k].ip = mac_to_ip(macs[k]);
        if (add_neighbour(s, peers[k].ip, macs[k]) != 0)
            neigh_ok = 0;
        else
            printf("init: neighbour %s is %02x:%02x:%02x:%02x:%02x:%02x (permanent)\n", ip_text(peers[k].ip, a),
                   macs[k][0], macs[k][1], macs[k][2], macs[k][3], macs[k][4], macs[k][5]);
    }
    check("permanent neighbour entries for the peers", neigh_ok, strerror(errno));
    close(s);

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(UDP_PORT), .sin_addr = { htonl(me) } };
    if (fd < 0 || bind(fd, (struct sockaddr *)&local, sizeof local) != 0) {
        check("udp socket", 0, strerror(errno));
        return;
    }
    const unsigned all = (1u << UDP_COUNT) - 1;
    printf("init: udp: %d datagrams each way with %d peer(s), port %d\n", UDP_COUNT, npeers, UDP_PORT);
    fflush(stdout);
    int done = 0, rounds = 0;
    for (; rounds < UDP_ROUNDS && !done; rounds++) {
        for (int k = 0; k < npeers; k++)
            for (unsigned q = 0; q < UDP_COUNT; q++)
                if (!(peers[k].acked & 1u << q))
                    send_dgram(fd, me, &peers[k], KIND_DATA, q);
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        poll(&pf, 1, UDP_POLL_MS);
        receive_all(fd, me, peers, npeers);
        done = 1;
        for (int k = 0; k < npeers; k++)
            done &= peers[k].acked == all && peers[k].received == all;
    }
    for (int k = 0; k < npeers; k++) {
        struct peer *p = &peers[k];
        int ok = p->acked == all && p->received == all && p->bad == 0;
        char detail[128];
        snprintf(detail, sizeof detail, "sent %d (%d acknowledged), received %d of %d, %u bad",
                 UDP_COUNT, __builtin_popcount(p->acked), __builtin_popcount(p->received), UDP_COUNT, p->bad);
        if (ok)
            printf("init: udp with %s: sent %d, received %d ok\n", ip_text(p->ip, b), UDP_COUNT, UDP_COUNT);
        char name[64];
        snprintf(name, sizeof name, "udp with %s", ip_text(p->ip, b));
        check(name, ok, detail);
    }
    port_stats(fd);
    /* Keep acknowledging the peers' repeats until they have been quiet for a while. */
    for (int quiet = 0, n = 0; done && quiet < UDP_QUIET_POLLS && n < UDP_LINGER_MAX; n++) {
        struct pollfd pf = { .fd = fd, .events = POLLIN };
        poll(&pf, 1, UDP_POLL_MS);
        quiet = receive_all(fd, me, peers, npeers) ? 0 : quiet + 1;
    }
    close(fd);
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
    check_network();
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
