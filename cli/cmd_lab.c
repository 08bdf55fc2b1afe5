/* firedrill lab up|reset|down|status, and the hidden `lab serve` */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fd_time.h"
#include "lab.h"

static const char lab_usage[] =
	"usage: firedrill lab up [--check-interval D] [--failure-threshold N]\n"
	"                        [--replication-lag D] [--promotion-delay D] [--no-controller]\n"
	"       firedrill lab reset [same flags]   fresh services (A primary again), new tunables\n"
	"       firedrill lab down\n"
	"       firedrill lab status [--json]\n"
	"  every form also takes --state-dir DIR (default $FIREDRILL_LAB_DIR, else "
	LAB_STATE_DIR ")\n"
	"  the built-in two-region practice system: front door " LAB_FRONTDOOR_URL
	" in netns " LAB_NETNS_CLIENT ",\n"
	"  region A " LAB_PREFIX_A " (" LAB_NETNS_A "), region B " LAB_PREFIX_B " ("
	LAB_NETNS_B "); see docs/lab.md.\n"
	"  defaults: check-interval 500ms, failure-threshold 3, replication-lag 200ms,\n"
	"  promotion-delay 0s. up/reset/down need root.\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "firedrill lab: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", lab_usage);
	return EXIT_USAGE;
}

static int parse_duration(const char *flag, const char *val, int64_t *out)
{
	if (!val)
		return usage_error("%s needs a duration (e.g. 250ms)", flag);
	if (fd_duration_parse(val, out) < 0 || *out < 0)
		return usage_error("bad duration \"%s\" (e.g. 250ms, 2s)", val);
	return 0;
}

/* Parses the flags of up/reset/down/status/serve into cfg (and role/json). */
static int parse_flags(int argc, char **argv, struct lab_config *cfg, bool *json,
		       const char **role)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int rc = 0;

		if (strcmp(a, "--check-interval") == 0) {
			rc = parse_duration(a, v, &cfg->check_interval_ns);
			i++;
		} else if (strcmp(a, "--replication-lag") == 0) {
			rc = parse_duration(a, v, &cfg->replication_lag_ns);
			i++;
		} else if (strcmp(a, "--promotion-delay") == 0) {
			rc = parse_duration(a, v, &cfg->promotion_delay_ns);
			i++;
		} else if (strcmp(a, "--failure-threshold") == 0) {
			char *end = NULL;
			long n = v ? strtol(v, &end, 10) : 0;

			if (!v || *end || n < 1 || n > 1000)
				return usage_error("--failure-threshold needs a number 1..1000, not \"%s\"",
						   v ? v : "");
			cfg->failure_threshold = (int)n;
			i++;
		} else if (strcmp(a, "--no-controller") == 0) {
			cfg->controller_disabled = true;
		} else if (strcmp(a, "--json") == 0) {
			*json = true;
		} else if (strcmp(a, "--state-dir") == 0 && v) {
			cfg->state_dir = v;
			i++;
		} else if (strcmp(a, "--role") == 0 && v) {
			*role = v;
			i++;
		} else {
			return usage_error("unknown or incomplete option \"%s\"", a);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static void print_instant(const char *label, int64_t mono, int64_t real, int64_t t0)
{
	char wall[64], rel[32];

	if (!mono) {
		printf("  %-13s -\n", label);
		return;
	}
	printf("  %-13s %s (+%s after A was declared failed)\n", label,
	       fd_time_format_utc(real, wall, sizeof(wall)),
	       t0 ? fd_duration_format(mono - t0, rel, sizeof(rel)) : "?");
}

static json_t *truth_json(const struct lab_truth *t)
{
	json_t *lost = json_array(), *o;

	for (size_t i = 0; i < t->n_lost; i++)
		json_array_append_new(lost, json_pack("{s:s, s:I, s:I}", "key", t->lost[i].key,
						      "seq", (json_int_t)t->lost[i].seq,
						      "ack_mono_ns",
						      (json_int_t)t->lost[i].ack_mono_ns));
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s?, s:I, s:o}",
		      "failed_mono_ns", (json_int_t)t->failed_mono_ns,
		      "failed_real_ns", (json_int_t)t->failed_real_ns,
		      "promoted_mono_ns", (json_int_t)t->promoted_mono_ns,
		      "promoted_real_ns", (json_int_t)t->promoted_real_ns,
		      "switched_mono_ns", (json_int_t)t->switched_mono_ns,
		      "switched_real_ns", (json_int_t)t->switched_real_ns,
		      "first_served_mono_ns", (json_int_t)t->first_served_mono_ns,
		      "first_served_real_ns", (json_int_t)t->first_served_real_ns,
		      "first_ok_mono_ns", (json_int_t)t->first_ok_mono_ns,
		      "first_ok_real_ns", (json_int_t)t->first_ok_real_ns,
		      "new_primary", t->new_primary ? (char[]){ t->new_primary, 0 } : NULL,
		      "acked", (json_int_t)t->n_acked, "lost", lost);
	return o;
}

static int print_status_json(const char *dir, const struct lab_status *st,
			     const struct lab_truth *t)
{
	static const char *const ns[] = { LAB_NETNS_A, LAB_NETNS_B, LAB_NETNS_CLIENT,
					  LAB_NETNS_CORE };
	json_t *o, *nso = json_object(), *procs = json_object();
	char *s;

	for (size_t i = 0; i < 4; i++)
		json_object_set_new(nso, ns[i], json_boolean(st->netns[i]));
	for (int r = 0; r < LAB_N_ROLES; r++)
		json_object_set_new(procs, lab_role_name((enum lab_role)r),
				    json_pack("{s:i, s:b}", "pid", (int)st->procs[r].pid,
					      "running", st->procs[r].running));
	o = json_pack("{s:b, s:s, s:s?, s:s, s:o, s:o, s:{s:I, s:i, s:I, s:I, s:b}, s:o?}",
		      "up", st->up, "state_dir", dir,
		      "primary", st->primary ? (char[]){ st->primary, 0 } : NULL,
		      "frontdoor", LAB_FRONTDOOR_URL, "netns", nso, "services", procs,
		      "tunables", "check_interval_ns", (json_int_t)st->cfg.check_interval_ns,
		      "failure_threshold", st->cfg.failure_threshold,
		      "replication_lag_ns", (json_int_t)st->cfg.replication_lag_ns,
		      "promotion_delay_ns", (json_int_t)st->cfg.promotion_delay_ns,
		      "controller", !st->cfg.controller_disabled,
		      "truth", t ? truth_json(t) : NULL);
	s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	if (!s) {
		json_decref(o);
		fprintf(stderr, "firedrill lab: out of memory\n");
		return EXIT_INTERNAL;
	}
	printf("%s\n", s);
	free(s);
	json_decref(o);
	return EXIT_OK;
}

static void print_status_text(const char *dir, const struct lab_status *st,
			      const struct lab_truth *t)
{
	static const char *const ns[] = { LAB_NETNS_A, LAB_NETNS_B, LAB_NETNS_CLIENT,
					  LAB_NETNS_CORE };
	static const char *const where[] = { LAB_NETNS_A " " LAB_ADDR_A,
					     LAB_NETNS_B " " LAB_ADDR_B,
					     LAB_NETNS_CLIENT " " LAB_ADDR_FRONTDOOR };
	char d1[32], d2[32], d3[32];

	printf("lab: %s (state dir %s)\nnamespaces:", st->up ? "up" : "not (fully) up", dir);
	for (size_t i = 0; i < 4; i++)
		printf(" %s%s", ns[i], st->netns[i] ? "" : " (missing)");
	printf("\nservices:\n");
	for (int r = 0; r < LAB_N_ROLES; r++) {
		if (st->procs[r].running)
			printf("  %-10s %s:%d  pid %d\n", lab_role_name((enum lab_role)r), where[r],
			       LAB_PORT, (int)st->procs[r].pid);
		else
			printf("  %-10s %s:%d  not running\n", lab_role_name((enum lab_role)r),
			       where[r], LAB_PORT);
	}
	if (st->primary)
		printf("primary:    region %c (front door %s)\n", st->primary, LAB_FRONTDOOR_URL);
	printf("tunables:   check-interval %s, failure-threshold %d, replication-lag %s,\n"
	       "            promotion-delay %s, controller %s\n",
	       fd_duration_format(st->cfg.check_interval_ns, d1, sizeof(d1)),
	       st->cfg.failure_threshold,
	       fd_duration_format(st->cfg.replication_lag_ns, d2, sizeof(d2)),
	       fd_duration_format(st->cfg.promotion_delay_ns, d3, sizeof(d3)),
	       st->cfg.controller_disabled ? "disabled" : "on");
	if (!t)
		return;
	printf("truth:      %zu acknowledged writes, %zu lost\n", t->n_acked, t->n_lost);
	if (!t->failed_mono_ns)
		return;
	print_instant("failed", t->failed_mono_ns, t->failed_real_ns, t->failed_mono_ns);
	print_instant("promoted", t->promoted_mono_ns, t->promoted_real_ns, t->failed_mono_ns);
	print_instant("switched", t->switched_mono_ns, t->switched_real_ns, t->failed_mono_ns);
	print_instant("first served", t->first_served_mono_ns, t->first_served_real_ns,
		      t->failed_mono_ns);
	print_instant("first ok", t->first_ok_mono_ns, t->first_ok_real_ns, t->failed_mono_ns);
}

static int lab_status_cmd(const struct cli_ctx *ctx, const char *state_dir, bool json)
{
	const char *dir = lab_state_dir(state_dir);
	struct lab_truth *t = NULL;
	struct lab_status st;
	struct fd_error err;
	int rc;

	fd_error_clear(&err);
	if (lab_status_get(dir, &st, &err) < 0)
		return cli_report_error(&err);
	if (lab_truth_read(dir, &t, &err) < 0)
		t = NULL; /* no lab, no truth: status still answers */
	if (json || ctx->json) {
		rc = print_status_json(dir, &st, t);
	} else {
		print_status_text(dir, &st, t);
		rc = EXIT_OK;
	}
	lab_truth_free(t);
	return rc;
}

static int lab_serve_cmd(const struct lab_config *cfg, const char *role)
{
	struct fd_error err;
	int r;

	fd_error_clear(&err);
	for (r = 0; r < LAB_N_ROLES; r++)
		if (role && strcmp(role, lab_role_name((enum lab_role)r)) == 0)
			break;
	if (r == LAB_N_ROLES)
		return usage_error("serve needs --role primary|standby|frontdoor, not \"%s\"",
				   role ? role : "");
	if (lab_serve((enum lab_role)r, cfg->state_dir, &err) < 0)
		return cli_report_error(&err);
	return EXIT_OK;
}

int cmd_lab(struct cli_ctx *ctx, int argc, char **argv)
{
	struct lab_config cfg;
	struct fd_error err;
	const char *role = NULL, *verb = argc > 1 ? argv[1] : NULL;
	bool json = false;
	int rc;

	if (!verb || strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
		fputs(lab_usage, verb ? stdout : stderr);
		return verb ? EXIT_OK : EXIT_USAGE;
	}
	lab_config_init(&cfg);
	fd_error_clear(&err);
	rc = parse_flags(argc, argv, &cfg, &json, &role);
	if (rc)
		return rc;
	if (strcmp(verb, "status") == 0)
		return lab_status_cmd(ctx, cfg.state_dir, json);
	if (strcmp(verb, "serve") == 0)
		return lab_serve_cmd(&cfg, role);
	if (strcmp(verb, "up") == 0 || strcmp(verb, "reset") == 0) {
		rc = verb[0] == 'u' ? lab_up(&cfg, &err) : lab_reset(&cfg, &err);
		if (rc < 0)
			return cli_report_error(&err);
		cli_log(ctx, 0, "lab %s: front door %s in netns %s (region A %s, region B %s)",
			verb[0] == 'u' ? "up" : "reset", LAB_FRONTDOOR_URL, LAB_NETNS_CLIENT,
			LAB_PREFIX_A, LAB_PREFIX_B);
		return EXIT_OK;
	}
	if (strcmp(verb, "down") == 0) {
		if (lab_down(cfg.state_dir, &err) < 0)
			return cli_report_error(&err);
		cli_log(ctx, 0, "lab down: namespaces, services and state removed");
		return EXIT_OK;
	}
	return usage_error("unknown verb \"%s\" (up, reset, down, status)", verb);
}
