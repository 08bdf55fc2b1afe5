/*
 * lab internals shared by the lab's own files; not a contract.
 */
#ifndef FD_LAB_INT_H
#define FD_LAB_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab.h"

/* Files in the state dir (all removed by lab_down). */
#define LAB_FILE_CONFIG   "config.json"
#define LAB_FILE_TRUTH    "truth.log"
#define LAB_FILE_NETOK    "net.ok"
#define LAB_FILE_FRONT    "frontdoor.json"

int lab_path(char *buf, size_t len, const char *dir, const char *file);

/* ---- lab_net.c: namespaces, bridge, veths, addresses -------------------- */

bool lab_netns_exists(const char *name);
int lab_net_ensure(const char *dir, struct fd_error *err);
int lab_net_delete(struct fd_error *err);

/* ---- lab_proc.c: the three service processes ---------------------------- */

int lab_config_save(const char *dir, const struct lab_config *cfg, struct fd_error *err);
int lab_config_load(const char *dir, struct lab_config *cfg, struct fd_error *err);
bool lab_config_same(const struct lab_config *x, const struct lab_config *y);

/* Starts role in its namespace and waits until it serves. */
int lab_proc_start(const struct lab_config *cfg, const char *dir, enum lab_role role,
		   struct fd_error *err);
/* pid from the pidfile (0 if none); *running when it is a live lab service. */
pid_t lab_proc_pid(const char *dir, enum lab_role role, bool *running);
/* A lab service of another state dir in our fdlab-* namespaces (its dir in other), or 0. */
pid_t lab_proc_find_other(const char *dir, char *other, size_t len);
/* Stops every service of this state dir (pidfiles, then a /proc sweep). */
void lab_proc_stop_all(const char *dir);
/* The service tells lab_proc_start it is ready (or why not). */
void lab_proc_ready(const char *msg);

/* ---- lab_truth.c: writing the ground-truth log -------------------------- */

/* Opens DIR/truth.log for appending; returns an fd or -errno. */
int lab_truth_open(const char *dir);
/*
 * Appends one JSON line {"ev": ev, "mono_ns", "real_ns", ...extra} with a
 * single write() (O_APPEND keeps lines from several processes whole).
 * extra is consumed (may be NULL).
 */
void lab_truth_emit(int fd, const char *ev, int64_t mono_ns, int64_t real_ns, json_t *extra);

/* ---- lab_http.c: small libmicrohttpd helpers ---------------------------- */

struct lab_req {
	char *uri;              /* the request target as received (path?query) */
	char *body;
	size_t len, cap;
	bool too_big;
	bool started;
};

#define LAB_BODY_MAX (1024 * 1024)

/*
 * MHD_OPTION_URI_LOG_CALLBACK: libmicrohttpd hands the handler the path
 * percent-decoded and without its query; this keeps the request target
 * exactly as the client sent it (req->uri) so it can be forwarded as is.
 * Its lab_req is the connection's *con_cls; lab_http_completed frees it.
 */
void *lab_http_uri(void *cls, const char *uri, struct MHD_Connection *c);
/* The query of req->uri as sent, without '?' ("" when there is none). */
const char *lab_http_query(const struct lab_req *req);
/*
 * Collects the request body across handler calls. Returns true once the
 * whole request is in (*out set); false means "return MHD_YES and wait".
 */
bool lab_http_collect(void **con_cls, const char *upload, size_t *upload_size,
		      struct lab_req **out);
void lab_http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			enum MHD_RequestTerminationCode toe);
enum MHD_Result lab_http_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
			       const void *body, size_t len, const char *hdr_name,
			       const char *hdr_value);
/* Replies with a compact JSON object (consumed). */
enum MHD_Result lab_http_json(struct MHD_Connection *c, unsigned status, json_t *obj,
			      const char *region);

/* ---- the services -------------------------------------------------------- */

int lab_kv_serve(enum lab_role role, const char *dir, const struct lab_config *cfg,
		 struct fd_error *err);
int lab_frontdoor_serve(const char *dir, const struct lab_config *cfg, struct fd_error *err);

/* Blocks SIGTERM/SIGINT (call before starting threads), then waits for one. */
void lab_signals_block(void);
void lab_signals_wait(void);

#endif
