/*
 * The lab's life cycle: up, reset, down, status, and the entry point of
 * the services. Invariant: everything the lab makes is either one of the
 * four fdlab-* namespaces (with what lives inside them) or a file in the
 * state dir; lab_down removes exactly those.
 */
#include "lab_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_time.h"

static const char *const role_names[LAB_N_ROLES] = {
	[LAB_ROLE_PRIMARY] = "primary",
	[LAB_ROLE_STANDBY] = "standby",
	[LAB_ROLE_FRONTDOOR] = "frontdoor",
};

void lab_config_init(struct lab_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->check_interval_ns = 500 * FD_NS_PER_MS;
	cfg->failure_threshold = 3;
	cfg->replication_lag_ns = 200 * FD_NS_PER_MS;
	cfg->promotion_delay_ns = 0;
}

const char *lab_role_name(enum lab_role r)
{
	return r >= 0 && r < LAB_N_ROLES ? role_names[r] : "?";
}

const char *lab_state_dir(const char *state_dir)
{
	const char *env = getenv("FIREDRILL_LAB_DIR");

	if (state_dir && *state_dir)
		return state_dir;
	return env && *env ? env : LAB_STATE_DIR;
}

static int need_root(const char *what, struct fd_error *err)
{
	if (geteuid() == 0)
		return 0;
	return fd_error_set(err, FD_ERR_ENV, -EPERM,
			    "lab %s needs root (it creates network namespaces); run it as root",
			    what);
}

/*
 * The namespace names are fixed, so there is one lab per machine: refuse to
 * rebuild or delete the namespaces under a lab run from another state dir.
 */
static int check_exclusive(const char *dir, struct fd_error *err)
{
	char other[PATH_MAX];
	pid_t pid = lab_proc_find_other(dir, other, sizeof(other));

	if (!pid)
		return 0;
	return fd_error_set(err, FD_ERR_ENV, -EBUSY,
			    "lab: another lab is up with state dir %s (pid %d); take it down with "
			    "`firedrill lab down --state-dir %s` first",
			    other, (int)pid, other);
}

static int check_config(const struct lab_config *cfg, struct fd_error *err)
{
	if (cfg->check_interval_ns < 10 * FD_NS_PER_MS)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "lab: check interval must be at least 10ms");
	if (cfg->failure_threshold < 1 || cfg->failure_threshold > 1000)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "lab: failure threshold %d is not within 1..1000",
				    cfg->failure_threshold);
	if (cfg->replication_lag_ns < 0 || cfg->promotion_delay_ns < 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "lab: replication lag and promotion delay cannot be negative");
	return 0;
}

static int make_dir(const char *dir, struct fd_error *err)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return fd_error_set(err, FD_ERR_ENV, -errno, "lab: state dir %s: %s", dir,
				    strerror(errno));
	return 0;
}

/* Fresh services with cfg: stop, empty the truth log, start A, B, front door. */
static int restart(const struct lab_config *cfg, const char *dir, struct fd_error *err)
{
	char path[PATH_MAX];
	int rc;

	lab_proc_stop_all(dir);
	lab_path(path, sizeof(path), dir, LAB_FILE_TRUTH);
	if (truncate(path, 0) < 0 && errno != ENOENT)
		return fd_error_set(err, FD_ERR_ENV, -errno, "lab: %s: %s", path, strerror(errno));
	rc = lab_config_save(dir, cfg, err);
	for (int r = 0; rc == 0 && r < LAB_N_ROLES; r++)
		rc = lab_proc_start(cfg, dir, (enum lab_role)r, err);
	if (rc < 0)
		lab_proc_stop_all(dir);
	return rc;
}

static bool all_running(const char *dir)
{
	bool running;

	for (int r = 0; r < LAB_N_ROLES; r++) {
		lab_proc_pid(dir, (enum lab_role)r, &running);
		if (!running)
			return false;
	}
	return true;
}

static int up(const struct lab_config *cfg, bool always_restart, struct fd_error *err)
{
	const char *dir = lab_state_dir(cfg->state_dir);
	struct lab_config cur;
	struct fd_error ignored;
	int rc;

	rc = check_config(cfg, err);
	if (rc == 0)
		rc = need_root(always_restart ? "reset" : "up", err);
	if (rc == 0)
		rc = check_exclusive(dir, err);
	if (rc == 0)
		rc = make_dir(dir, err);
	if (rc == 0)
		rc = lab_net_ensure(dir, err);
	if (rc < 0)
		return rc;
	if (!always_restart && all_running(dir) &&
	    lab_config_load(dir, &cur, &ignored) == 0 && lab_config_same(&cur, cfg))
		return 0;
	return restart(cfg, dir, err);
}

int lab_up(const struct lab_config *cfg, struct fd_error *err)
{
	return up(cfg, false, err);
}

int lab_reset(const struct lab_config *cfg, struct fd_error *err)
{
	return up(cfg, true, err);
}

static const char *const state_files[] = {
	LAB_FILE_CONFIG, LAB_FILE_TRUTH, LAB_FILE_NETOK, LAB_FILE_FRONT, LAB_FILE_FRONT ".tmp",
	"primary.log", "standby.log", "frontdoor.log",
	"primary.pid", "standby.pid", "frontdoor.pid",
};

int lab_down(const char *state_dir, struct fd_error *err)
{
	const char *dir = lab_state_dir(state_dir);
	char path[PATH_MAX];
	int rc;

	rc = need_root("down", err);
	if (rc < 0)
		return rc;
	lab_proc_stop_all(dir);
	rc = check_exclusive(dir, err);
	if (rc == 0)
		rc = lab_net_delete(err);
	for (size_t i = 0; i < sizeof(state_files) / sizeof(state_files[0]); i++) {
		lab_path(path, sizeof(path), dir, state_files[i]);
		unlink(path);
	}
	/* Only if empty: a state dir shared with other files is left to its owner. */
	rmdir(dir);
	return rc;
}

int lab_status_get(const char *state_dir, struct lab_status *out, struct fd_error *err)
{
	static const char *const ns[] = { LAB_NETNS_A, LAB_NETNS_B, LAB_NETNS_CLIENT,
					  LAB_NETNS_CORE };
	const char *dir = lab_state_dir(state_dir);
	char path[PATH_MAX];
	struct fd_error ignored;
	json_t *front;

	memset(out, 0, sizeof(*out));
	out->up = true;
	for (size_t i = 0; i < 4; i++) {
		out->netns[i] = lab_netns_exists(ns[i]);
		out->up = out->up && out->netns[i];
	}
	for (int r = 0; r < LAB_N_ROLES; r++) {
		out->procs[r].pid = lab_proc_pid(dir, (enum lab_role)r, &out->procs[r].running);
		out->up = out->up && out->procs[r].running;
	}
	if (lab_config_load(dir, &out->cfg, &ignored) < 0)
		lab_config_init(&out->cfg);
	lab_path(path, sizeof(path), dir, LAB_FILE_FRONT);
	front = out->procs[LAB_ROLE_FRONTDOOR].running ? json_load_file(path, 0, NULL) : NULL;
	if (front) {
		const char *p = json_string_value(json_object_get(front, "primary"));

		out->primary = p ? p[0] : 0;
		json_decref(front);
	}
	fd_error_clear(err);
	return 0;
}

int lab_serve(enum lab_role role, const char *state_dir, struct fd_error *err)
{
	const char *dir = lab_state_dir(state_dir);
	struct lab_config cfg;
	int rc;

	rc = lab_config_load(dir, &cfg, err);
	if (rc == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		rc = fd_error_set(err, FD_ERR_ENV, -EIO, "lab: libcurl failed to initialise");
	if (rc == 0) {
		rc = role == LAB_ROLE_FRONTDOOR ? lab_frontdoor_serve(dir, &cfg, err)
						: lab_kv_serve(role, dir, &cfg, err);
		curl_global_cleanup();
	}
	/* Tells lab_proc_start why, when it failed before being ready. */
	if (rc < 0)
		lab_proc_ready(err->msg);
	return rc;
}
