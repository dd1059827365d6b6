/*
 * credentials.c: the per-user credentials files in which a store started
 * by this user leaves its password, one per server address (docs/protocol.md,
 * "Addresses"; simdask/transport/credentials.py is the Python side).
 *
 * The folder is SIMDASK_CREDENTIALS_DIR, else ~/.simdask/credentials. A
 * server's file is named by the FNV-1a 64-bit hash, as 16 lowercase hex
 * digits, of its address as node labels write it (host:port, [v6]:port,
 * unix:///path); an address that means something on this node only (a Unix
 * socket, a loopback IP) is hashed after the host name and a space, so nodes
 * sharing a home folder keep theirs apart. The file holds the password on
 * one line. It is trusted only when it is a regular file (no symlink), owned
 * by this user and neither readable nor writable by group or others; any
 * other is skipped, and the note says why (for the message if the store then
 * refuses the client).
 */
#include "sd_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define MAX_PASSWORD 4096 /* a longer file holds no password */

static uint64_t fnv1a64(const char *s, uint64_t h)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

/* A Unix socket (host NULL) or a loopback IP: an address of this node only. */
static int node_local(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!host) return 1;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0; /* a host name: the same on every node */
}

/* The credentials folder in *dir (malloc'ed; NULL when no home folder is known); -1 out of memory. */
static int credentials_dir(char **dir)
{
    const char *given = getenv("SIMDASK_CREDENTIALS_DIR");
    size_t len = 0;
    if (given) {
        while (isspace((unsigned char)*given)) given++;
        len = strlen(given);
        while (len && isspace((unsigned char)given[len - 1])) len--;
    }
    if (len) {
        *dir = strndup(given, len);
        return *dir ? 0 : -1;
    }
    const char *home = getenv("HOME");
    if (!home || !*home) {
        const struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    *dir = NULL;
    if (!home) return 0;
    size_t n = strlen(home) + sizeof "/.simdask/credentials";
    *dir = malloc(n);
    if (!*dir) return -1;
    snprintf(*dir, n, "%s/.simdask/credentials", home);
    return 0;
}

/* Keeps the first reason a file was skipped in *note; 0 (no password), -1 out of memory. */
static int skipped(char **note, const char *path, const char *why)
{
    if (*note) return 0;
    size_t n = strlen(path) + strlen(why) + 64;
    *note = malloc(n);
    if (!*note) return -1;
    snprintf(*note, n, "skipped the credentials file %s: %s", path, why);
    return 0;
}

/* The password in the file at path: 1 read into *password, 0 none (no
 * file, or one skipped: *note), -1 out of memory. */
static int read_file(const char *path, char **password, char **note)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return 0;
        return skipped(note, path, errno == ELOOP ? "it is a symlink" : strerror(errno));
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (st.st_uid != getuid())
        why = "owned by another user";
    else if (st.st_mode & 077)
        why = "group or others may access it (chmod 600 it)";
    char buf[MAX_PASSWORD + 1];
    size_t len = 0;
    while (!why && len < sizeof buf) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r == 0) break;
        if (r < 0 && errno != EINTR) why = strerror(errno);
        if (r > 0) len += (size_t)r;
    }
    close(fd);
    if (why) return skipped(note, path, why);
    int one_word = len <= MAX_PASSWORD;
    size_t start = 0;
    while (start < len && isspace((unsigned char)buf[start])) start++;
    while (len > start && isspace((unsigned char)buf[len - 1])) len--;
    one_word = one_word && len > start;
    for (size_t i = start; one_word && i < len; i++) one_word = buf[i] && !isspace((unsigned char)buf[i]);
    if (!one_word) return skipped(note, path, "it does not hold one password on one line");
    *password = strndup(buf + start, len - start);
    return *password ? 1 : -1;
}

int sd__credentials_read(const char *host, const char *label, char **password, char **path, char **note)
{
    char *dir;
    *password = *path = NULL;
    if (credentials_dir(&dir) != 0) return -1;
    if (!dir) return 0; /* no home folder: no credentials files */
    uint64_t h = FNV_OFFSET;
    char node[256];
    if (node_local(host) && gethostname(node, sizeof node) == 0) {
        node[sizeof node - 1] = '\0';
        h = fnv1a64(" ", fnv1a64(node, h));
    }
    h = fnv1a64(label, h);
    size_t n = strlen(dir) + 18;
    *path = malloc(n);
    if (*path) snprintf(*path, n, "%s/%016llx", dir, (unsigned long long)h);
    free(dir);
    if (!*path) return -1;
    int found = read_file(*path, password, note);
    if (found != 1) {
        free(*path);
        *path = NULL;
    }
    return found;
}
