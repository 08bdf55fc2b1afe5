/*
 * The replicated key-value service of one region (`lab serve --role
 * primary` in fdlab-a, `--role standby` in fdlab-b).
 *
 *   GET  /health          200 {"region":"a","role":"primary"}
 *   GET  /stats           keys, write sequence, replication queue length
 *   GET  /echo            {"region","query","args"}: the query as received and
 *                         decoded (shows what a forwarder passed on)
 *   GET  /kv/KEY          the value, or 404
 *   PUT  /kv/KEY          primary: stored, 200 {"region","seq"} + X-Fdlab-Seq;
 *                         otherwise 503 (writes are acknowledged only by the primary)
 *   GET|PUT /blob/KEY     region A only: the object store ("S3") to blackhole
 *   POST /promote         standby -> primary (then it refuses replication)
 *   POST /demote          primary -> demoted (refuses writes; the controller
 *                         fences the old primary when it comes back)
 *   POST /replicate       standby only: a JSON batch from the primary
 *
 * Replication is asynchronous: every acknowledged write is queued and
 * shipped to B replication-lag after its acknowledgement (a failed ship is
 * retried every 50 ms). The truth log gets "commit", "apply", "promote",
 * "demote", "fenced" and "first-serve" lines (docs/lab.md).
 */
#include "lab_int.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fd_time.h"

#define NBUCKETS 4096
#define KEY_MAX 199
#define RETRY_NS (50 * FD_NS_PER_MS)

struct item {
	char *key;
	char *val;
	size_t len;
	uint64_t seq;
	struct item *next;
};

struct map {
	struct item *b[NBUCKETS];
	size_t n;
};

struct repl {
	char *key;
	char *val;
	size_t len;
	uint64_t seq;
	int64_t due_ns;
	struct repl *next;
};

enum kv_role { KV_PRIMARY, KV_STANDBY, KV_DEMOTED };

static const char *const kv_role_names[] = { "primary", "standby", "demoted" };

struct kv {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char region[2];
	enum kv_role role;
	bool promoted;          /* became primary by /promote */
	bool first_served;      /* its first front-door request as primary is logged */
	struct map data, blobs;
	uint64_t seq;
	struct repl *qhead, *qtail;
	size_t qlen;
	int64_t lag_ns;
	bool stopping;
	int truth_fd;
};

/* ---- a small string map ------------------------------------------------- */

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h % NBUCKETS;
}

static struct item *map_get(struct map *m, const char *key)
{
	for (struct item *it = m->b[hash(key)]; it; it = it->next)
		if (strcmp(it->key, key) == 0)
			return it;
	return NULL;
}

static int map_put(struct map *m, const char *key, const char *val, size_t len, uint64_t seq)
{
	struct item *it = map_get(m, key);
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, val, len);
	copy[len] = '\0';
	if (!it) {
		it = calloc(1, sizeof(*it));
		if (!it || !(it->key = strdup(key))) {
			free(it);
			free(copy);
			return -ENOMEM;
		}
		it->next = m->b[hash(key)];
		m->b[hash(key)] = it;
		m->n++;
	}
	free(it->val);
	it->val = copy;
	it->len = len;
	it->seq = seq;
	return 0;
}

static void map_free(struct map *m)
{
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct item *it = m->b[i];

		while (it) {
			struct item *next = it->next;

			free(it->key);
			free(it->val);
			free(it);
			it = next;
		}
		m->b[i] = NULL;
	}
}

/* ---- replication -------------------------------------------------------- */

static void repl_free(struct repl *r)
{
	while (r) {
		struct repl *next = r->next;

		free(r->key);
		free(r->val);
		free(r);
		r = next;
	}
}

/* Called with mu held. */
static int repl_enqueue(struct kv *kv, const char *key, const char *val, size_t len,
			uint64_t seq, int64_t now)
{
	struct repl *r = calloc(1, sizeof(*r));

	if (!r || !(r->key = strdup(key)) || !(r->val = malloc(len + 1))) {
		repl_free(r);
		return -ENOMEM;
	}
	memcpy(r->val, val, len);
	r->len = len;
	r->seq = seq;
	r->due_ns = now + kv->lag_ns;
	if (kv->qtail)
		kv->qtail->next = r;
	else
		kv->qhead = r;
	kv->qtail = r;
	kv->qlen++;
	pthread_cond_signal(&kv->cv);
	return 0;
}

static char *hex_encode(const char *val, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *out = malloc(len * 2 + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[(unsigned char)val[i] >> 4];
		out[2 * i + 1] = digits[(unsigned char)val[i] & 15];
	}
	out[len * 2] = '\0';
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes in place; returns the length or -1. */
static long hex_decode(char *s)
{
	size_t n = strlen(s);

	if (n % 2)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		s[i] = (char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static char *batch_json(const struct repl *batch)
{
	json_t *arr = json_array();
	char *s = NULL;

	if (!arr)
		return NULL;
	for (const struct repl *r = batch; r; r = r->next) {
		char *hex = hex_encode(r->val, r->len);
		json_t *o = hex ? json_pack("{s:s, s:s, s:I}", "key", r->key, "hex", hex,
					    "seq", (json_int_t)r->seq) : NULL;

		free(hex);
		if (!o || json_array_append_new(arr, o) < 0)
			goto cleanup;
	}
	s = json_dumps(arr, JSON_COMPACT);
cleanup:
	json_decref(arr);
	return s;
}

static size_t discard(char *p, size_t size, size_t n, void *user)
{
	return size * n;
}

/* 0 shipped, 1 refused by a promoted standby (fenced), -1 try again. */
static int ship(CURL *h, const struct repl *batch)
{
	char *body = batch_json(batch);
	struct curl_slist *hdr = NULL;
	long status = 0;
	int rc = -1;

	if (!body)
		return -1;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, LAB_URL_B "/replicate");
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 300L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(h) == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		rc = status == 200 ? 0 : status == 409 ? 1 : -1;
	}
	curl_slist_free_all(hdr);
	free(body);
	return rc;
}

static struct timespec ts_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = ns / FD_NS_PER_S, .tv_nsec = ns % FD_NS_PER_S };
}

/* Detaches the entries already due; called with mu held. */
static struct repl *take_due(struct kv *kv, int64_t now)
{
	struct repl *batch = kv->qhead, *last = NULL;

	for (struct repl *r = kv->qhead; r && r->due_ns <= now; r = r->next) {
		last = r;
		kv->qlen--;
	}
	if (!last)
		return NULL;
	kv->qhead = last->next;
	if (!kv->qhead)
		kv->qtail = NULL;
	last->next = NULL;
	return batch;
}

static void put_back(struct kv *kv, struct repl *batch)
{
	struct repl *last = batch;
	size_t n = 1;

	for (; last->next; last = last->next)
		n++;
	last->next = kv->qhead;
	kv->qhead = batch;
	if (!kv->qtail)
		kv->qtail = last;
	kv->qlen += n;
}

static void *shipper(void *arg)
{
	struct kv *kv = arg;
	CURL *h = curl_easy_init();
	int64_t retry_at = 0;

	pthread_mutex_lock(&kv->mu);
	while (!kv->stopping) {
		int64_t now = fd_mono_ns();
		int64_t wake = kv->qhead ? kv->qhead->due_ns : now + FD_NS_PER_S;
		struct repl *batch;
		int rc;

		if (retry_at > wake)
			wake = retry_at;
		if (wake > now) {
			struct timespec ts = ts_of(wake);

			pthread_cond_timedwait(&kv->cv, &kv->mu, &ts);
			continue;
		}
		batch = take_due(kv, now);
		if (!batch || !h)
			continue;
		pthread_mutex_unlock(&kv->mu);
		rc = ship(h, batch);
		pthread_mutex_lock(&kv->mu);
		if (rc < 0) {
			put_back(kv, batch);
			retry_at = fd_mono_ns() + RETRY_NS;
			continue;
		}
		retry_at = 0;
		if (rc == 1) {
			size_t n = 0;

			for (struct repl *r = batch; r; r = r->next)
				n++;
			lab_truth_emit(kv->truth_fd, "fenced", fd_mono_ns(), fd_real_ns(),
				       json_pack("{s:s, s:I}", "region", kv->region,
						 "dropped", (json_int_t)n));
		}
		repl_free(batch);
	}
	pthread_mutex_unlock(&kv->mu);
	curl_easy_cleanup(h);
	return NULL;
}

/* ---- handlers (all called with mu held) --------------------------------- */

static json_t *who(const struct kv *kv)
{
	return json_pack("{s:s, s:s}", "region", kv->region, "role", kv_role_names[kv->role]);
}

/* 200 {"region","seq"} with X-Fdlab-Region and X-Fdlab-Seq. */
static enum MHD_Result reply_ack(struct MHD_Connection *c, const char *region, uint64_t seq)
{
	char body[96], seqbuf[32];
	struct MHD_Response *resp;
	enum MHD_Result ret;

	snprintf(seqbuf, sizeof(seqbuf), "%llu", (unsigned long long)seq);
	snprintf(body, sizeof(body), "{\"region\":\"%s\",\"seq\":%s}", region, seqbuf);
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, "X-Fdlab-Region", region);
	MHD_add_response_header(resp, "X-Fdlab-Seq", seqbuf);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result kv_put(struct kv *kv, struct MHD_Connection *c, struct map *m,
			      const char *key, const struct lab_req *req, bool replicate)
{
	int64_t mono = fd_mono_ns(), real = fd_real_ns();
	uint64_t seq;

	if (kv->role != KV_PRIMARY)
		return lab_http_json(c, 503, json_pack("{s:s, s:s, s:s}", "region", kv->region,
						      "role", kv_role_names[kv->role], "error",
						      "not the primary: writes go to the primary"),
				     kv->region);
	seq = ++kv->seq;
	if (map_put(m, key, req->body ? req->body : "", req->len, seq) < 0 ||
	    (replicate && kv->region[0] == 'a' &&
	     repl_enqueue(kv, key, req->body ? req->body : "", req->len, seq, mono) < 0))
		return lab_http_json(c, 500, json_pack("{s:s}", "error", "out of memory"),
				     kv->region);
	lab_truth_emit(kv->truth_fd, "commit", mono, real,
		       json_pack("{s:s, s:s, s:s, s:I}", "region", kv->region,
				 "store", m == &kv->data ? "kv" : "blob", "key", key,
				 "seq", (json_int_t)seq));
	return reply_ack(c, kv->region, seq);
}

static enum MHD_Result kv_get(struct kv *kv, struct MHD_Connection *c, struct map *m,
			      const char *key)
{
	struct item *it = map_get(m, key);

	if (!it)
		return lab_http_json(c, 404, json_pack("{s:s, s:s}", "region", kv->region,
						      "error", "no such key"),
				     kv->region);
	return lab_http_reply(c, 200, "application/octet-stream", it->val, it->len,
			      "X-Fdlab-Region", kv->region);
}

static enum MHD_Result kv_replicate(struct kv *kv, struct MHD_Connection *c,
				    const struct lab_req *req)
{
	json_t *arr, *o;
	size_t i, n = 0;

	if (kv->role != KV_STANDBY)
		return lab_http_json(c, 409, json_pack("{s:s, s:s}", "role",
						      kv_role_names[kv->role], "error",
						      "not a standby: replication refused"),
				     kv->region);
	arr = req->body ? json_loadb(req->body, req->len, 0, NULL) : NULL;
	if (!json_is_array(arr)) {
		json_decref(arr);
		return lab_http_json(c, 400, json_pack("{s:s}", "error", "expected a JSON array"),
				     kv->region);
	}
	json_array_foreach(arr, i, o) {
		const char *key = json_string_value(json_object_get(o, "key"));
		const char *hex = json_string_value(json_object_get(o, "hex"));
		json_int_t seq = json_integer_value(json_object_get(o, "seq"));
		char *val = hex ? strdup(hex) : NULL;
		long len = val ? hex_decode(val) : -1;

		if (key && len >= 0 && map_put(&kv->data, key, val, (size_t)len, (uint64_t)seq) == 0) {
			lab_truth_emit(kv->truth_fd, "apply", fd_mono_ns(), fd_real_ns(),
				       json_pack("{s:s, s:s, s:I}", "region", kv->region,
						 "key", key, "seq", seq));
			n++;
		}
		free(val);
	}
	json_decref(arr);
	return lab_http_json(c, 200, json_pack("{s:I}", "applied", (json_int_t)n), kv->region);
}

static enum MHD_Result kv_role_change(struct kv *kv, struct MHD_Connection *c, bool promote)
{
	enum kv_role from = promote ? KV_STANDBY : KV_PRIMARY;
	enum kv_role to = promote ? KV_PRIMARY : KV_DEMOTED;

	if (kv->role == from) {
		kv->role = to;
		kv->promoted = promote;
		lab_truth_emit(kv->truth_fd, promote ? "promote" : "demote", fd_mono_ns(),
			       fd_real_ns(), json_pack("{s:s}", "region", kv->region));
	} else if (kv->role != to) {
		return lab_http_json(c, 409, who(kv), kv->region);
	}
	return lab_http_json(c, 200, who(kv), kv->region);
}

static void note_first_serve(struct kv *kv, struct MHD_Connection *c, const char *url)
{
	const char *via;

	if (!kv->promoted || kv->first_served || kv->role != KV_PRIMARY)
		return;
	via = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Fdlab-Via");
	if (!via || strcmp(via, "frontdoor") != 0)
		return;
	kv->first_served = true;
	lab_truth_emit(kv->truth_fd, "first-serve", fd_mono_ns(), fd_real_ns(),
		       json_pack("{s:s, s:s}", "region", kv->region, "path", url));
}

static bool key_ok(const char *key)
{
	size_t n = strlen(key);

	return n > 0 && n <= KEY_MAX && !strchr(key, '/');
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	json_array_append_new(cls, json_pack("[s, s?]", key, value));
	return MHD_YES;
}

/* GET /echo: the query as received and as libmicrohttpd decodes it. */
static enum MHD_Result kv_echo(struct kv *kv, struct MHD_Connection *c, const struct lab_req *req)
{
	json_t *args = json_array();

	if (args)
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, args);
	return lab_http_json(c, 200,
			     json_pack("{s:s, s:s, s:o?}", "region", kv->region, "query",
				       lab_http_query(req), "args", args),
			     kv->region);
}

static enum MHD_Result route(struct kv *kv, struct MHD_Connection *c, const char *url,
			     const char *method, const struct lab_req *req)
{
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	bool put = strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0;
	struct map *m = NULL;
	const char *key = NULL;

	if (strncmp(url, "/kv/", 4) == 0) {
		m = &kv->data;
		key = url + 4;
	} else if (strncmp(url, "/blob/", 6) == 0 && kv->region[0] == 'a') {
		m = &kv->blobs;
		key = url + 6;
	}
	if (m && key_ok(key) && (get || put)) {
		if (req->too_big)
			return lab_http_json(c, 413, json_pack("{s:s}", "error", "body too large"),
					     kv->region);
		return get ? kv_get(kv, c, m, key) : kv_put(kv, c, m, key, req, m == &kv->data);
	}
	if (get && strcmp(url, "/health") == 0)
		return lab_http_json(c, 200, who(kv), kv->region);
	if (get && strcmp(url, "/echo") == 0)
		return kv_echo(kv, c, req);
	if (get && strcmp(url, "/stats") == 0)
		return lab_http_json(c, 200,
				     json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "region",
					       kv->region, "role", kv_role_names[kv->role], "keys",
					       (json_int_t)kv->data.n, "blobs",
					       (json_int_t)kv->blobs.n, "seq", (json_int_t)kv->seq,
					       "queue", (json_int_t)kv->qlen),
				     kv->region);
	if (put && strcmp(url, "/promote") == 0)
		return kv_role_change(kv, c, true);
	if (put && strcmp(url, "/demote") == 0)
		return kv_role_change(kv, c, false);
	if (put && strcmp(url, "/replicate") == 0)
		return kv_replicate(kv, c, req);
	return lab_http_json(c, 404, json_pack("{s:s, s:s}", "error", "no such endpoint",
					      "path", url),
			     kv->region);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	struct kv *kv = cls;
	struct lab_req *req = NULL;
	enum MHD_Result ret;

	if (!lab_http_collect(con_cls, upload, upload_size, &req))
		return MHD_YES;
	if (!req)
		return MHD_NO;
	pthread_mutex_lock(&kv->mu);
	note_first_serve(kv, c, url);
	ret = route(kv, c, url, method, req);
	pthread_mutex_unlock(&kv->mu);
	return ret;
}

/* ---- the service -------------------------------------------------------- */

static struct MHD_Daemon *listen_on(struct kv *kv, const char *addr)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(LAB_PORT) };

	inet_pton(AF_INET, addr, &sin.sin_addr);
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				LAB_PORT, NULL, NULL, handle, kv,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_THREAD_POOL_SIZE, 4U,
				MHD_OPTION_CONNECTION_TIMEOUT, 10U,
				MHD_OPTION_NOTIFY_COMPLETED, lab_http_completed, NULL,
				MHD_OPTION_URI_LOG_CALLBACK, lab_http_uri, NULL,
				MHD_OPTION_END);
}

static int kv_init(struct kv *kv, enum lab_role role, const char *dir,
		   const struct lab_config *cfg, struct fd_error *err)
{
	pthread_condattr_t ca;

	memset(kv, 0, sizeof(*kv));
	kv->region[0] = role == LAB_ROLE_PRIMARY ? 'a' : 'b';
	kv->role = role == LAB_ROLE_PRIMARY ? KV_PRIMARY : KV_STANDBY;
	kv->lag_ns = cfg->replication_lag_ns;
	kv->truth_fd = lab_truth_open(dir);
	if (kv->truth_fd < 0)
		return fd_error_set(err, FD_ERR_ENV, kv->truth_fd, "lab: opening the truth log in %s: %s",
				    dir, strerror(-kv->truth_fd));
	pthread_mutex_init(&kv->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&kv->cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void kv_fini(struct kv *kv)
{
	map_free(&kv->data);
	map_free(&kv->blobs);
	repl_free(kv->qhead);
	pthread_cond_destroy(&kv->cv);
	pthread_mutex_destroy(&kv->mu);
	if (kv->truth_fd >= 0)
		close(kv->truth_fd);
}

int lab_kv_serve(enum lab_role role, const char *dir, const struct lab_config *cfg,
		 struct fd_error *err)
{
	const char *addr = role == LAB_ROLE_PRIMARY ? LAB_ADDR_A : LAB_ADDR_B;
	struct MHD_Daemon *d = NULL;
	struct kv *kv = malloc(sizeof(*kv));
	pthread_t ship_thread;
	bool shipping = false;
	int rc;

	if (!kv)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "lab: out of memory");
	rc = kv_init(kv, role, dir, cfg, err);
	if (rc < 0) {
		free(kv);
		return rc;
	}
	lab_signals_block();
	if (role == LAB_ROLE_PRIMARY) {
		rc = -pthread_create(&ship_thread, NULL, shipper, kv);
		if (rc < 0) {
			fd_error_set(err, FD_ERR_ENV, rc, "lab: replication thread: %s", strerror(-rc));
			goto cleanup;
		}
		shipping = true;
	}
	d = listen_on(kv, addr);
	if (!d) {
		rc = fd_error_set(err, FD_ERR_ENV, -EADDRNOTAVAIL,
				  "lab: cannot listen on %s:%d (is this the right namespace?)",
				  addr, LAB_PORT);
		goto cleanup;
	}
	lab_truth_emit(kv->truth_fd, "start", fd_mono_ns(), fd_real_ns(),
		       json_pack("{s:s, s:s}", "role", lab_role_name(role), "region", kv->region));
	lab_proc_ready(NULL);
	lab_signals_wait();
cleanup:
	if (d)
		MHD_stop_daemon(d);
	if (shipping) {
		pthread_mutex_lock(&kv->mu);
		kv->stopping = true;
		pthread_cond_signal(&kv->cv);
		pthread_mutex_unlock(&kv->mu);
		pthread_join(ship_thread, NULL);
	}
	kv_fini(kv);
	free(kv);
	return rc;
}
