/*
 * freeze: pauses a whole cgroup. Where the cgroup is on the unified (v2)
 * hierarchy, through `cgroup.freeze` (confirmed by "frozen 1" in
 * cgroup.events); where the host uses the v1 freezer controller, through
 * `freezer.state` (FROZEN, confirmed when it stops reading FREEZING).
 * Which one is detected at run time from /proc/self/mountinfo and
 * /proc/PID/cgroup, never assumed.
 *
 * The cgroup is the scenario's `cgroup` (a path under a cgroup mount, or a
 * path inside the hierarchy; the process selector, if any, must still
 * match), else the cgroup(s) of the matched processes:
 * the v1 freezer cgroup when the process is in a non-root one, else its v2
 * cgroup. The root cgroup and any cgroup holding firedrill itself are
 * always refused (nothing could thaw it); the processes inside are checked
 * against the process guards. Revert thaws from the spec alone and waits
 * until thawed; a cgroup removed meanwhile counts as reverted.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"
#include "fd_time.h"
#include "procmatch.h"

#define FREEZE_CONFIRM_NS (5 * FD_NS_PER_S)
#define WALK_DEPTH_MAX 32

enum cg_version { CG_V1 = 1, CG_V2 = 2 };

/* A cgroup hierarchy as mounted here: mount point and the hierarchy path
 * of the mount's root (not "/" inside a cgroup namespace). */
struct cg_mount {
	char mp[PATH_MAX];
	char root[PATH_MAX];
	bool found;
};

struct cg_mounts {
	struct cg_mount v1; /* the v1 hierarchy carrying the freezer controller */
	struct cg_mount v2;
};

struct cg_target {
	enum cg_version version;
	char path[PATH_MAX]; /* file system path of the cgroup directory */
};

struct freeze_state {
	char *fault_id;
	int64_t duration_ns;
	struct cg_target *cgs;
	size_t n_cgs;
	struct procmatch_set procs; /* every process inside the frozen cgroups */
};

static bool has_token(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	const char *p = list;

	while ((p = strstr(p, tok))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

static void mount_set(struct cg_mount *m, const char *mp, const char *root)
{
	snprintf(m->mp, sizeof(m->mp), "%s", mp);
	snprintf(m->root, sizeof(m->root), "%s", root);
	m->found = true;
}

static int mounts_discover(struct cg_mounts *ms)
{
	char line[4096];
	FILE *f;

	memset(ms, 0, sizeof(*ms));
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char root[PATH_MAX], mp[PATH_MAX], fstype[64], superopts[1024];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, superopts) != 2)
			continue;
		if (strcmp(fstype, "cgroup2") == 0 && !ms->v2.found)
			mount_set(&ms->v2, mp, root);
		else if (strcmp(fstype, "cgroup") == 0 && has_token(superopts, "freezer") &&
			 !ms->v1.found)
			mount_set(&ms->v1, mp, root);
	}
	fclose(f);
	return 0;
}

/* The hierarchy path of pid's cgroup on v1 freezer or v2, relative to the
 * mount's root ("/" = the mount's root), into out. -ENOENT when absent. */
static int proc_cgroup(pid_t pid, enum cg_version v, const struct cg_mount *m, char *out,
		       size_t len)
{
	char path[64], line[PATH_MAX + 256];
	int rc = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		size_t rl = strlen(m->root);
		const char *cg;

		if (!c2)
			continue;
		*c1 = *c2 = '\0';
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (v == CG_V2 ? strcmp(line, "0") != 0 || c1[1] != '\0'
			       : !has_token(c1 + 1, "freezer"))
			continue;
		cg = c2 + 1;
		/* Inside a cgroup namespace the mount root is not "/". */
		if (strcmp(m->root, "/") != 0) {
			if (strncmp(cg, m->root, rl) != 0 || (cg[rl] != '/' && cg[rl] != '\0'))
				break;
			cg += rl;
		}
		snprintf(out, len, "%s", *cg ? cg : "/");
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

static bool is_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return true;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static const struct cg_mount *mount_of(const struct cg_mounts *ms, enum cg_version v)
{
	return v == CG_V2 ? &ms->v2 : &ms->v1;
}

static const char *control_file(enum cg_version v)
{
	return v == CG_V2 ? "cgroup.freeze" : "freezer.state";
}

/* Resolves a cgroup directory (fs path) to a target; refuses the root and
 * firedrill's own cgroup or an ancestor of it. */
static int target_check(const struct cg_mounts *ms, enum cg_version v, const char *fs_path,
			const char *fault_id, struct cg_target *out, struct fd_error *err)
{
	const struct cg_mount *m = mount_of(ms, v);
	char real[PATH_MAX], ctl[PATH_MAX + 32], self_cg[PATH_MAX];
	const char *rel;

	if (!realpath(fs_path, real))
		return fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: cgroup %s: %s", fault_id,
				    fs_path, strerror(errno));
	if (!is_within(real, m->mp))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "fault %s: %s is not under the cgroup mount %s", fault_id, real,
				    m->mp);
	rel = real + strlen(m->mp);
	if (*rel == '\0' || strcmp(rel, "/") == 0)
		return fd_error_set(err, FD_ERR_INPUT, -EPERM,
				    "fault %s: refusing to freeze the root cgroup %s", fault_id, real);
	if (proc_cgroup(getpid(), v, m, self_cg, sizeof(self_cg)) == 0 && is_within(self_cg, rel))
		return fd_error_set(err, FD_ERR_INPUT, -EPERM,
				    "fault %s: refusing to freeze cgroup %s: firedrill itself runs in it (%s)",
				    fault_id, real, self_cg);
	snprintf(ctl, sizeof(ctl), "%s/%s", real, control_file(v));
	if (access(ctl, W_OK) < 0)
		return fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: cgroup %s: %s: %s", fault_id,
				    real, control_file(v), strerror(errno));
	out->version = v;
	snprintf(out->path, sizeof(out->path), "%s", real);
	return 0;
}

/* The scenario's `cgroup`: a path under a cgroup mount, or a hierarchy
 * path tried on v2 first, then on the v1 freezer. */
static int target_from_config(const struct cg_mounts *ms, const char *cg, const char *fault_id,
			      struct cg_target *out, struct fd_error *err)
{
	char path[PATH_MAX * 2 + 16];
	enum cg_version order[2] = { CG_V2, CG_V1 };
	size_t i;

	for (i = 0; i < 2; i++) {
		const struct cg_mount *m = mount_of(ms, order[i]);

		if (m->found && is_within(cg, m->mp))
			return target_check(ms, order[i], cg, fault_id, out, err);
	}
	for (i = 0; i < 2; i++) {
		const struct cg_mount *m = mount_of(ms, order[i]);

		if (!m->found)
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", m->mp, cg, control_file(order[i]));
		if (access(path, F_OK) == 0) {
			snprintf(path, sizeof(path), "%s/%s", m->mp, cg);
			return target_check(ms, order[i], path, fault_id, out, err);
		}
	}
	return fd_error_set(err, FD_ERR_ENV, -ENOENT,
			    "fault %s: cgroup %s not found on the cgroup v2 hierarchy (%s) nor the v1 freezer (%s)",
			    fault_id, cg, ms->v2.found ? ms->v2.mp : "not mounted",
			    ms->v1.found ? ms->v1.mp : "not mounted");
}

/* A process's own cgroup: its v1 freezer cgroup when not the root one (the
 * host uses the v1 freezer for it), else its v2 cgroup. */
static int target_from_proc(const struct cg_mounts *ms, const struct procmatch_proc *p,
			    const char *fault_id, struct cg_target *out, struct fd_error *err)
{
	enum cg_version order[2] = { CG_V1, CG_V2 };
	char rel[PATH_MAX], path[PATH_MAX * 2];
	size_t i;

	for (i = 0; i < 2; i++) {
		const struct cg_mount *m = mount_of(ms, order[i]);

		if (!m->found || proc_cgroup(p->pid, order[i], m, rel, sizeof(rel)) < 0 ||
		    strcmp(rel, "/") == 0)
			continue;
		snprintf(path, sizeof(path), "%s%s", m->mp, rel);
		return target_check(ms, order[i], path, fault_id, out, err);
	}
	return fd_error_set(err, FD_ERR_INPUT, -EPERM,
			    "fault %s: pid %d (%s) is in the root cgroup of every freezable hierarchy; refusing to freeze it (name a cgroup with `cgroup:`)",
			    fault_id, (int)p->pid, p->cmdline);
}

static int add_target(struct freeze_state *fs, const struct cg_target *t)
{
	struct cg_target *cgs;
	size_t i;

	for (i = 0; i < fs->n_cgs; i++)
		if (fs->cgs[i].version == t->version && strcmp(fs->cgs[i].path, t->path) == 0)
			return 0;
	cgs = realloc(fs->cgs, (fs->n_cgs + 1) * sizeof(*cgs));
	if (!cgs)
		return -ENOMEM;
	fs->cgs = cgs;
	cgs[fs->n_cgs++] = *t;
	return 0;
}

/* Lists the processes of a cgroup and its descendants (both freeze them)
 * into fs->procs, applying the process guards. */
static int collect_members(struct freeze_state *fs, const char *dir, int depth, bool force,
			   struct fd_error *err)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d = NULL;
	FILE *f;
	int pid, rc = 0;

	if (depth > WALK_DEPTH_MAX)
		return 0;
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return fd_error_set(err, FD_ERR_ENV, -errno, "fault %s: %s: %s", fs->fault_id, path,
				    strerror(errno));
	while (rc == 0 && fscanf(f, "%d", &pid) == 1) {
		rc = procmatch_guard(pid, fs->fault_id, force, err);
		if (rc == 0 && procmatch_set_add_pid(&fs->procs, pid) == -ENOMEM)
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	fclose(f);
	if (rc < 0)
		return rc;
	d = opendir(dir);
	while (d && rc == 0 && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		rc = collect_members(fs, path, depth + 1, force, err);
	}
	if (d)
		closedir(d);
	return rc;
}

static void freeze_free(void *state)
{
	struct freeze_state *fs = state;

	if (!fs)
		return;
	procmatch_set_clear(&fs->procs);
	free(fs->cgs);
	free(fs->fault_id);
	free(fs);
}

static bool has_selector(const struct scenario_process *p)
{
	return p->match || p->pidfile || p->pid > 0;
}

/* The process selector, when given, must match (and pass the guards) even
 * with a named cgroup: it is the scenario's statement of what is frozen. */
static int resolve_targets(struct freeze_state *fs, const struct scenario_fault *f,
			   const struct driver_ctx *ctx, const struct cg_mounts *ms,
			   struct fd_error *err)
{
	struct procmatch_set matched = { 0 };
	struct cg_target t;
	size_t i;
	int rc = 0;

	if (!f->cgroup && !has_selector(&f->process))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "fault %s: freeze needs a cgroup or a process (match, pidfile or pid)",
				    f->id);
	if (has_selector(&f->process))
		rc = procmatch_find(f, ctx, &matched, err);
	if (rc == 0 && f->cgroup) {
		rc = target_from_config(ms, f->cgroup, f->id, &t, err);
		if (rc == 0 && add_target(fs, &t) < 0)
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	for (i = 0; rc == 0 && !f->cgroup && i < matched.n; i++) {
		rc = target_from_proc(ms, &matched.procs[i], f->id, &t, err);
		if (rc == 0 && add_target(fs, &t) < 0)
			rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	procmatch_set_clear(&matched);
	return rc;
}

/* Not the initial user namespace (whose inode the kernel fixes): a sandbox. */
static bool in_child_userns(void)
{
	struct stat st;

	return stat("/proc/self/ns/user", &st) == 0 && st.st_ino != 0xEFFFFFFDu;
}

static bool targets_writable(const struct freeze_state *fs, int rc)
{
	char path[PATH_MAX * 2 + 32];

	if (rc < 0 || fs->n_cgs == 0)
		return false;
	for (size_t i = 0; i < fs->n_cgs; i++) {
		snprintf(path, sizeof(path), "%s/%s", fs->cgs[i].path,
			 fs->cgs[i].version == CG_V2 ? "cgroup.freeze" : "freezer.state");
		if (access(path, W_OK) != 0)
			return false;
	}
	return true;
}

static int freeze_prepare(const struct scenario_fault *f, const struct driver_ctx *ctx,
			  void **state, struct fd_error *err)
{
	struct freeze_state *fs = calloc(1, sizeof(*fs));
	struct cg_mounts ms;
	size_t i;
	int rc;

	*state = NULL;
	if (!fs || !(fs->fault_id = strdup(f->id))) {
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto fail;
	}
	fs->duration_ns = f->duration_ns;
	rc = mounts_discover(&ms);
	if (rc < 0) {
		rc = fd_error_set(err, FD_ERR_ENV, rc, "fault %s: /proc/self/mountinfo: %s", f->id,
				  strerror(-rc));
		goto fail;
	}
	if (!ms.v1.found && !ms.v2.found) {
		rc = fd_error_set(err, FD_ERR_ENV, -ENOTSUP,
				  "fault %s: no cgroup v2 hierarchy and no v1 freezer mounted", f->id);
		goto fail;
	}
	rc = resolve_targets(fs, f, ctx, &ms, err);
	if (in_child_userns() && !targets_writable(fs, rc)) {
		/* a rootless sandbox: its capabilities stop at its own namespaces */
		fd_error_clear(err);
		rc = fd_error_set(err, FD_ERR_ENV, -EPERM,
				  "fault %s: freeze writes a cgroup's freezer (cgroup.freeze), which needs "
				  "root or a cgroup delegated to you; a rootless sandbox has neither (its "
				  "CAP_SYS_ADMIN holds in its own user namespace only): use kind: stop "
				  "(SIGSTOP) instead", f->id);
		goto fail;
	}
	for (i = 0; rc == 0 && i < fs->n_cgs; i++)
		rc = collect_members(fs, fs->cgs[i].path, 0, ctx && ctx->force, err);
	if (rc < 0)
		goto fail;
	*state = fs;
	return 0;
fail:
	freeze_free(fs);
	return rc;
}

static void freeze_describe(const void *state, char *buf, size_t len)
{
	const struct freeze_state *fs = state;
	char dur[32], list[640], cgs[512] = "";
	size_t i, used = 0;

	for (i = 0; i < fs->n_cgs && used < sizeof(cgs); i++) {
		int n = snprintf(cgs + used, sizeof(cgs) - used, "%s%s (%s)", i ? ", " : "",
				 fs->cgs[i].path, fs->cgs[i].version == CG_V2 ? "v2" : "v1 freezer");

		if (n < 0)
			break;
		used += (size_t)n;
	}
	procmatch_set_format(&fs->procs, list, sizeof(list));
	snprintf(buf, len, "freeze cgroup %s for %s, %zu process%s: %s", cgs,
		 fd_duration_format(fs->duration_ns, dur, sizeof(dur)), fs->procs.n,
		 fs->procs.n == 1 ? "" : "es", fs->procs.n ? list : "none");
}

static json_t *freeze_spec(const void *state)
{
	const struct freeze_state *fs = state;
	json_t *cgs = json_array();
	size_t i;

	for (i = 0; cgs && i < fs->n_cgs; i++) {
		if (json_array_append_new(cgs, json_pack("{s:i, s:s}", "version",
							 (int)fs->cgs[i].version, "path",
							 fs->cgs[i].path)) < 0) {
			json_decref(cgs);
			return NULL;
		}
	}
	return json_pack("{s:s, s:s, s:o*, s:o*}", "driver", "freeze", "fault", fs->fault_id,
			 "cgroups", cgs, "procs", procmatch_set_to_json(&fs->procs));
}

static int write_control(const struct cg_target *t, bool freeze)
{
	char path[PATH_MAX + 32];
	const char *v = t->version == CG_V2 ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", t->path, control_file(t->version));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, v, strlen(v));
	if (n < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* 1 when the cgroup has reached the wanted state, 0 not yet, -errno. */
static int reached(const struct cg_target *t, bool frozen)
{
	char path[PATH_MAX + 32], line[128];
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->path,
		 t->version == CG_V2 ? "cgroup.events" : "freezer.state");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (t->version == CG_V2 && strncmp(line, "frozen ", 7) == 0)
			rc = (line[7] == '1') == frozen;
		else if (t->version == CG_V1)
			rc = strncmp(line, frozen ? "FROZEN" : "THAWED", 6) == 0;
	}
	fclose(f);
	return rc;
}

/* Writes the state and waits (bounded) until the kernel reports it. */
static int set_frozen(const struct cg_target *t, bool freeze)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	int64_t deadline = fd_mono_ns() + FREEZE_CONFIRM_NS;
	int rc;

	rc = write_control(t, freeze);
	while (rc == 0) {
		rc = reached(t, freeze);
		if (rc == 1)
			return 0;
		if (rc < 0)
			break;
		if (fd_mono_ns() >= deadline)
			return -ETIMEDOUT;
		/* v1 retries a FREEZING cgroup on each write: nudge it again. */
		if (freeze && t->version == CG_V1)
			write_control(t, true);
		nanosleep(&tick, NULL);
	}
	return rc;
}

static int freeze_apply(void *state, const struct driver_ctx *ctx, struct fd_error *err)
{
	struct freeze_state *fs = state;
	size_t i, j;
	int rc = 0;

	for (i = 0; i < fs->n_cgs; i++) {
		rc = set_frozen(&fs->cgs[i], true);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		return 0;
	/* Leave nothing behind: thaw this one and those before it. */
	for (j = 0; j <= i && j < fs->n_cgs; j++)
		set_frozen(&fs->cgs[j], false);
	return fd_error_set(err, FD_ERR_ENV, rc, "fault %s: cgroup %s: freezing: %s", fs->fault_id,
			    fs->cgs[i].path,
			    rc == -ETIMEDOUT ? "not frozen within 5 s" : strerror(-rc));
}

static int freeze_revert(const json_t *spec, struct fd_error *err)
{
	const char *fault = "?", *path;
	const json_t *cgs, *o;
	size_t i;
	int rc, version, first = 0;

	json_unpack((json_t *)spec, "{s?s}", "fault", &fault);
	cgs = json_object_get(spec, "cgroups");
	if (!json_is_array(cgs))
		return fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
				    "fault %s: journal spec: no cgroup list", fault);
	json_array_foreach(cgs, i, o) {
		struct cg_target t;

		if (json_unpack((json_t *)o, "{s:i, s:s}", "version", &version, "path", &path) < 0 ||
		    (version != CG_V1 && version != CG_V2)) {
			first = first ? first
				      : fd_error_set(err, FD_ERR_INTERNAL, -EINVAL,
						     "fault %s: journal spec: malformed cgroup entry %zu",
						     fault, i);
			continue;
		}
		t.version = (enum cg_version)version;
		snprintf(t.path, sizeof(t.path), "%s", path);
		rc = set_frozen(&t, false);
		/* A removed cgroup has nothing left to thaw. */
		if (rc == 0 || rc == -ENOENT || rc == -ENODEV)
			continue;
		if (first == 0)
			first = fd_error_set(err, FD_ERR_ENV, rc, "fault %s: cgroup %s: thawing: %s",
					     fault, t.path,
					     rc == -ETIMEDOUT ? "not thawed within 5 s" : strerror(-rc));
	}
	return first;
}

const struct injector_driver driver_freeze = {
	.name = "freeze",
	.kind = FAULT_FREEZE,
	.kernel_expires = false,
	.revert_text = "thaw",
	.guards = INJ_GUARD_PID,
	.prepare = freeze_prepare,
	.describe = freeze_describe,
	.spec = freeze_spec,
	.apply = freeze_apply,
	.revert = freeze_revert,
	.free_state = freeze_free,
};
