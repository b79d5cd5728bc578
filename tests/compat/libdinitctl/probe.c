/* A client of Chimera Linux's libdinitctl (include/libdinitctl.h), run against a daemon by
 * tests/compat/libdinitctl.rs: once against Dinit's, once against ours, the two transcripts
 * compared line for line.
 *
 *     probe SOCKET RUNDIR
 *
 * RUNDIR holds the service directory `sd/` (written by the test: see SERVICES in
 * libdinitctl.rs) and `bin/` (the scripts the services run); the probe makes its FIFOs there.
 * A second service directory on tmpfs (`SHMDIR`, given by the environment) serves the
 * ephemeral-service calls.
 *
 * The transcript (standard output) records every call with its arguments (`> ...`), what it
 * returned (`= ...`), and every callback in between (`  ev[conn] ...`, `  env[conn] ...`), in the
 * order the library delivered them, which is the order of the daemon's packets. It holds no
 * process id, time or path outside RUNDIR (a pid shows as `pid=yes`/`pid=no`). Handles are
 * labelled `conn:service#n` when the probe gets them; a label is dropped when the library
 * forgets its handle (close, unload, reload).
 *
 * Nothing is left to timing: every asynchronous effect (a process started, a process ended) is
 * waited for as the event that reports it, by driving the library's dispatch loop until the
 * callback has fired or PROBE_TIMEOUT_MS (default 20000) has passed; a timeout is written into
 * the transcript (`!! timeout ...`), which then differs.
 *
 * libdinitctl's own bugs are worked around or confined to a connection of their own; each is
 * described where it is met and in docs/COMPATIBILITY.md.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libdinitctl.h>

/* ------------------------------------------------------------------------------------------ */
/* Output */

static void out(char const *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static char const *errno_name(int e) {
    switch (e) {
        case 0: return "0";
        case EINVAL: return "EINVAL";
        case EBADMSG: return "EBADMSG";
        case EPIPE: return "EPIPE";
        case ENOENT: return "ENOENT";
        case ENOTSUP: return "ENOTSUP";
        case EBADF: return "EBADF";
        case ENOMEM: return "ENOMEM";
        case ECONNRESET: return "ECONNRESET";
        case ECONNREFUSED: return "ECONNREFUSED";
        case EAGAIN: return "EAGAIN";
        case EINTR: return "EINTR";
        default: {
            static char buf[32];
            snprintf(buf, sizeof(buf), "errno%d", e);
            return buf;
        }
    }
}

/* A return code: the positive ones by name, a negative one with errno. */
static char const *rc_name(int rc, int err) {
    static char buf[64];
    switch (rc) {
        case DINITCTL_SUCCESS: return "SUCCESS";
        case DINITCTL_ERROR: return "ERROR";
        case DINITCTL_ERROR_SHUTTING_DOWN: return "SHUTTING_DOWN";
        case DINITCTL_ERROR_SERVICE_MISSING: return "SERVICE_MISSING";
        case DINITCTL_ERROR_SERVICE_DESC: return "SERVICE_DESC";
        case DINITCTL_ERROR_SERVICE_LOAD: return "SERVICE_LOAD";
        case DINITCTL_ERROR_SERVICE_NO_PID: return "SERVICE_NO_PID";
        case DINITCTL_ERROR_SERVICE_BAD_SIGNAL: return "SERVICE_BAD_SIGNAL";
        case DINITCTL_ERROR_SERVICE_SIGNAL_FAILED: return "SERVICE_SIGNAL_FAILED";
        case DINITCTL_ERROR_SERVICE_PINNED: return "SERVICE_PINNED";
        case DINITCTL_ERROR_SERVICE_ALREADY: return "SERVICE_ALREADY";
        case DINITCTL_ERROR_SERVICE_DEPENDENTS: return "SERVICE_DEPENDENTS";
        default: break;
    }
    if (rc < 0) {
        snprintf(buf, sizeof(buf), "%d errno=%s", rc, errno_name(err));
    } else {
        snprintf(buf, sizeof(buf), "code%d", rc);
    }
    return buf;
}

static char const *state_name(int s) {
    static char buf[4][16];
    static int n;
    switch (s) {
        case DINITCTL_SERVICE_STATE_STOPPED: return "STOPPED";
        case DINITCTL_SERVICE_STATE_STARTING: return "STARTING";
        case DINITCTL_SERVICE_STATE_STARTED: return "STARTED";
        case DINITCTL_SERVICE_STATE_STOPPING: return "STOPPING";
        default:
            n = (n + 1) % 4;
            snprintf(buf[n], sizeof(buf[n]), "state%d", s);
            return buf[n];
    }
}

static char const *event_name(int e) {
    static char buf[16];
    switch (e) {
        case DINITCTL_SERVICE_EVENT_STARTED: return "STARTED";
        case DINITCTL_SERVICE_EVENT_STOPPED: return "STOPPED";
        case DINITCTL_SERVICE_EVENT_START_FAILED: return "START_FAILED";
        case DINITCTL_SERVICE_EVENT_START_CANCELED: return "START_CANCELED";
        case DINITCTL_SERVICE_EVENT_STOP_CANCELED: return "STOP_CANCELED";
        default:
            snprintf(buf, sizeof(buf), "event%d", e);
            return buf;
    }
}

static char const *reason_name(int r) {
    static char buf[16];
    switch (r) {
        case DINITCTL_SERVICE_STOP_REASON_NORMAL: return "NORMAL";
        case DINITCTL_SERVICE_STOP_REASON_DEP_RESTART: return "DEP_RESTART";
        case DINITCTL_SERVICE_STOP_REASON_DEP_FAILED: return "DEP_FAILED";
        case DINITCTL_SERVICE_STOP_REASON_FAILED: return "FAILED";
        case DINITCTL_SERVICE_STOP_REASON_EXEC_FAILED: return "EXEC_FAILED";
        case DINITCTL_SERVICE_STOP_REASON_TIMEOUT: return "TIMEOUT";
        case DINITCTL_SERVICE_STOP_REASON_TERMINATED: return "TERMINATED";
        default:
            snprintf(buf, sizeof(buf), "reason%d", r);
            return buf;
    }
}

/* The flags as names joined by '|', or '-'. */
static char const *flags_text(int f) {
    static char buf[128];
    buf[0] = '\0';
    static struct { int bit; char const *name; } const names[] = {
        {DINITCTL_SERVICE_FLAG_WAITING_FOR_CONSOLE, "waiting_for_console"},
        {DINITCTL_SERVICE_FLAG_HAS_CONSOLE, "has_console"},
        {DINITCTL_SERVICE_FLAG_WAS_START_SKIPPED, "start_skipped"},
        {DINITCTL_SERVICE_FLAG_IS_MARKED_ACTIVE, "marked_active"},
        {DINITCTL_SERVICE_FLAG_HAS_PID, "has_pid"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
        if (f & names[i].bit) {
            if (buf[0]) strcat(buf, "|");
            strcat(buf, names[i].name);
            f &= ~names[i].bit;
        }
    }
    if (f) {
        char more[32];
        snprintf(more, sizeof(more), "%s0x%x", buf[0] ? "|" : "", f);
        strcat(buf, more);
    }
    if (!buf[0]) strcpy(buf, "-");
    return buf;
}

/* Every field of a status; the pid only as whether there is one. */
static char const *status_text(dinitctl_service_status const *st) {
    static char buf[256];
    snprintf(
        buf, sizeof(buf),
        "state=%s target=%s flags=%s reason=%s stage=%d code=%d status=%d pid=%s",
        state_name(st->state), state_name(st->target_state), flags_text(st->flags),
        reason_name(st->stop_reason), (int)st->exec_stage, st->exit_code, st->exit_status,
        st->pid ? "yes" : "no"
    );
    return buf;
}

/* A byte string as a C literal. */
static char const *quoted(char const *s, size_t len) {
    static char buf[8192];
    size_t o = 0;
    buf[o++] = '"';
    for (size_t i = 0; i < len && o < sizeof(buf) - 8; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') { buf[o++] = '\\'; buf[o++] = 'n'; }
        else if (c == '\\' || c == '"') { buf[o++] = '\\'; buf[o++] = (char)c; }
        else if (c < 32 || c >= 127) { o += (size_t)sprintf(&buf[o], "\\x%02x", c); }
        else buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Paths: RUNDIR and the tmpfs directory are written as @DIR@ and @SHM@ */

static char const *rundir;
static char const *shmdir;

static char const *norm_path(char const *p) {
    static char buf[4096];
    size_t rl = strlen(rundir), sl = shmdir ? strlen(shmdir) : 0;
    if (strncmp(p, rundir, rl) == 0) {
        snprintf(buf, sizeof(buf), "@DIR@%s", p + rl);
    } else if (shmdir && sl && strncmp(p, shmdir, sl) == 0) {
        snprintf(buf, sizeof(buf), "@SHM@%s", p + sl);
    } else {
        snprintf(buf, sizeof(buf), "%s", p);
    }
    return buf;
}

/* ------------------------------------------------------------------------------------------ */
/* Connections, handles and the events seen */

struct conn {
    dinitctl *ctl;
    char name[16];
    bool dead;
};

#define MAXHANDLES 256
struct hent {
    struct conn *c;
    dinitctl_service_handle *h;
    char name[80];
    char label[112];
    bool live;
};
static struct hent handles[MAXHANDLES];
static int nhandles;

static char const *hlabel(struct conn *c, dinitctl_service_handle *h) {
    if (!h) return "(null handle)";
    for (int i = nhandles - 1; i >= 0; --i) {
        if (handles[i].live && handles[i].c == c && handles[i].h == h) return handles[i].label;
    }
    return "(unknown handle)";
}

/* Registers a handle the library gave for `name` and returns its label. */
static char const *hadd(struct conn *c, dinitctl_service_handle *h, char const *name) {
    int n = 1;
    for (int i = 0; i < nhandles; ++i) {
        if (handles[i].c == c && strcmp(handles[i].name, name) == 0) ++n;
    }
    if (nhandles == MAXHANDLES) {
        out("!! too many handles");
        exit(2);
    }
    struct hent *e = &handles[nhandles++];
    e->c = c;
    e->h = h;
    e->live = true;
    snprintf(e->name, sizeof(e->name), "%s", name);
    snprintf(e->label, sizeof(e->label), "%s:%s#%d", c->name, name, n);
    return e->label;
}

static void hdrop(struct conn *c, dinitctl_service_handle *h) {
    for (int i = 0; i < nhandles; ++i) {
        if (handles[i].live && handles[i].c == c && handles[i].h == h) handles[i].live = false;
    }
}

/* Every service event seen, for the waits. */
#define MAXEVENTS 4096
struct evrec {
    struct conn *c;
    dinitctl_service_handle *h;
    int kind;
};
static struct evrec events[MAXEVENTS];
static int nevents;
static int nenv_events;
/* Events before this index belong to earlier steps. */
static int mark;

static void on_service_event(
    dinitctl *ctl, dinitctl_service_handle *h, enum dinitctl_service_event ev,
    dinitctl_service_status const *st, void *data
) {
    struct conn *c = data;
    (void)ctl;
    out("  ev[%s] %s %s %s", c->name, hlabel(c, h), event_name(ev), status_text(st));
    if (nevents < MAXEVENTS) {
        events[nevents].c = c;
        events[nevents].h = h;
        events[nevents].kind = ev;
        ++nevents;
    }
}

static void on_env_event(dinitctl *ctl, char const *env, int flags, void *data) {
    struct conn *c = data;
    (void)ctl;
    out("  env[%s] %s flags=%s", c->name, quoted(env, strlen(env)),
        (flags & DINITCTL_ENV_OVERRIDDEN) ? "overridden" : (flags ? "?" : "-"));
    ++nenv_events;
}

static long timeout_ms = 20000;
static int timeouts;

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void timed_out(char const *what) {
    out("!! timeout after %ld ms waiting for %s", timeout_ms, what);
    if (++timeouts >= 3) {
        out("!! giving up after 3 timeouts");
        exit(3);
    }
}

/* One round of the connection's dispatch loop, waiting at most `ms`. False once it failed. */
static bool pump(struct conn *c, long ms) {
    if (c->dead) return false;
    if (ms > 100000) ms = 100000;
    /* When called with replies or events already buffered, dinitctl_dispatch returns a count it
     * never initialised (libdinitctl bug), which may be negative: a real failure sets errno. */
    errno = 0;
    int r = dinitctl_dispatch(c->ctl, (int)ms, NULL);
    if (r < 0 && errno != 0) {
        if (errno == EINTR) return true;
        out("  dispatch[%s] failed: %s", c->name, errno_name(errno));
        c->dead = true;
        return false;
    }
    return true;
}

static bool seen(struct conn *c, dinitctl_service_handle *h, int kind) {
    for (int i = mark; i < nevents; ++i) {
        if (events[i].c == c && events[i].h == h && events[i].kind == kind) return true;
    }
    return false;
}

/* Drives the connection until event `kind` for `h` has arrived (since the step began). */
static void wait_ev(struct conn *c, dinitctl_service_handle *h, int kind) {
    long deadline = now_ms() + timeout_ms;
    while (!seen(c, h, kind)) {
        long left = deadline - now_ms();
        if (left <= 0) {
            char what[160];
            snprintf(what, sizeof(what), "event %s of %s", event_name(kind), hlabel(c, h));
            timed_out(what);
            return;
        }
        if (!pump(c, left)) {
            out("!! connection %s failed while waiting for %s of %s", c->name, event_name(kind), hlabel(c, h));
            return;
        }
    }
}

/* Starts a step: prints the call, and later events belong to it. */
static void step(char const *fmt, ...) {
    va_list ap;
    fputs("> ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    mark = nevents;
}

static void note(char const *fmt, ...) {
    va_list ap;
    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void result(int rc) {
    out("= %s", rc_name(rc, errno));
}

/* ------------------------------------------------------------------------------------------ */
/* Calls, each printed */

static char const *sock_path;

static struct conn *conn_open(char const *name) {
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) exit(2);
    snprintf(c->name, sizeof(c->name), "%s", name);
    step("open %s", name);
    c->ctl = dinitctl_open(sock_path);
    if (!c->ctl) {
        out("= failed errno=%s", errno_name(errno));
        c->dead = true;
        return c;
    }
    out("= SUCCESS");
    dinitctl_set_service_event_callback(c->ctl, &on_service_event, c);
    return c;
}

static void conn_close(struct conn *c) {
    step("close %s", c->name);
    if (c->ctl) dinitctl_close(c->ctl);
    c->ctl = NULL;
    c->dead = true;
    for (int i = 0; i < nhandles; ++i) {
        if (handles[i].c == c) handles[i].live = false;
    }
    out("= done");
}

/* Waits for the daemon to close connection `c` (after a BADREQ), looking at the socket itself:
 * the library keeps the unexpected reply in its buffer and would only report it again. */
static void wait_hangup(struct conn *c) {
    step("wait for %s to be closed by the daemon", c->name);
    int fd = dinitctl_get_fd(c->ctl);
    long deadline = now_ms() + timeout_ms;
    size_t extra = 0;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0) {
            timed_out("the daemon to close the connection");
            return;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR) {
            out("= poll failed errno=%s", errno_name(errno));
            return;
        }
        if (pr <= 0) continue;
        char buf[256];
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0) {
            out("= closed%s", extra ? " (after more data)" : "");
            if (extra) out("  (%zu more bytes came first)", extra);
            return;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            out("= %s errno=%s", errno == ECONNRESET ? "reset" : "recv failed", errno_name(errno));
            return;
        }
        extra += (size_t)r;
    }
}

static dinitctl_service_handle *load(struct conn *c, char const *name, bool find_only) {
    dinitctl_service_handle *h = NULL;
    enum dinitctl_service_state st = 99, tst = 99;
    step("%s[%s] %s", find_only ? "find" : "load", c->name, quoted(name, strlen(name)));
    errno = 0;
    int rc = dinitctl_load_service(c->ctl, name, find_only, &h, &st, &tst);
    if (rc == DINITCTL_SUCCESS) {
        char const *l = hadd(c, h, name);
        out("= SUCCESS %s state=%s target=%s", l, state_name(st), state_name(tst));
        return h;
    }
    result(rc);
    return NULL;
}

static void status(struct conn *c, dinitctl_service_handle *h) {
    dinitctl_service_status st;
    memset(&st, 0, sizeof(st));
    step("status %s", hlabel(c, h));
    errno = 0;
    int rc = dinitctl_get_service_status(c->ctl, h, &st);
    if (rc == DINITCTL_SUCCESS) {
        out("= SUCCESS %s", status_text(&st));
    } else {
        result(rc);
    }
}

static void start(struct conn *c, dinitctl_service_handle *h, bool pin) {
    step("start %s%s", hlabel(c, h), pin ? " pin" : "");
    errno = 0;
    result(dinitctl_start_service(c->ctl, h, pin));
}

static void stop(struct conn *c, dinitctl_service_handle *h, bool pin, bool restart, bool gentle) {
    step("stop %s%s%s%s", hlabel(c, h), pin ? " pin" : "", restart ? " restart" : "",
         gentle ? " gentle" : "");
    errno = 0;
    result(dinitctl_stop_service(c->ctl, h, pin, restart, gentle));
}

static void wake(struct conn *c, dinitctl_service_handle *h, bool pin) {
    step("wake %s%s", hlabel(c, h), pin ? " pin" : "");
    errno = 0;
    result(dinitctl_wake_service(c->ctl, h, pin));
}

static void release(struct conn *c, dinitctl_service_handle *h, bool pin) {
    step("release %s%s", hlabel(c, h), pin ? " pin" : "");
    errno = 0;
    result(dinitctl_release_service(c->ctl, h, pin));
}

static void unpin(struct conn *c, dinitctl_service_handle *h) {
    step("unpin %s", hlabel(c, h));
    errno = 0;
    result(dinitctl_unpin_service(c->ctl, h));
}

static void close_handle(struct conn *c, dinitctl_service_handle *h) {
    step("close-handle %s", hlabel(c, h));
    errno = 0;
    int rc = dinitctl_close_service_handle(c->ctl, h);
    result(rc);
    if (rc == DINITCTL_SUCCESS) hdrop(c, h);
}

static void unload(struct conn *c, dinitctl_service_handle *h, bool reload) {
    step("%s %s", reload ? "reload" : "unload", hlabel(c, h));
    errno = 0;
    int rc = dinitctl_unload_service(c->ctl, h, reload);
    result(rc);
    if (rc == DINITCTL_SUCCESS) hdrop(c, h);
}

static char const *dep_name(enum dinitctl_dependency_type t) {
    switch (t) {
        case DINITCTL_DEPENDENCY_REGULAR: return "regular";
        case DINITCTL_DEPENDENCY_WAITS_FOR: return "waits-for";
        case DINITCTL_DEPENDENCY_MILESTONE: return "milestone";
        default: return "?";
    }
}

static void dep(struct conn *c, dinitctl_service_handle *from, dinitctl_service_handle *to,
                enum dinitctl_dependency_type t, bool remove, bool enable) {
    char fl[96];
    snprintf(fl, sizeof(fl), "%s", hlabel(c, from));
    step("%s %s -> %s %s", enable ? "enable" : (remove ? "rm-dep" : "add-dep"), fl,
         hlabel(c, to), dep_name(t));
    errno = 0;
    result(dinitctl_add_remove_service_dependency(c->ctl, from, to, t, remove, enable));
}

static void trigger(struct conn *c, dinitctl_service_handle *h, bool value) {
    step("trigger %s %d", hlabel(c, h), value ? 1 : 0);
    errno = 0;
    result(dinitctl_set_service_trigger(c->ctl, h, value));
}

static void signal_svc(struct conn *c, dinitctl_service_handle *h, int sig) {
    step("signal %s %d", hlabel(c, h), sig);
    errno = 0;
    result(dinitctl_signal_service(c->ctl, h, sig));
}

/* The name, directory and log getters terminate their output with `*out[len] = '\0'`, which
 * indexes the caller's pointer rather than the string (libdinitctl bug). Passing the address of
 * an array of pointers whose later entries point at a scratch byte makes that store harmless;
 * the string is terminated here from the length the call reports. */
#define GETBUF 4096
static char *getter_slots[GETBUF + 1];
static char getter_scratch;
static char getter_buf[GETBUF];

static char **getter_prepare(void) {
    for (size_t i = 0; i <= GETBUF; ++i) getter_slots[i] = &getter_scratch;
    memset(getter_buf, 0, sizeof(getter_buf));
    getter_slots[0] = getter_buf;
    return getter_slots;
}

static void get_name(struct conn *c, dinitctl_service_handle *h) {
    step("get-name %s", hlabel(c, h));
    ssize_t len = GETBUF;
    errno = 0;
    int rc = dinitctl_get_service_name(c->ctl, h, getter_prepare(), &len);
    if (rc == DINITCTL_SUCCESS && len >= 0 && len < GETBUF) {
        out("= SUCCESS %s", quoted(getter_buf, (size_t)len));
    } else {
        result(rc);
    }
}

static void get_dir(struct conn *c, dinitctl_service_handle *h) {
    step("get-dir %s", hlabel(c, h));
    ssize_t len = GETBUF;
    errno = 0;
    int rc = dinitctl_get_service_directory(c->ctl, h, getter_prepare(), &len);
    if (rc == DINITCTL_SUCCESS && len >= 0 && len < GETBUF) {
        getter_buf[len] = '\0';
        out("= SUCCESS %s", quoted(norm_path(getter_buf), strlen(norm_path(getter_buf))));
    } else {
        result(rc);
    }
}

/* The length alone (a zero buffer length), which the library handles correctly. */
static void get_name_len(struct conn *c, dinitctl_service_handle *h) {
    step("get-name-length %s", hlabel(c, h));
    ssize_t len = 0;
    errno = 0;
    int rc = dinitctl_get_service_name(c->ctl, h, NULL, &len);
    if (rc == DINITCTL_SUCCESS) {
        out("= SUCCESS %zd", len);
    } else {
        result(rc);
    }
}

/* Returns the log's length (-1 on failure) and prints it. */
static ssize_t catlog_quiet(struct conn *c, dinitctl_service_handle *h, int flags, int *rcp) {
    ssize_t len = GETBUF;
    errno = 0;
    int rc = dinitctl_get_service_log(c->ctl, h, flags, getter_prepare(), &len);
    *rcp = rc;
    if (rc != DINITCTL_SUCCESS) return -1;
    if (len >= GETBUF) len = GETBUF - 1;
    getter_buf[len] = '\0';
    return len;
}

static void catlog(struct conn *c, dinitctl_service_handle *h, int flags) {
    int rc;
    step("catlog %s%s", hlabel(c, h), flags ? " clear" : "");
    ssize_t len = catlog_quiet(c, h, flags, &rc);
    if (len >= 0) {
        out("= SUCCESS %s", quoted(getter_buf, (size_t)len));
    } else {
        out("= %s", rc_name(rc, errno));
    }
}

/* A buffered log fills as the daemon reads the service's output, at no point that an event
 * marks: ask until it holds `want` (only the final answer is recorded). */
static void catlog_until(struct conn *c, dinitctl_service_handle *h, char const *want) {
    step("catlog %s (until it holds %s)", hlabel(c, h), quoted(want, strlen(want)));
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        int rc;
        ssize_t len = catlog_quiet(c, h, 0, &rc);
        if (len < 0) {
            out("= %s", rc_name(rc, errno));
            return;
        }
        if (strstr(getter_buf, want)) {
            out("= SUCCESS %s", quoted(getter_buf, (size_t)len));
            return;
        }
        if (now_ms() > deadline) {
            out("= SUCCESS %s", quoted(getter_buf, (size_t)len));
            timed_out("the log to fill");
            return;
        }
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void list(struct conn *c) {
    dinitctl_service_list_entry *entries = NULL;
    ssize_t len = -1;
    step("list[%s]", c->name);
    errno = 0;
    int rc = dinitctl_list_services(c->ctl, &entries, &len);
    if (rc != DINITCTL_SUCCESS) {
        result(rc);
        return;
    }
    out("= SUCCESS %zd services", len);
    for (ssize_t i = 0; i < len; ++i) {
        out("  %s %s", entries[i].name, status_text(&entries[i].status));
    }
    if (len > 0) free(entries);
}

/* The variables of the activation environment, in the daemon's order. */
static void getallenv(struct conn *c) {
    char *vars = NULL;
    size_t size = 0;
    step("get-all-env[%s]", c->name);
    errno = 0;
    int rc = dinitctl_get_all_env(c->ctl, &vars, &size);
    if (rc != DINITCTL_SUCCESS) {
        result(rc);
        return;
    }
    out("= SUCCESS");
    size_t i = 0;
    while (i < size) {
        size_t l = strnlen(vars + i, size - i);
        char line[4096];
        snprintf(line, sizeof(line), "%.*s", (int)l, vars + i);
        /* paths of this run in values */
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            out("  %s=%s", line, norm_path(eq + 1));
        } else {
            out("  %s", line);
        }
        i += l + 1;
    }
    free(vars);
}

static void set_env(struct conn *c, char const *var) {
    step("setenv[%s] %s", c->name, quoted(var, strlen(var)));
    errno = 0;
    result(dinitctl_setenv(c->ctl, var));
}

static void unset_env(struct conn *c, char const *var) {
    step("unsetenv[%s] %s", c->name, quoted(var, strlen(var)));
    errno = 0;
    result(dinitctl_unsetenv(c->ctl, var));
}

static void dirs(struct conn *c) {
    char **d = NULL;
    size_t n = 0;
    step("service-dirs[%s]", c->name);
    errno = 0;
    int rc = dinitctl_query_service_dirs(c->ctl, &d, &n);
    if (rc != DINITCTL_SUCCESS) {
        result(rc);
        return;
    }
    out("= SUCCESS %zu", n);
    for (size_t i = 0; i < n; ++i) {
        char const *p = norm_path(d[i]);
        out("  %s %s", i ? "dir" : "cwd", quoted(p, strlen(p)));
    }
    free(d);
}

/* Asks for a service by a name the daemon refuses, on a connection of its own, with a second
 * request behind it; drives the connection until it fails, then waits for the hangup. */
struct async_rc {
    char const *what;
    bool fired;
};

static void bad_load_cb(dinitctl *ctl, void *data) {
    struct async_rc *r = data;
    dinitctl_service_handle *h = NULL;
    int rc = dinitctl_load_service_finish(ctl, &h, NULL, NULL);
    r->fired = true;
    out("  callback %s: %s", r->what, rc_name(rc, errno));
}

static void bad_env_cb(dinitctl *ctl, void *data) {
    struct async_rc *r = data;
    int rc = dinitctl_get_all_env_finish(ctl, NULL, NULL);
    r->fired = true;
    out("  callback %s: %s", r->what, rc_name(rc, errno));
}

static void bad_name(char const *name, bool find) {
    struct conn *c = conn_open(find ? "cbadf" : "cbad");
    if (c->dead) return;
    struct async_rc r1 = {find ? "find" : "load", false}, r2 = {"get-all-env", false};
    step("%s[%s] %s, then get-all-env (asynchronous)", find ? "find" : "load", c->name,
         quoted(name, strlen(name)));
    errno = 0;
    if (dinitctl_load_service_async(c->ctl, name, find, &bad_load_cb, &r1) < 0
            || dinitctl_get_all_env_async(c->ctl, &bad_env_cb, &r2) < 0) {
        out("= failed to queue errno=%s", errno_name(errno));
    } else {
        long deadline = now_ms() + timeout_ms;
        while (!c->dead && !(r1.fired && r2.fired)) {
            long left = deadline - now_ms();
            if (left <= 0) {
                timed_out("a reply");
                break;
            }
            pump(c, left);
        }
    }
    if (c->dead) wait_hangup(c);
    conn_close(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Files */

static char const *in_run(char const *rel) {
    static char buf[4][4096];
    static int n;
    n = (n + 1) % 4;
    snprintf(buf[n], sizeof(buf[n]), "%s/%s", rundir, rel);
    return buf[n];
}

static void write_file(char const *rel, char const *text) {
    step("write %s", rel);
    FILE *f = fopen(in_run(rel), "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        out("= failed errno=%s", errno_name(errno));
        return;
    }
    out("= done");
}

/* Writes a line into a FIFO a service reads (the service ends or goes on); waits until the
 * reader has it open. */
static void feed_fifo(char const *rel) {
    step("feed %s", rel);
    long deadline = now_ms() + timeout_ms;
    int fd;
    for (;;) {
        fd = open(in_run(rel), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) break;
        if (errno != ENXIO && errno != EINTR) {
            out("= failed errno=%s", errno_name(errno));
            return;
        }
        if (now_ms() > deadline) {
            timed_out("a reader of the FIFO");
            return;
        }
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ssize_t w = write(fd, "x\n", 2);
    close(fd);
    out("= %s", w == 2 ? "done" : "short write");
}

/* The start-with-preack callback runs twice: with the PREACK, then with the reply. */
struct preack_state {
    int calls;
    bool done;
};

static void preack_cb(dinitctl *ctl, void *data) {
    struct preack_state *p = data;
    bool preack = false;
    int rc = dinitctl_start_service_finish(ctl, &preack);
    ++p->calls;
    out("  callback %d: %s%s", p->calls, rc_name(rc, errno), preack ? " (preack)" : "");
    if (!preack) p->done = true;
}

/* The shutdown's reply, printed when it comes. */
struct shutdown_state {
    bool replied;
};

static void shutdown_cb(dinitctl *ctl, void *data) {
    struct shutdown_state *st = data;
    int rc = dinitctl_shutdown_finish(ctl);
    st->replied = true;
    out("  callback shutdown: %s", rc_name(rc, errno));
}

/* Drives a connection the daemon is about to close until it is closed, leaving no event
 * unreported: when the end of the stream comes in the same read as the last reply, the library
 * reports the failure with events still buffered, and hands them out on the next calls. The
 * end is two failures in a row. */
static void drain(struct conn *c, bool const *replied) {
    long deadline = now_ms() + timeout_ms;
    int failures = 0;
    int last_errno = 0;
    while (failures < 2) {
        long left = deadline - now_ms();
        if (left <= 0) {
            timed_out("the daemon to close the connection");
            return;
        }
        errno = 0;
        int r = dinitctl_dispatch(c->ctl, (int)left, NULL);
        if (r < 0 && errno != 0 && errno != EINTR) {
            ++failures;
            last_errno = errno;
        } else {
            failures = 0;
        }
    }
    c->dead = true;
    out("= connection ended: %s%s", errno_name(last_errno), *replied ? "" : " (no reply)");
}

/* ------------------------------------------------------------------------------------------ */
/* The sequence */

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: probe SOCKET RUNDIR\n");
        return 2;
    }
    sock_path = argv[1];
    rundir = argv[2];
    shmdir = getenv("SHMDIR");
    if (getenv("PROBE_TIMEOUT_MS")) timeout_ms = atol(getenv("PROBE_TIMEOUT_MS"));
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (mkfifo(in_run("fifo-crash"), 0600) != 0 || mkfifo(in_run("fifo-stop"), 0600) != 0) {
        perror("mkfifo");
        return 2;
    }

    /* --- the connection and the environment ------------------------------------------- */
    note("connection and activation environment");
    struct conn *c1 = conn_open("c1");
    if (c1->dead) return 1;
    step("listen-env[c1]");
    errno = 0;
    result(dinitctl_set_env_event_callback(c1->ctl, &on_env_event, c1));
    dirs(c1);
    getallenv(c1);
    set_env(c1, "PROBE_A=1");
    set_env(c1, "PROBE_A=2");
    set_env(c1, "PROBE_EMPTY=");
    /* without '=', the library sends the value from the client's own environment */
    setenv("PROBE_FROM_CLIENT", "client-value", 1);
    set_env(c1, "PROBE_FROM_CLIENT");
    unset_env(c1, "PROBE_A");
    unset_env(c1, "PROBE_NEVER_SET");
    /* refused by the library itself, nothing sent */
    set_env(c1, "=x");
    unset_env(c1, "A=B");
    getallenv(c1);

    /* --- loading, finding, names -------------------------------------------------------- */
    note("load and find");
    load(c1, "svc-int", true);
    dinitctl_service_handle *hint = load(c1, "svc-int", false);
    dinitctl_service_handle *hint2 = load(c1, "svc-int", true);
    dinitctl_service_handle *hboot = load(c1, "boot", true);
    load(c1, "no-such-service", false);
    load(c1, "no-such-service", true);
    load(c1, "svc-bad-syntax", false);
    load(c1, "svc-bad-type", false);
    load(c1, "svc-missing-dep", false);
    load(c1, "svc-cyc1", false);
    load(c1, "nothere@arg", false);
    load(c1, "a/b", false);
    get_name(c1, hint);
    get_name_len(c1, hint);
    get_dir(c1, hint);
    get_name(c1, hboot);
    status(c1, hboot);

    note("names the daemon refuses, each on a connection of its own (a BADREQ ends it); the");
    note("request is followed by another, as Dinit waits for a fourth byte after an empty name");
    {
        static char const *const bad[] = {"", ".hidden", "@x"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
            for (int find = 0; find < 2; ++find) {
                bad_name(bad[i], find);
            }
        }
    }

    /* --- an internal service ------------------------------------------------------------ */
    note("internal service: events before the reply, one per handle");
    start(c1, hint, false);
    start(c1, hint, false);
    status(c1, hint);
    status(c1, hint2);
    stop(c1, hint, false, false, false);
    stop(c1, hint, false, false, false);
    release(c1, hint, false);
    wake(c1, hint, false);
    stop(c1, hint, false, true, false);
    close_handle(c1, hint2);

    note("start with a pre-acknowledgement (asynchronous call)");
    {
        step("start %s preack (async)", hlabel(c1, hint));
        struct preack_state p = {0, false};
        errno = 0;
        int rc = dinitctl_start_service_async(c1->ctl, hint, false, true, &preack_cb, &p);
        if (rc < 0) {
            result(rc);
        } else {
            long deadline = now_ms() + timeout_ms;
            while (!p.done && !c1->dead) {
                long left = deadline - now_ms();
                if (left <= 0) {
                    timed_out("the reply to start");
                    break;
                }
                pump(c1, left);
            }
        }
    }
    release(c1, hint, false);
    status(c1, hint);

    /* --- a process service ------------------------------------------------------------- */
    note("process service");
    dinitctl_service_handle *hproc = load(c1, "svc-proc", false);
    signal_svc(c1, hproc, 0);
    start(c1, hproc, false);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STARTED);
    status(c1, hproc);
    signal_svc(c1, hproc, 0);
    signal_svc(c1, hproc, 1000);
    stop(c1, hproc, false, true, false);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STARTED);
    status(c1, hproc);
    stop(c1, hproc, false, false, false);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STOPPED);
    status(c1, hproc);
    signal_svc(c1, hproc, 0);
    stop(c1, hproc, false, true, false);
    start(c1, hproc, false);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STARTED);
    note("killed by a signal sent through the daemon");
    signal_svc(c1, hproc, SIGTERM);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STOPPED);
    status(c1, hproc);
    start(c1, hproc, false);
    wait_ev(c1, hproc, DINITCTL_SERVICE_EVENT_STARTED);

    note("a process that exits by itself");
    dinitctl_service_handle *hcrash = load(c1, "svc-crash", false);
    start(c1, hcrash, false);
    wait_ev(c1, hcrash, DINITCTL_SERVICE_EVENT_STARTED);
    feed_fifo("fifo-crash");
    wait_ev(c1, hcrash, DINITCTL_SERVICE_EVENT_STOPPED);
    status(c1, hcrash);

    /* --- the log buffer ------------------------------------------------------------------ */
    note("log buffer");
    dinitctl_service_handle *hlog = load(c1, "svc-log", false);
    catlog(c1, hlog, 0);
    start(c1, hlog, false);
    wait_ev(c1, hlog, DINITCTL_SERVICE_EVENT_STARTED);
    catlog_until(c1, hlog, "world\n");
    catlog(c1, hlog, DINITCTL_LOG_BUFFER_CLEAR);
    catlog(c1, hlog, 0);
    catlog(c1, hint, 0);
    catlog(c1, hproc, 0);
    step("catlog %s flags=2 (refused by the library)", hlabel(c1, hlog));
    {
        char *p = NULL;
        ssize_t l = 0;
        errno = 0;
        result(dinitctl_get_service_log(c1->ctl, hlog, 2, &p, &l));
    }
    stop(c1, hlog, false, false, false);
    wait_ev(c1, hlog, DINITCTL_SERVICE_EVENT_STOPPED);
    get_name(c1, hlog);
    get_dir(c1, hlog);

    /* --- failures ------------------------------------------------------------------------ */
    note("a command that cannot be executed");
    dinitctl_service_handle *hexec = load(c1, "svc-fail-exec", false);
    start(c1, hexec, false);
    wait_ev(c1, hexec, DINITCTL_SERVICE_EVENT_START_FAILED);
    wait_ev(c1, hexec, DINITCTL_SERVICE_EVENT_STOPPED);
    status(c1, hexec);
    start(c1, hexec, false);
    wait_ev(c1, hexec, DINITCTL_SERVICE_EVENT_START_FAILED);
    wait_ev(c1, hexec, DINITCTL_SERVICE_EVENT_STOPPED);

    note("a dependency that fails");
    dinitctl_service_handle *hfexit = load(c1, "svc-fail-exit", false);
    dinitctl_service_handle *hdepf = load(c1, "svc-dep-fail", false);
    start(c1, hdepf, false);
    wait_ev(c1, hdepf, DINITCTL_SERVICE_EVENT_START_FAILED);
    wait_ev(c1, hdepf, DINITCTL_SERVICE_EVENT_STOPPED);
    status(c1, hdepf);
    status(c1, hfexit);

    /* --- pins ---------------------------------------------------------------------------- */
    note("pins");
    dinitctl_service_handle *hps = load(c1, "svc-pin-start", false);
    start(c1, hps, true);
    stop(c1, hps, false, false, false);
    stop(c1, hps, false, true, false);
    release(c1, hps, false);
    status(c1, hps);
    dinitctl_service_handle *hpt = load(c1, "svc-pin-stop", false);
    stop(c1, hpt, true, false, false);
    start(c1, hpt, false);
    wake(c1, hpt, false);
    status(c1, hpt);

    note("unpin: the library sends the handle one byte late (libdinitctl bug); the packet holds");
    note("the handle the daemon expects only when it is 0 and the previous packet's second byte");
    note("was 0, as after a status request for handle 0 on a fresh connection");
    {
        struct conn *cu = conn_open("cu");
        if (!cu->dead) {
            dinitctl_service_handle *hu = load(cu, "svc-pin-stop", false);
            status(cu, hu);
            unpin(cu, hu);
            conn_close(cu);
        }
    }
    start(c1, hpt, false);
    status(c1, hpt);
    note("...otherwise the daemon sees an unknown handle and closes the connection");
    {
        struct conn *cu = conn_open("cu2");
        if (!cu->dead) {
            dinitctl_service_handle *hu = load(cu, "svc-pin-start", false);
            unpin(cu, hu);
            wait_hangup(cu);
            conn_close(cu);
        }
    }
    stop(c1, hps, false, false, false);

    /* --- dependencies -------------------------------------------------------------------- */
    note("dependencies added and removed");
    dinitctl_service_handle *ha = load(c1, "svc-a", false);
    dinitctl_service_handle *hb = load(c1, "svc-b", false);
    dinitctl_service_handle *hc = load(c1, "svc-c", false);
    dinitctl_service_handle *hd = load(c1, "svc-d", false);
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, false, false);
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, false, false);
    dep(c1, hb, ha, DINITCTL_DEPENDENCY_REGULAR, false, false);
    dep(c1, hb, ha, DINITCTL_DEPENDENCY_WAITS_FOR, false, false);
    start(c1, ha, false);
    status(c1, hb);
    unload(c1, hb, false);
    stop(c1, hb, false, false, false);
    status(c1, ha);
    start(c1, ha, false);
    dep(c1, ha, hd, DINITCTL_DEPENDENCY_REGULAR, false, false);
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, true, false);
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, true, false);
    status(c1, hb);
    note("enable and disable (dinitctl's way: remove the waits-for link, release the service)");
    dep(c1, ha, hc, DINITCTL_DEPENDENCY_WAITS_FOR, false, true);
    dep(c1, ha, hc, DINITCTL_DEPENDENCY_WAITS_FOR, false, true);
    status(c1, hc);
    dep(c1, ha, hc, DINITCTL_DEPENDENCY_WAITS_FOR, true, false);
    release(c1, hc, false);
    status(c1, hc);
    note("wake: attaches a service to its active dependents");
    dep(c1, ha, hc, DINITCTL_DEPENDENCY_WAITS_FOR, false, false);
    status(c1, hc);
    wake(c1, hc, false);
    status(c1, hc);
    wake(c1, hint, false);
    dep(c1, ha, hd, DINITCTL_DEPENDENCY_MILESTONE, false, false);
    dep(c1, ha, hd, DINITCTL_DEPENDENCY_MILESTONE, true, false);
    step("add-dep with a type the library refuses");
    errno = 0;
    result(dinitctl_add_remove_service_dependency(c1->ctl, ha, hd, 1, false, false));
    step("rm-dep and enable together (refused by the library)");
    errno = 0;
    result(dinitctl_add_remove_service_dependency(c1->ctl, ha, hd, DINITCTL_DEPENDENCY_WAITS_FOR, true, true));
    stop(c1, ha, false, false, false);

    /* --- a triggered service ------------------------------------------------------------- */
    note("triggered service");
    dinitctl_service_handle *htrig = load(c1, "svc-trig", false);
    trigger(c1, hint, true);
    start(c1, htrig, false);
    status(c1, htrig);
    trigger(c1, htrig, true);
    trigger(c1, htrig, false);
    status(c1, htrig);
    stop(c1, htrig, false, false, false);
    note("start cancelled");
    start(c1, htrig, false);
    stop(c1, htrig, false, false, false);
    status(c1, htrig);

    /* --- stop cancelled ------------------------------------------------------------------ */
    note("a start while stopping: svc-x (its stop command waits on a FIFO) depends on svc-y");
    dinitctl_service_handle *hy = load(c1, "svc-y", false);
    dinitctl_service_handle *hx = load(c1, "svc-x", false);
    start(c1, hx, false);
    wait_ev(c1, hx, DINITCTL_SERVICE_EVENT_STARTED);
    stop(c1, hy, false, false, false);
    status(c1, hx);
    status(c1, hy);
    start(c1, hy, false);
    status(c1, hy);
    feed_fifo("fifo-stop");
    wait_ev(c1, hx, DINITCTL_SERVICE_EVENT_STOPPED);
    wait_ev(c1, hy, DINITCTL_SERVICE_EVENT_STARTED);
    status(c1, hx);
    status(c1, hy);
    stop(c1, hy, false, false, false);

    /* --- unload and reload --------------------------------------------------------------- */
    note("unload and reload");
    dinitctl_service_handle *hr = load(c1, "svc-r", false);
    unload(c1, hr, false);
    hr = load(c1, "svc-r", false);
    write_file("sd/svc-r", "type = internal\ndepends-on = svc-int\n");
    unload(c1, hr, true);
    hr = load(c1, "svc-r", false);
    start(c1, hr, false);
    note("a started service is reloaded too");
    unload(c1, hr, true);
    hr = load(c1, "svc-r", true);
    status(c1, hr);
    unload(c1, hr, false);
    unload(c1, hint, false);
    note("a service with a started dependent is reloaded: only handles count");
    unload(c1, hint, true);
    hint = load(c1, "svc-int", true);
    status(c1, hint);
    stop(c1, hr, false, false, false);
    status(c1, hint);
    note("a handle of another connection keeps a service loaded");
    struct conn *c2 = conn_open("c2");
    dinitctl_service_handle *hr_c2 = NULL;
    if (!c2->dead) hr_c2 = load(c2, "svc-r", true);
    unload(c1, hr, false);
    unload(c1, hr, true);
    if (hr_c2) close_handle(c2, hr_c2);
    unload(c1, hr, false);
    load(c1, "svc-r", true);
    status(c1, hint);
    note("two handles of one connection, unloaded through the first");
    dinitctl_service_handle *hu1 = load(c1, "svc-u", false);
    dinitctl_service_handle *hu2 = load(c1, "svc-u", true);
    (void)hu2;
    unload(c1, hu1, false);
    note("the second handle is not used again: Dinit keeps it pointing at the freed service");
    load(c1, "svc-u", true);
    dinitctl_service_handle *hu3 = load(c1, "svc-u", false);
    start(c1, hu3, false);
    stop(c1, hu3, false, false, false);

    /* --- ephemeral services (a service directory on tmpfs) ------------------------------- */
    note("ephemeral services");
    step("setup-ephemeral-directory");
    errno = 0;
    result(dinitctl_setup_ephemeral_directory(c1->ctl));
    step("create-ephemeral svc-eph");
    {
        errno = 0;
        FILE *f = dinitctl_create_ephemeral_service(c1->ctl, "svc-eph");
        if (!f) {
            out("= failed errno=%s", errno_name(errno));
        } else {
            fputs("type = internal\n", f);
            fclose(f);
            out("= done");
        }
    }
    dinitctl_service_handle *heph = load(c1, "svc-eph", false);
    if (heph) {
        get_dir(c1, heph);
        start(c1, heph, false);
        stop(c1, heph, false, false, false);
        unload(c1, heph, false);
    }
    step("remove-ephemeral svc-eph");
    errno = 0;
    result(dinitctl_remove_ephemeral_service(c1->ctl, "svc-eph"));
    load(c1, "svc-eph", false);

    /* --- requests that end a connection -------------------------------------------------- */
    note("a gentle stop with dependents: the library reads only the reply's first byte");
    note("(libdinitctl bug); the rest of the reply breaks the next call");
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, false, false);
    start(c1, ha, false);
    {
        struct conn *cg = conn_open("cg");
        if (!cg->dead) {
            dinitctl_service_handle *gc = load(cg, "svc-c", false);
            dinitctl_service_handle *gb = load(cg, "svc-b", false);
            stop(cg, gc, false, false, true);
            stop(cg, gb, false, false, true);
            status(cg, gb);
            conn_close(cg);
        }
    }
    status(c1, hb);
    stop(c1, ha, false, false, false);
    dep(c1, ha, hb, DINITCTL_DEPENDENCY_REGULAR, true, false);
    note("a dependency of a service on itself: the daemon closes the connection");
    {
        struct conn *cs = conn_open("cself");
        if (!cs->dead) {
            dinitctl_service_handle *s = load(cs, "svc-a", false);
            dep(cs, s, s, DINITCTL_DEPENDENCY_REGULAR, false, false);
            wait_hangup(cs);
            conn_close(cs);
        }
    }

    /* --- the list, then shutdown --------------------------------------------------------- */
    note("list");
    list(c1);
    note("shutdown: svc-proc is the one process running");
    status(c1, hproc);
    note("(a user instance of Dinit told to remain busy-loops; halt makes it stop and exit)");
    step("shutdown[c1] halt (asynchronous), until the daemon closes the connection");
    {
        struct shutdown_state st = {false};
        errno = 0;
        if (dinitctl_shutdown_async(c1->ctl, DINITCTL_SHUTDOWN_HALT, &shutdown_cb, &st) < 0) {
            result(-1);
        } else {
            drain(c1, &st.replied);
        }
    }
    conn_close(c1);
    out("# end");
    return 0;
}
