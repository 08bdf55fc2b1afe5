/*
 * bench_lab: what the lab itself costs and how its failover times follow
 * its tunables. Root only; prints figures, never passes or fails on time.
 *
 *   bench_lab FIREDRILL_BINARY [RUNS]
 *
 * For each controller setting (interval x threshold): lab reset, block
 * region A from fdlab-client with an nft drop (T0 = after `nft` returns),
 * poll the front door's /health every 10 ms until region b answers, then
 * read the truth log: detection (failed - T0), switch (switched - T0) and
 * first success through the front door (first_ok - T0), medians of RUNS.
 * Also: cold `lab up` and warm `lab reset` times.
 */
#include <curl/curl.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd_netns.h"
#include "fd_time.h"
#include "lab.h"

extern char **environ;

#define MAX_RUNS 20
/* Its own state dir: an existing lab (another state dir) makes lab_up refuse. */
#define BENCH_DIR "/run/firedrill-lab-bench"

static const char *exe;
static bool blocked; /* our nft table exists in fdlab-client */

static int run(char *const argv[])
{
	pid_t pid;
	int status = 0;

	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0)
		return -1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Called only inside fdlab-client: the table never exists anywhere else. */
static int block_a(bool on)
{
	char *del[] = { "nft", "delete", "table", "ip", "fdbench_lab", NULL };
	FILE *f;

	if (!on) {
		if (blocked && run(del) == 0)
			blocked = false;
		return blocked ? -1 : 0;
	}
	f = popen("nft -f -", "w");
	if (!f)
		return -1;
	fputs("table ip fdbench_lab {\n chain out {\n  type filter hook output priority 0;\n"
	      "  ip daddr " LAB_PREFIX_A " drop\n }\n}\n", f);
	blocked = pclose(f) == 0;
	return blocked ? 0 : -1;
}

static size_t keep(char *p, size_t size, size_t n, void *user)
{
	char *buf = user;
	size_t len = strlen(buf), add = size * n;

	if (len + add < 255) {
		memcpy(buf + len, p, add);
		buf[len + add] = '\0';
	}
	return add;
}

/* True when the front door's /health names region. */
static bool health_is(CURL *h, const char *method, const char *path, char region)
{
	char body[256] = "", want[32], url[128];

	snprintf(url, sizeof(url), "%s%s", LAB_FRONTDOOR_URL, path);
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 100L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "v");
	}
	if (curl_easy_perform(h) != CURLE_OK)
		return false;
	snprintf(want, sizeof(want), "\"region\":\"%c\"", region);
	return strstr(body, want) != NULL;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / FD_NS_PER_S, .tv_nsec = ns % FD_NS_PER_S };

	nanosleep(&ts, NULL);
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_ms(int64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp64);
	return (n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0) / 1e6;
}

struct setting {
	int64_t interval_ns;
	int threshold;
};

static int one_failover(CURL *h, const struct setting *s, int64_t out[3], struct fd_error *err)
{
	struct lab_config cfg;
	struct lab_truth *t = NULL;
	int64_t t0, deadline;
	int rc;

	lab_config_init(&cfg);
	cfg.exe = exe;
	cfg.state_dir = BENCH_DIR;
	cfg.check_interval_ns = s->interval_ns;
	cfg.failure_threshold = s->threshold;
	rc = lab_reset(&cfg, err);
	if (rc < 0)
		return rc;
	while (!health_is(h, "GET", "/health", 'a'))
		sleep_ns(10 * FD_NS_PER_MS);
	if (block_a(true) < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "nft failed");
	t0 = fd_mono_ns();
	deadline = t0 + 30 * FD_NS_PER_S;
	while (!health_is(h, "GET", "/health", 'b') && fd_mono_ns() < deadline)
		sleep_ns(10 * FD_NS_PER_MS);
	block_a(false);
	rc = lab_truth_read(BENCH_DIR, &t, err);
	if (rc < 0)
		return rc;
	out[0] = t->failed_mono_ns - t0;
	out[1] = t->switched_mono_ns - t0;
	out[2] = t->first_ok_mono_ns - t0;
	rc = t->first_ok_mono_ns ? 0 : fd_error_set(err, FD_ERR_ENV, -ETIMEDOUT, "no failover");
	lab_truth_free(t);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct setting settings[] = {
		{ 1000 * FD_NS_PER_MS, 3 }, { 500 * FD_NS_PER_MS, 3 }, { 200 * FD_NS_PER_MS, 3 },
		{ 100 * FD_NS_PER_MS, 2 }, { 50 * FD_NS_PER_MS, 2 },
	};
	int runs = argc > 2 ? atoi(argv[2]) : 5;
	struct lab_config cfg;
	struct fd_error err = { 0 };
	int64_t t, up_ns[MAX_RUNS], reset_ns[MAX_RUNS];
	CURL *h = NULL;
	int rc = 1;

	if (argc < 2 || geteuid() != 0) {
		fprintf(stderr, "usage (as root): bench_lab FIREDRILL_BINARY [RUNS]\n");
		return 2;
	}
	exe = argv[1];
	runs = runs < 1 ? 1 : runs > MAX_RUNS ? MAX_RUNS : runs;
	lab_config_init(&cfg);
	cfg.exe = exe;
	cfg.state_dir = BENCH_DIR;
	for (int i = 0; i < runs; i++) {
		t = fd_mono_ns();
		if (lab_up(&cfg, &err) < 0)
			goto out;
		up_ns[i] = fd_mono_ns() - t;
		t = fd_mono_ns();
		if (lab_reset(&cfg, &err) < 0)
			goto out;
		reset_ns[i] = fd_mono_ns() - t;
		if (i + 1 < runs && lab_down(BENCH_DIR, &err) < 0)
			goto out;
	}
	printf("lab up (cold, namespaces + 3 services): median %.1f ms over %d\n",
	       median_ms(up_ns, runs), runs);
	printf("lab reset (3 services restarted):      median %.1f ms over %d\n\n",
	       median_ms(reset_ns, runs), runs);
	if (fd_netns_enter(LAB_NETNS_CLIENT, &err) < 0)
		goto out;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	printf("failover after region A is dropped at T0 (median of %d, ms after T0)\n", runs);
	printf("  interval  threshold  expected~  detected  switched  first-ok\n");
	for (size_t s = 0; s < sizeof(settings) / sizeof(settings[0]); s++) {
		int64_t det[MAX_RUNS], sw[MAX_RUNS], ok[MAX_RUNS], one[3] = { 0 };

		for (int i = 0; i < runs; i++) {
			if (one_failover(h, &settings[s], one, &err) < 0)
				goto out;
			det[i] = one[0];
			sw[i] = one[1];
			ok[i] = one[2];
		}
		printf("  %5lld ms  %9d  %6lld ms  %8.1f  %8.1f  %8.1f\n",
		       (long long)(settings[s].interval_ns / FD_NS_PER_MS), settings[s].threshold,
		       (long long)(settings[s].interval_ns * settings[s].threshold / FD_NS_PER_MS),
		       median_ms(det, runs), median_ms(sw, runs), median_ms(ok, runs));
	}
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_lab: %s\n", err.msg);
	curl_easy_cleanup(h);
	block_a(false);
	if (!(rc && err.kind == FD_ERR_ENV && strstr(err.msg, "another lab")))
		lab_down(BENCH_DIR, &err);
	return rc;
}
