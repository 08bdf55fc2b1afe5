/*
 * procmatch: process selection and race-free signalling for the kill, stop
 * and freeze drivers. See procmatch.h for the rules.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "procmatch.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pcre2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CMDLINE_MAX (1024 * 1024) /* bigger cmdlines are matched on their first MiB */
#define PEOPLE_CMDLINE_MAX 200
#define TREE_WALK_MAX 4096 /* bounds ppid walks (a pid loop would be a kernel bug) */

struct procmatch_regex {
	pcre2_code *code;
	pcre2_match_data *md;
};

/* Reads at most max bytes of a (proc) file into a NUL-terminated buffer. */
static int read_small_file(const char *path, size_t max, char **out, size_t *out_len)
{
	size_t cap = 4096, len = 0;
	char *buf = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *bigger;

			if (cap >= max)
				break;
			cap = cap * 2 > max ? max : cap * 2;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				rc = -ENOMEM;
				goto cleanup;
			}
			buf = bigger;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return rc;
}

int procmatch_parse_stat(const char *text, struct procmatch_stat *out)
{
	const char *p = strrchr(text, ')');
	unsigned long long start = 0;
	int ppid = 0, sid = 0, field;
	char state;

	/* After the comm's closing parenthesis: " S ppid pgrp session ..."; the
	 * start time is field 22, the 20th after the parenthesis. */
	if (!p || sscanf(p + 1, " %c %d %*d %d", &state, &ppid, &sid) != 3)
		return -EINVAL;
	p++;
	for (field = 3; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return -EINVAL;
		while (*p && *p != ' ')
			p++;
	}
	if (sscanf(p, " %llu", &start) != 1)
		return -EINVAL;
	out->state = state;
	out->ppid = ppid;
	out->sid = sid;
	out->start = start;
	return 0;
}

int procmatch_read_stat(pid_t pid, struct procmatch_stat *out)
{
	char path[64], *text = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	rc = read_small_file(path, 4096, &text, &len);
	if (rc == -ENOENT)
		rc = -ESRCH;
	if (rc == 0)
		rc = procmatch_parse_stat(text, out);
	free(text);
	return rc;
}

int procmatch_regex_new(const char *pattern, struct procmatch_regex **out,
			struct fd_error *err)
{
	struct procmatch_regex *re;
	PCRE2_SIZE offset = 0;
	int code = 0;

	re = calloc(1, sizeof(*re));
	if (!re)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &code,
				 &offset, NULL);
	if (!re->code) {
		PCRE2_UCHAR msg[256];

		pcre2_get_error_message(code, msg, sizeof(msg));
		procmatch_regex_free(re);
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "bad process match regex '%s' at offset %zu: %s", pattern,
				    (size_t)offset, (const char *)msg);
	}
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (!re->md) {
		procmatch_regex_free(re);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	*out = re;
	return 0;
}

int procmatch_regex_match(const struct procmatch_regex *re, const char *buf, size_t len)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)buf, len, 0, 0, re->md, NULL);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return rc < 0 ? -EINVAL : 1;
}

void procmatch_regex_free(struct procmatch_regex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}

int procmatch_parse_pidfile(const char *text, size_t len, pid_t *out)
{
	size_t i = 0;
	long long v = 0;
	bool digits = false;

	while (i < len && isspace((unsigned char)text[i]))
		i++;
	while (i < len && isdigit((unsigned char)text[i])) {
		v = v * 10 + (text[i] - '0');
		if (v > INT_MAX)
			return -EINVAL;
		digits = true;
		i++;
	}
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (!digits || i != len || v <= 0)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* The cmdline as people read it: arguments joined by spaces, bounded, and
 * "[comm]" for a process without one (kernel thread, zombie). */
static char *people_cmdline(pid_t pid, const char *raw, size_t len)
{
	char path[64], *s, *comm = NULL;
	size_t i, n = len < PEOPLE_CMDLINE_MAX ? len : PEOPLE_CMDLINE_MAX;

	while (n > 0 && raw && raw[n - 1] == '\0')
		n--;
	if (n == 0 || !raw) {
		size_t clen = 0;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		if (read_small_file(path, 64, &comm, &clen) == 0) {
			while (clen > 0 && comm[clen - 1] == '\n')
				comm[--clen] = '\0';
		}
		s = malloc(80);
		if (s)
			snprintf(s, 80, "[%s]", comm ? comm : "?");
		free(comm);
		return s;
	}
	s = malloc(n + 4);
	if (!s)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = raw[i] == '\0' ? ' ' : isprint((unsigned char)raw[i]) ? raw[i] : '?';
	s[n] = '\0';
	if (n < len && len > PEOPLE_CMDLINE_MAX)
		strcpy(s + n, "...");
	return s;
}

static int read_cmdline(pid_t pid, char **raw, size_t *len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	return read_small_file(path, CMDLINE_MAX, raw, len);
}

/* Why pid is protected, or NULL. */
static const char *protected_reason(pid_t pid)
{
	pid_t self = getpid(), p;
	struct procmatch_stat st;
	int steps;

	if (pid == 1)
		return "pid 1";
	if (pid == self)
		return "firedrill itself";
	for (p = getppid(), steps = 0; p > 1 && steps < TREE_WALK_MAX; steps++) {
		if (p == pid)
			return "an ancestor of firedrill";
		if (procmatch_read_stat(p, &st) < 0)
			break;
		p = st.ppid;
	}
	if (procmatch_read_stat(pid, &st) < 0)
		return NULL;
	if (st.sid == getsid(0))
		return "in firedrill's own session";
	for (p = st.ppid, steps = 0; p > 1 && steps < TREE_WALK_MAX; steps++) {
		if (p == self)
			return "a descendant of firedrill";
		if (procmatch_read_stat(p, &st) < 0)
			break;
		p = st.ppid;
	}
	return NULL;
}

int procmatch_guard(pid_t pid, const char *fault_id, bool force, struct fd_error *err)
{
	const char *why = force ? NULL : protected_reason(pid);
	char *raw = NULL, *people;
	size_t len = 0;
	int rc;

	if (!why)
		return 0;
	read_cmdline(pid, &raw, &len);
	people = people_cmdline(pid, raw, len);
	rc = fd_error_set(err, FD_ERR_INPUT, -EPERM,
			  "fault %s: pid %d (%s) is %s; refusing without --force", fault_id,
			  (int)pid, people ? people : "?", why);
	free(people);
	free(raw);
	return rc;
}

static int set_add(struct procmatch_set *s, pid_t pid, const struct procmatch_stat *st,
		   const char *raw, size_t len)
{
	struct procmatch_proc *procs = realloc(s->procs, (s->n + 1) * sizeof(*procs));

	if (!procs)
		return -ENOMEM;
	s->procs = procs;
	procs[s->n] = (struct procmatch_proc){
		.pid = pid,
		.start = st->start,
		.was_stopped = st->state == 'T',
		.cmdline = people_cmdline(pid, raw, len),
	};
	if (!procs[s->n].cmdline)
		return -ENOMEM;
	s->n++;
	return 0;
}

/* The stat of a live process: a zombie has no cmdline and cannot be
 * signalled, so it counts as gone (-ESRCH). */
static int read_live_stat(pid_t pid, struct procmatch_stat *st)
{
	int rc = procmatch_read_stat(pid, st);

	if (rc == 0 && st->state == 'Z')
		rc = -ESRCH;
	return rc;
}

/* Adds pid with its cmdline (best effort: a kernel thread has none). */
static int set_add_live(struct procmatch_set *s, pid_t pid, const struct procmatch_stat *st)
{
	char *raw = NULL;
	size_t len = 0;
	int rc;

	read_cmdline(pid, &raw, &len);
	rc = set_add(s, pid, st, raw, len);
	free(raw);
	return rc;
}

void procmatch_set_clear(struct procmatch_set *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->procs[i].cmdline);
	free(s->procs);
	s->procs = NULL;
	s->n = 0;
}

int procmatch_set_add_pid(struct procmatch_set *s, pid_t pid)
{
	struct procmatch_stat st;
	int rc = read_live_stat(pid, &st);

	return rc < 0 ? rc : set_add_live(s, pid, &st);
}

/* Network namespace filter: the namespace firedrill is in now. */
struct ns_filter {
	bool on;
	dev_t dev;
	ino_t ino;
};

static bool ns_filter_accepts(const struct ns_filter *nf, pid_t pid)
{
	char path[64];
	struct stat sb;

	if (!nf->on)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	if (stat(path, &sb) < 0)
		return false;
	return sb.st_dev == nf->dev && sb.st_ino == nf->ino;
}

static int ns_filter_init(struct ns_filter *nf, const struct driver_ctx *ctx,
			  const char *fault_id, struct fd_error *err)
{
	struct stat sb;

	nf->on = ctx && ctx->netns;
	if (!nf->on)
		return 0;
	if (stat("/proc/self/ns/net", &sb) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno,
				    "fault %s: /proc/self/ns/net: %s", fault_id, strerror(errno));
	nf->dev = sb.st_dev;
	nf->ino = sb.st_ino;
	return 0;
}

int procmatch_cgroup_path(pid_t pid, char *buf, size_t len)
{
	char path[64], *text = NULL, *line, *save = NULL;
	char v2[PATH_MAX] = "", v1[PATH_MAX] = "";
	size_t n = 0;
	int rc;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	rc = read_small_file(path, 65536, &text, &n);
	if (rc < 0)
		return rc == -ENOENT ? -ESRCH : rc;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		char *ctl;
		size_t clen;

		if (!c2)
			continue;
		ctl = c1 + 1;
		clen = (size_t)(c2 - ctl);
		if (clen == 0 && strncmp(line, "0:", 2) == 0)
			snprintf(v2, sizeof(v2), "%s", c2 + 1);
		for (char *t = ctl; t < c2;) {
			char *comma = memchr(t, ',', (size_t)(c2 - t));
			size_t tl = (size_t)((comma ? comma : c2) - t);

			if (tl == 7 && memcmp(t, "freezer", 7) == 0)
				snprintf(v1, sizeof(v1), "%s", c2 + 1);
			t += tl + 1;
		}
	}
	free(text);
	/* Hybrid hosts have both: the one in a non-root cgroup tells more. */
	if (v2[0] && (strcmp(v2, "/") != 0 || !v1[0] || strcmp(v1, "/") == 0))
		rc = snprintf(buf, len, "%s", v2);
	else if (v1[0])
		rc = snprintf(buf, len, "%s", v1);
	else
		return -ENOENT;
	return rc < 0 || (size_t)rc >= len ? -ENAMETOOLONG : 0;
}

/* scope: {container}: only the container's processes, those in its main
 * process's cgroup or below (the same hierarchy's line of /proc/PID/cgroup). */
struct cg_filter {
	bool on;
	char path[PATH_MAX];
	size_t len;
};

static bool cg_filter_accepts(const struct cg_filter *cf, pid_t pid)
{
	char path[PATH_MAX];

	if (!cf->on)
		return true;
	if (procmatch_cgroup_path(pid, path, sizeof(path)) < 0)
		return false;
	return strncmp(path, cf->path, cf->len) == 0 &&
	       (path[cf->len] == '\0' || path[cf->len] == '/');
}

static int cg_filter_init(struct cg_filter *cf, const struct driver_ctx *ctx,
			  const char *fault_id, struct fd_error *err)
{
	int rc;

	cf->on = ctx && ctx->scope_pid > 0;
	if (!cf->on)
		return 0;
	rc = procmatch_cgroup_path(ctx->scope_pid, cf->path, sizeof(cf->path));
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc,
				    "fault %s: the container's process %d: /proc/%d/cgroup: %s", fault_id,
				    (int)ctx->scope_pid, (int)ctx->scope_pid,
				    rc == -ESRCH ? "no such process (the container stopped?)" : strerror(-rc));
	if (strcmp(cf->path, "/") == 0)
		return fd_error_set(err, FD_ERR_ENV, -EINVAL,
				    "fault %s: the container's process %d is in the root cgroup: its "
				    "processes cannot be told from the host's", fault_id, (int)ctx->scope_pid);
	cf->len = strlen(cf->path);
	return 0;
}

static int find_by_regex(const struct scenario_fault *f, const struct ns_filter *nf,
			 const struct cg_filter *cf, bool force, struct procmatch_set *out,
			 struct fd_error *err)
{
	struct procmatch_regex *re = NULL;
	struct dirent *de;
	DIR *dir = NULL;
	pid_t self = getpid();
	int rc;

	rc = procmatch_regex_new(f->process.match, &re, err);
	if (rc < 0) {
		fd_error_prefix(err, "fault %s", f->id);
		return rc;
	}
	dir = opendir("/proc");
	if (!dir) {
		rc = fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: /proc: %s", f->id,
				  strerror(errno));
		goto cleanup;
	}
	while ((de = readdir(dir))) {
		struct procmatch_stat st;
		char *raw = NULL, *end;
		size_t len = 0;
		long v = strtol(de->d_name, &end, 10);
		pid_t pid = (pid_t)v;

		/* Our own cmdline may well contain the pattern (tests, a shell
		 * running firedrill): never match ourselves. */
		if (*end || v <= 0 || pid == self)
			continue;
		if (read_cmdline(pid, &raw, &len) < 0 || len == 0) {
			free(raw);
			continue;
		}
		if (raw[len - 1] == '\0')
			len--;
		rc = procmatch_regex_match(re, raw, len);
		if (rc == 1 && read_live_stat(pid, &st) == 0 &&
		    ns_filter_accepts(nf, pid) && cg_filter_accepts(cf, pid)) {
			rc = procmatch_guard(pid, f->id, force, err);
			if (rc == 0 && set_add(out, pid, &st, raw, len) < 0)
				rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
			if (rc < 0) {
				free(raw);
				goto cleanup;
			}
		}
		free(raw);
	}
	rc = 0;
	if (out->n == 0 && cf->on)
		rc = fd_error_set(err, FD_ERR_ENV, -ESRCH,
				  "fault %s: no process matches '%s' in the container's cgroup %s",
				  f->id, f->process.match, cf->path);
	else if (out->n == 0)
		rc = fd_error_set(err, FD_ERR_ENV, -ESRCH,
				  "fault %s: no process matches '%s'%s%s", f->id, f->process.match,
				  nf->on ? " in network namespace " : "",
				  nf->on ? "of the scope" : "");
cleanup:
	if (dir)
		closedir(dir);
	procmatch_regex_free(re);
	if (rc < 0)
		procmatch_set_clear(out);
	return rc;
}

static int read_pidfile(const struct scenario_fault *f, const struct driver_ctx *ctx,
			pid_t *pid, struct fd_error *err)
{
	const char *name = f->process.pidfile;
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	if (name[0] != '/' && ctx && ctx->base_dir)
		snprintf(path, sizeof(path), "%s/%s", ctx->base_dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	rc = read_small_file(path, 64, &text, &len);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: pidfile %s: %s", f->id, path,
				    strerror(-rc));
	rc = procmatch_parse_pidfile(text, len, pid);
	if (rc < 0) {
		while (len > 0 && isspace((unsigned char)text[len - 1]))
			text[--len] = '\0';
		rc = fd_error_set(err, FD_ERR_ENV, rc, "fault %s: pidfile %s does not hold a pid: '%.40s'",
				  f->id, path, text);
	}
	free(text);
	return rc;
}

static int find_by_pid(const struct scenario_fault *f, pid_t pid, const char *from,
		       const struct ns_filter *nf, const struct cg_filter *cf, bool force,
		       struct procmatch_set *out, struct fd_error *err)
{
	struct procmatch_stat st;
	int rc;

	rc = read_live_stat(pid, &st);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: pid %d%s: %s", f->id, (int)pid,
				    from, rc == -ESRCH ? "no such process" : strerror(-rc));
	if (!ns_filter_accepts(nf, pid))
		return fd_error_set(err, FD_ERR_INPUT, -ESRCH,
				    "fault %s: pid %d%s is not in the scope's network namespace",
				    f->id, (int)pid, from);
	if (!cg_filter_accepts(cf, pid))
		return fd_error_set(err, FD_ERR_INPUT, -ESRCH,
				    "fault %s: pid %d%s is not in the container's cgroup %s", f->id,
				    (int)pid, from, cf->path);
	rc = procmatch_guard(pid, f->id, force, err);
	if (rc < 0)
		return rc;
	rc = set_add_live(out, pid, &st);
	if (rc < 0) {
		procmatch_set_clear(out);
		return fd_error_set(err, FD_ERR_INTERNAL, rc, "out of memory");
	}
	return 0;
}

int procmatch_find(const struct scenario_fault *f, const struct driver_ctx *ctx,
		   struct procmatch_set *out, struct fd_error *err)
{
	bool force = ctx && ctx->force;
	struct ns_filter nf = { 0 };
	struct cg_filter cf = { 0 };
	char from[PATH_MAX + 32] = "";
	pid_t pid = f->process.pid;
	int rc;

	rc = ns_filter_init(&nf, ctx, f->id, err);
	if (rc == 0)
		rc = cg_filter_init(&cf, ctx, f->id, err);
	if (rc < 0)
		return rc;
	if (f->process.match)
		return find_by_regex(f, &nf, &cf, force, out, err);
	if (f->process.pidfile) {
		rc = read_pidfile(f, ctx, &pid, err);
		if (rc < 0)
			return rc;
		snprintf(from, sizeof(from), " (from pidfile %s)", f->process.pidfile);
	}
	if (pid <= 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "fault %s: no process given (match, pidfile or pid)", f->id);
	return find_by_pid(f, pid, from, &nf, &cf, force, out, err);
}

int procmatch_signal(pid_t pid, unsigned long long start, int sig)
{
	struct procmatch_stat st;
	int pidfd, rc;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	/* The pidfd now pins one process; if it has the recorded start time it is
	 * the one we matched, and the signal below reaches it or nobody. */
	rc = procmatch_read_stat(pid, &st);
	if (rc == 0 && st.start != start)
		rc = -ESTALE;
	else if (rc == 0 && st.state == 'Z')
		rc = -ESRCH;
	if (rc == 0 && syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0)
		rc = -errno;
	close(pidfd);
	return rc;
}

int procmatch_signal_set(const struct procmatch_set *s, int sig, int rollback_sig,
			 const char *fault_id, size_t *n_skipped, struct fd_error *err)
{
	size_t i, j, done = 0, skipped = 0;
	char name[32];
	int rc;

	for (i = 0; i < s->n; i++) {
		const struct procmatch_proc *p = &s->procs[i];

		rc = procmatch_signal(p->pid, p->start, sig);
		if (rc == -ESRCH || rc == -ESTALE) {
			skipped++;
			continue;
		}
		if (rc < 0)
			goto fail;
		done++;
	}
	if (n_skipped)
		*n_skipped = skipped;
	if (done == 0)
		return fd_error_set(err, FD_ERR_ENV, -ESRCH,
				    "fault %s: none of the %zu matched processes is still running",
				    fault_id, s->n);
	return 0;
fail:
	for (j = 0; rollback_sig && j < i; j++)
		if (!s->procs[j].was_stopped)
			procmatch_signal(s->procs[j].pid, s->procs[j].start, rollback_sig);
	return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: pid %d (%s): sending %s: %s", fault_id,
			    (int)s->procs[i].pid, s->procs[i].cmdline,
			    procmatch_signal_name(sig, name, sizeof(name)), strerror(-rc));
}

json_t *procmatch_set_to_json(const struct procmatch_set *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < s->n; i++) {
		const struct procmatch_proc *p = &s->procs[i];
		json_t *o = json_pack("{s:i, s:I, s:s, s:b}", "pid", (int)p->pid, "start",
				      (json_int_t)p->start, "cmdline", p->cmdline,
				      "was_stopped", p->was_stopped);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int procmatch_set_from_json(const json_t *arr, struct procmatch_set *out, struct fd_error *err)
{
	const json_t *o;
	size_t i;

	if (!json_is_array(arr))
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL, "journal spec: no process list");
	json_array_foreach(arr, i, o) {
		struct procmatch_stat st = { .state = 'S' };
		json_int_t pid = 0, start = -1;
		const char *cmdline = "?";
		int stopped = 0;

		if (json_unpack((json_t *)o, "{s:I, s:I, s?s, s?b}", "pid", &pid, "start", &start,
				"cmdline", &cmdline, "was_stopped", &stopped) < 0 ||
		    pid <= 0 || pid > INT_MAX || start < 0) {
			procmatch_set_clear(out);
			return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
					    "journal spec: malformed process entry %zu", i);
		}
		st.start = (unsigned long long)start;
		st.state = stopped ? 'T' : 'S';
		if (set_add(out, (pid_t)pid, &st, cmdline, strlen(cmdline)) < 0) {
			procmatch_set_clear(out);
			return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

void procmatch_set_format(const struct procmatch_set *s, char *buf, size_t len)
{
	size_t i, used = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		int n = snprintf(buf + used, len - used, "%s%d (%s)", i ? ", " : "",
				 (int)s->procs[i].pid, s->procs[i].cmdline);

		if (n < 0 || (size_t)n >= len - used) {
			/* Cut at the last whole entry and say so. */
			buf[used] = '\0';
			if (len - used > 5)
				strcat(buf, ", ...");
			else if (len > 4)
				strcpy(buf + len - 4, "...");
			return;
		}
		used += (size_t)n;
	}
}

const char *procmatch_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "%s", abbrev);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

void procmatch_fault_free(void *state)
{
	struct procmatch_fault *pf = state;

	if (!pf)
		return;
	procmatch_set_clear(&pf->procs);
	free(pf->fault_id);
	free(pf);
}

int procmatch_fault_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			    struct procmatch_fault **out, struct fd_error *err)
{
	struct procmatch_fault *pf = calloc(1, sizeof(*pf));
	int rc;

	*out = NULL;
	if (!pf || !(pf->fault_id = strdup(f->id))) {
		procmatch_fault_free(pf);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	pf->signal = f->signal > 0 ? f->signal : SIGTERM;
	pf->duration_ns = f->duration_ns;
	rc = procmatch_find(f, ctx, &pf->procs, err);
	if (rc < 0) {
		procmatch_fault_free(pf);
		return rc;
	}
	*out = pf;
	return 0;
}
