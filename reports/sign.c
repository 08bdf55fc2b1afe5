/*
 * Ed25519 signatures of report files (libsodium), detached in REPORT.sig.
 *
 * The .sig is a small text file (docs/reports.md). Every line before the
 * "signature " line is the signed payload: the report's sha256 and size,
 * the sha256 of each block of BLOCK_LINES lines (so verify can say which
 * lines changed), the drill's and its iterations' row hashes from the
 * store's chain, the time and the signer's public key. The signature is
 * over those exact bytes, so nothing in the .sig can change unnoticed either.
 *
 * An evidence report binds its drill and that drill's iterations ("drill",
 * "iteration" lines). A trend report ("report trend") binds the filter it
 * was made with and every drill it covers, with its iterations
 * ("trend-drill", "trend-iteration" lines): a row changed since signing is
 * named by verify, and a drill added to the store later is not a change of
 * what was signed.
 *
 * A drill's seal (report_seal_drill, `firedrill run --sign`) is the same
 * format without a report: "seal drill ID", then the drill and iteration
 * lines and the chain heads, signed when the drill ends. The drill's row
 * hash covers its evidence digest (store_chain.c), so the seal binds every
 * event, sample, lap, fault and the scenario; a report made later shows
 * that hash and verifies against the seal while the store still matches.
 */
#include "report_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_time.h"

#define SIG_MAGIC "firedrill-signature 1\n"
#define BLOCK_LINES 20

static int read_all(const char *path, char **buf, size_t *len, struct fd_error *err)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t cap = 0, n = 0;
	int r = 0;

	if (!f)
		return fd_error_set(err, FD_ERR_ENV, -errno, "%s: %s", path, strerror(errno));
	for (;;) {
		if (n + 65536 + 1 > cap) {
			char *grown = realloc(data, cap = (cap ? cap * 2 : 65536) + 65537);

			if (!grown) {
				r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "%s: out of memory", path);
				break;
			}
			data = grown;
		}
		size_t got = fread(data + n, 1, 65536, f);

		n += got;
		if (got < 65536) {
			if (ferror(f))
				r = fd_error_set(err, FD_ERR_ENV, -EIO, "%s: read error", path);
			break;
		}
	}
	fclose(f);
	if (r) {
		free(data);
		return r;
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	return 0;
}

static void hex_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

void rp_key_id(const unsigned char pk[crypto_sign_PUBLICKEYBYTES], char id[17])
{
	char hex[65];

	hex_sha256(pk, crypto_sign_PUBLICKEYBYTES, hex);
	memcpy(id, hex, 16);
	id[16] = '\0';
}

static int write_key_file(const char *path, mode_t mode, const char *tag, const unsigned char *key,
			  size_t key_len, struct fd_error *err)
{
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES, sodium_base64_VARIANT_ORIGINAL)];
	int fd, r = 0;
	FILE *f;

	/* O_EXCL: never overwrite a key someone may still be using. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return fd_error_set(err, errno == EEXIST ? FD_ERR_INPUT : FD_ERR_ENV, -errno,
				    "%s: %s", path, strerror(errno));
	if (fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		r = fd_error_set(err, FD_ERR_ENV, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	sodium_bin2base64(b64, sizeof(b64), key, key_len, sodium_base64_VARIANT_ORIGINAL);
	fprintf(f, "%s%s\n", tag, b64);
	sodium_memzero(b64, sizeof(b64));
	if (fclose(f) != 0)
		r = fd_error_set(err, FD_ERR_ENV, -EIO, "%s: write error", path);
	return r;
}

int report_keygen(const char *prefix, struct fd_error *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char *key_path = NULL, *pub_path = NULL;
	int r;

	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "libsodium failed to initialise");
	if (asprintf(&key_path, "%s.key", prefix) < 0 || asprintf(&pub_path, "%s.pub", prefix) < 0) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	crypto_sign_keypair(pk, sk);
	r = write_key_file(key_path, 0600, RP_SECRET_TAG, sk, sizeof(sk), err);
	if (r == 0) {
		r = write_key_file(pub_path, 0644, RP_PUBLIC_TAG, pk, sizeof(pk), err);
		if (r)
			unlink(key_path);
	}
cleanup:
	sodium_memzero(sk, sizeof(sk));
	free(key_path);
	free(pub_path);
	return r;
}

int rp_read_key(const char *path, const char *tag, unsigned char *key, size_t key_len,
		    struct fd_error *err)
{
	char *text = NULL, *nl;
	size_t len = 0, bin_len = 0;
	int r = read_all(path, &text, &len, err);

	if (r)
		return r;
	nl = strchr(text, '\n');
	if (nl)
		*nl = '\0';
	if (strncmp(text, tag, strlen(tag)) != 0 ||
	    sodium_base642bin(key, key_len, text + strlen(tag), strlen(text + strlen(tag)), NULL,
			      &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != key_len)
		r = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: not a firedrill key (expected \"%s<base64>\")",
				 path, tag);
	sodium_memzero(text, len);
	free(text);
	return r;
}

/* Appends one line per block of BLOCK_LINES lines: "block FIRST LAST SHA256". */
static void write_blocks(FILE *out, const char *data, size_t len)
{
	size_t start = 0, line = 1;

	while (start < len) {
		size_t end = start, first = line, n = 0;
		char hex[65];

		while (end < len && n < BLOCK_LINES) {
			const char *nl = memchr(data + end, '\n', len - end);

			end = nl ? (size_t)(nl - data) + 1 : len;
			n++;
		}
		hex_sha256(data + start, end - start, hex);
		fprintf(out, "block %zu %zu %s\n", first, first + n - 1, hex);
		line += n;
		start = end;
	}
}

static void write_heads(FILE *f, struct store *st)
{
	static const char *const tables[] = { "drills", "iterations" };

	for (size_t i = 0; st && i < 2; i++) {
		int64_t seq = 0;
		char hash[65] = "";

		if (store_chain_head(st, tables[i], &seq, hash, NULL) == 0)
			fprintf(f, "chain-head %s %lld %s\n", tables[i], (long long)seq,
				hash[0] ? hash : "-");
	}
}

/* A filter value on one line: backslash, control bytes and DEL as \xNN. */
static void write_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void write_bound(FILE *f, const char *name, int64_t ns)
{
	char when[40];

	fprintf(f, "%s %s\n", name, ns ? fd_time_format_utc(ns, when, sizeof(when)) : "-");
}

/* What a trend report covers: its filter, then each drill and iteration. */
static void write_trend(FILE *f, const struct report_trend *t)
{
	fputs("report trend\nfilter-scenario ", f);
	write_escaped(f, t->scenario_filter[0] ? t->scenario_filter : "*");
	fputs("\nfilter-environment ", f);
	write_escaped(f, t->environment_filter[0] ? t->environment_filter : "*");
	fputc('\n', f);
	write_bound(f, "filter-since", t->since_real_ns);
	write_bound(f, "filter-until", t->until_real_ns);
	for (size_t i = 0; i < t->n_series; i++) {
		for (size_t k = 0; k < t->series[i].n_drills; k++) {
			const struct report_drill *d = &t->series[i].drills[k];

			/* "-": a drill still running has no sealed row yet */
			fprintf(f, "trend-drill %lld %s\n", (long long)d->info.id,
				d->info.hash[0] ? d->info.hash : "-");
			for (size_t n = 0; n < d->n_iterations; n++)
				fprintf(f, "trend-iteration %lld %d %s\n", (long long)d->info.id,
					d->iterations[n].number,
					d->iterations[n].hash[0] ? d->iterations[n].hash : "-");
		}
	}
}

static int build_payload(const char *report, size_t len, const unsigned char *pk,
			 const struct report_evidence *ev, const struct report_trend *t,
			 struct store *st, char **payload, size_t *plen)
{
	char hex[65], b64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
						    sodium_base64_VARIANT_ORIGINAL)];
	char when[40], id[17];
	FILE *f = open_memstream(payload, plen);

	if (!f)
		return -ENOMEM;
	hex_sha256(report, len, hex);
	rp_key_id(pk, id);
	sodium_bin2base64(b64, sizeof(b64), pk, crypto_sign_PUBLICKEYBYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	fprintf(f, SIG_MAGIC "report-sha256 %s\nreport-bytes %zu\n", hex, len);
	write_blocks(f, report, len);
	if (ev) {
		fprintf(f, "drill %lld %s\n", (long long)ev->drill.id, ev->drill.hash);
		for (size_t i = 0; i < ev->n_iterations; i++)
			fprintf(f, "iteration %d %s\n", ev->iterations[i].it.number,
				ev->iterations[i].it.hash);
	}
	if (t)
		write_trend(f, t);
	write_heads(f, st);
	fprintf(f, "signed-at %s\nkey-id %s\npublic-key %s\n",
		fd_time_format_utc(fd_real_ns(), when, sizeof(when)), id, b64);
	return fclose(f) == 0 ? 0 : -EIO;
}

/* Writes payload and its Ed25519 signature line to path. */
static int write_signed(const char *path, const char *payload, size_t plen,
			const unsigned char sk[crypto_sign_SECRETKEYBYTES], struct fd_error *err)
{
	unsigned char sig[crypto_sign_BYTES];
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	FILE *f;
	bool ok;

	crypto_sign_detached(sig, NULL, (const unsigned char *)payload, plen, sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
	f = fopen(path, "w");
	if (!f)
		return fd_error_set(err, FD_ERR_ENV, -errno, "%s: cannot write the signature: %s",
				    path, strerror(errno));
	ok = fprintf(f, "%ssignature %s\n", payload, b64) >= 0;
	if (fclose(f) != 0 || !ok)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "%s: cannot write the signature", path);
	return 0;
}

static int sign_file(const char *report_path, const char *key_path,
		     const struct report_evidence *ev, const struct report_trend *t,
		     struct store *st, struct fd_error *err)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char *report = NULL, *payload = NULL, *sig_path = NULL;
	size_t len = 0, plen = 0;
	int r;

	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "libsodium failed to initialise");
	r = rp_read_key(key_path, RP_SECRET_TAG, sk, sizeof(sk), err);
	if (r == 0)
		r = read_all(report_path, &report, &len, err);
	if (r)
		goto cleanup;
	/* The public key is the second half of a libsodium Ed25519 secret key. */
	if (build_payload(report, len, sk + 32, ev, t, st, &payload, &plen) < 0 ||
	    asprintf(&sig_path, "%s.sig", report_path) < 0) {
		r = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
		goto cleanup;
	}
	r = write_signed(sig_path, payload, plen, sk, err);
cleanup:
	sodium_memzero(sk, sizeof(sk));
	free(report);
	free(payload);
	free(sig_path);
	return r;
}

int report_sign_file(const char *report_path, const char *key_path,
		     const struct report_evidence *ev, struct store *st, struct fd_error *err)
{
	return sign_file(report_path, key_path, ev, NULL, st, err);
}

int report_sign_trend_file(const char *report_path, const char *key_path,
			   const struct report_trend *t, struct store *st, struct fd_error *err)
{
	return sign_file(report_path, key_path, NULL, t, st, err);
}

/* ---- verify ------------------------------------------------------------- */

/* The value after "name " on the payload line starting with it, or NULL. */
static const char *field(const char *payload, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = payload; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			const char *end = strchr(p + n + 1, '\n');
			size_t l = end ? (size_t)(end - (p + n + 1)) : strlen(p + n + 1);

			if (l >= len)
				return NULL;
			memcpy(buf, p + n + 1, l);
			buf[l] = '\0';
			return buf;
		}
	}
	return NULL;
}

static void add_what(struct report_verify_result *res, enum report_verify_status st,
		     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_what(struct report_verify_result *res, enum report_verify_status st,
		     const char *fmt, ...)
{
	size_t used = strlen(res->what);
	va_list ap;

	if (res->status == REPORT_VERIFY_OK)
		res->status = st;
	if (used && used + 2 < sizeof(res->what)) {
		strcat(res->what, "; ");
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(res->what + used, sizeof(res->what) - used, fmt, ap);
	va_end(ap);
}

/* Names the first changed block of lines, comparing with the signed block hashes. */
static void locate_change(const char *payload, const char *report, size_t len,
			  struct report_verify_result *res)
{
	char *now = NULL;
	size_t nlen = 0, changed = 0;
	FILE *f = open_memstream(&now, &nlen);
	const char *a, *b;
	char first[64] = "";

	if (!f)
		return;
	write_blocks(f, report, len);
	fclose(f);
	a = strstr(payload, "\nblock ");
	b = now;
	while (a && (a = strstr(a, "\nblock ")) != NULL) {
		a++;
		const char *ae = strchr(a, '\n');
		const char *be = b && *b ? strchr(b, '\n') : NULL;

		if (!ae)
			break;
		if (!be || (size_t)(ae - a) != (size_t)(be - b) || memcmp(a, b, (size_t)(ae - a)) != 0) {
			unsigned long lo = 0, hi = 0;

			if (!changed++ && sscanf(a, "block %lu %lu", &lo, &hi) == 2)
				snprintf(first, sizeof(first), "lines %lu-%lu", lo, hi);
		}
		a = ae;
		b = be ? be + 1 : NULL;
	}
	if (first[0])
		add_what(res, REPORT_VERIFY_REPORT_CHANGED,
			 "the report text changed: first in %s (%zu of the signed blocks of %d lines differ)",
			 first, changed, BLOCK_LINES);
	else
		add_what(res, REPORT_VERIFY_REPORT_CHANGED,
			 "the report text changed: text was appended after the signed end");
	free(now);
}

static int check_signature(const char *payload, size_t plen, const char *sig_line,
			   const char *pubkey_path, struct report_verify_result *res,
			   struct fd_error *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], given[crypto_sign_PUBLICKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	char b64[128];
	size_t n = 0;

	if (!field(payload, "public-key", b64, sizeof(b64)) ||
	    sodium_base642bin(pk, sizeof(pk), b64, strlen(b64), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(pk) ||
	    sodium_base642bin(sig, sizeof(sig), sig_line, strcspn(sig_line, "\n"), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(sig))
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "malformed signature file");
	rp_key_id(pk, res->key_id);
	if (pubkey_path) {
		int r = rp_read_key(pubkey_path, RP_PUBLIC_TAG, given, sizeof(given), err);

		if (r)
			return r;
		if (memcmp(given, pk, sizeof(pk)) != 0) {
			char want[17];

			rp_key_id(given, want);
			add_what(res, REPORT_VERIFY_WRONG_KEY,
				 "signed by key %s, not by the given public key %s", res->key_id, want);
			return 0;
		}
	}
	if (crypto_sign_verify_detached(sig, (const unsigned char *)payload, plen, pk) != 0)
		add_what(res, REPORT_VERIFY_BAD_SIGNATURE,
			 "signature mismatch: the signature file was altered after signing");
	return 0;
}

/*
 * The chain may have grown since signing, never shrunk; at the same length
 * its head must be the signed one.
 */
static void check_heads(const char *payload, struct store *st, struct report_verify_result *res)
{
	for (const char *p = strstr(payload, "\nchain-head "); p; p = strstr(p + 1, "\nchain-head ")) {
		char table[32], hash[65], now[65] = "";
		long long seq = 0;
		int64_t now_seq = 0;

		if (sscanf(p + 1, "chain-head %31s %lld %64s", table, &seq, hash) != 3 ||
		    store_chain_head(st, table, &now_seq, now, NULL) < 0)
			continue;
		if (now_seq < seq)
			add_what(res, REPORT_VERIFY_CHAIN_BROKEN,
				 "the %s chain is shorter than when the report was signed (%lld rows, "
				 "signed at %lld): rows were deleted or the database was replaced",
				 table, (long long)now_seq, seq);
		else if (now_seq == seq && strcmp(now[0] ? now : "-", hash) != 0)
			add_what(res, REPORT_VERIFY_CHAIN_BROKEN,
				 "the %s chain's head row %lld differs from the one signed", table, seq);
	}
}

/* One signed drill of a trend: its row, then its iterations' rows. */
static void check_trend_drill(struct store *st, long long id, const char *hash,
			      struct store_iteration **its, size_t *n,
			      struct report_verify_result *res)
{
	struct fd_error e = { 0 };
	struct store_drill d;

	free(*its);
	*its = NULL;
	*n = 0;
	if (store_get_drill(st, id, &d, &e) < 0) {
		add_what(res, REPORT_VERIFY_STORE_CHANGED, "drill %lld is not in the store: %s", id, e.msg);
		return;
	}
	if (strcmp(hash, "-") != 0 && strcmp(d.hash, hash) != 0)
		add_what(res, REPORT_VERIFY_STORE_CHANGED,
			 "drill %lld's row in the store differs from the one signed (hash %.12s..., signed %.12s...)",
			 id, d.hash, hash);
	if (store_list_iterations(st, id, its, n, &e) < 0)
		*n = 0;
}

static void check_trend_iteration(long long id, int num, const char *hash,
				  const struct store_iteration *its, size_t n,
				  struct report_verify_result *res)
{
	for (size_t i = 0; i < n; i++) {
		if (its[i].number != num)
			continue;
		if (strcmp(hash, "-") != 0 && strcmp(its[i].hash, hash) != 0)
			add_what(res, REPORT_VERIFY_STORE_CHANGED,
				 "iteration %d of drill %lld: its row in the store differs from the one signed",
				 num, id);
		return;
	}
	add_what(res, REPORT_VERIFY_STORE_CHANGED, "iteration %d of drill %lld is missing from the store",
		 num, id);
}

/* The drills and iterations a trend report covers, in the order signed
 * (each drill's iterations follow it). */
static void check_trend_rows(const char *payload, struct store *st,
			     struct report_verify_result *res)
{
	struct store_iteration *its = NULL;
	size_t n = 0;
	long long cur = 0;

	for (const char *p = strchr(payload, '\n'); p; p = strchr(p + 1, '\n')) {
		char hash[65];
		long long id = 0;
		int num = 0;

		if (sscanf(p + 1, "trend-drill %lld %64s", &id, hash) == 2) {
			check_trend_drill(st, id, hash, &its, &n, res);
			cur = id;
		} else if (sscanf(p + 1, "trend-iteration %lld %d %64s", &id, &num, hash) == 3) {
			if (id != cur) {
				check_trend_drill(st, id, "-", &its, &n, res);
				cur = id;
			}
			check_trend_iteration(id, num, hash, its, n, res);
		}
	}
	free(its);
}

/* For a trend report: what it covers, in words, and how many drills. */
static void describe_trend(const char *payload, struct report_verify_result *res)
{
	char sc[520] = "*", env[520] = "*", since[48] = "-", until[48] = "-";

	field(payload, "filter-scenario", sc, sizeof(sc));
	field(payload, "filter-environment", env, sizeof(env));
	field(payload, "filter-since", since, sizeof(since));
	field(payload, "filter-until", until, sizeof(until));
	res->trend = true;
	for (const char *p = strstr(payload, "\ntrend-drill "); p; p = strstr(p + 1, "\ntrend-drill "))
		res->n_drills++;
	snprintf(res->covers, sizeof(res->covers), "scenario %.180s, environment %.180s, since %s, until %s",
		 strcmp(sc, "*") ? sc : "any", strcmp(env, "*") ? env : "any",
		 strcmp(since, "-") ? since : "the first drill", strcmp(until, "-") ? until : "now");
}

static void check_store(const char *payload, struct store *st, struct report_verify_result *res)
{
	struct fd_error e = { 0 };
	struct store_drill d;
	struct store_iteration *its = NULL;
	size_t n = 0;
	char hash[65];
	long long id = 0;
	bool sealed = false;
	const char *p;

	if (store_verify_chain(st, &e) < 0)
		add_what(res, REPORT_VERIFY_CHAIN_BROKEN, "store hash chain broken: %s", e.msg);
	check_heads(payload, st, res);
	if (strstr(payload, "\nreport trend\n")) {
		check_trend_rows(payload, st, res);
		return;
	}
	p = strstr(payload, "\ndrill ");
	if (!p || sscanf(p + 1, "drill %lld %64s", &id, hash) != 2)
		return; /* a trend report binds no rows */
	res->drill_id = id;
	if (store_evidence_sealed(st, id, &sealed, &e) == 0)
		res->legacy_seal = !sealed;
	if (store_get_drill(st, id, &d, &e) < 0) {
		add_what(res, REPORT_VERIFY_STORE_CHANGED, "drill %lld is not in the store: %s", id, e.msg);
		return;
	}
	if (strcmp(d.hash, hash) != 0)
		add_what(res, REPORT_VERIFY_STORE_CHANGED,
			 "drill %lld's row in the store differs from the one signed (hash %.12s..., signed %.12s...)",
			 id, d.hash, hash);
	if (store_list_iterations(st, id, &its, &n, &e) < 0)
		return;
	for (p = strstr(payload, "\niteration "); p; p = strstr(p + 1, "\niteration ")) {
		int num = 0;
		bool found = false;

		if (sscanf(p + 1, "iteration %d %64s", &num, hash) != 2)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (its[i].number != num)
				continue;
			found = true;
			if (strcmp(its[i].hash, hash) != 0)
				add_what(res, REPORT_VERIFY_STORE_CHANGED,
					 "iteration %d of drill %lld: its row in the store differs from the one signed",
					 num, id);
		}
		if (!found)
			add_what(res, REPORT_VERIFY_STORE_CHANGED,
				 "iteration %d of drill %lld is missing from the store", num, id);
	}
	free(its);
}

int report_verify_file(const char *report_path, const char *pubkey_path, struct store *st,
		       struct report_verify_result *res, struct fd_error *err)
{
	char *report = NULL, *sigfile = NULL, *sig_path = NULL, *sig_line;
	size_t len = 0, slen = 0;
	char hex[65], want[80], bytes[32];
	int r;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "libsodium failed to initialise");
	if (asprintf(&sig_path, "%s.sig", report_path) < 0)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	r = read_all(report_path, &report, &len, err);
	if (r == 0)
		r = read_all(sig_path, &sigfile, &slen, err);
	if (r)
		goto cleanup;
	sig_line = strstr(sigfile, "\nsignature ");
	if (strncmp(sigfile, SIG_MAGIC, strlen(SIG_MAGIC)) != 0 || !sig_line) {
		r = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: not a firedrill signature file", sig_path);
		goto cleanup;
	}
	sig_line[1] = '\0'; /* the payload ends with the newline before "signature" */
	r = check_signature(sigfile, (size_t)(sig_line + 1 - sigfile), sig_line + 2 + strlen("signature"),
			    pubkey_path, res, err);
	/* A payload whose signature fails says nothing trustworthy: stop here. */
	if (r || res->status != REPORT_VERIFY_OK)
		goto cleanup;
	field(sigfile, "signed-at", res->signed_at, sizeof(res->signed_at));
	if (strstr(sigfile, "\nreport trend\n"))
		describe_trend(sigfile, res);
	hex_sha256(report, len, hex);
	if (!field(sigfile, "report-sha256", want, sizeof(want)) ||
	    !field(sigfile, "report-bytes", bytes, sizeof(bytes))) {
		r = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: malformed signature file", sig_path);
		goto cleanup;
	}
	if (strcmp(hex, want) != 0)
		locate_change(sigfile, report, len, res);
	if (st)
		check_store(sigfile, st, res);
cleanup:
	free(report);
	free(sigfile);
	free(sig_path);
	return r;
}

/* ---- drill seals ---------------------------------------------------------- */

static int seal_payload(struct store *st, int64_t drill_id, const unsigned char *pk,
			char **payload, size_t *plen, struct fd_error *err)
{
	char b64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	char when[40], id[17];
	struct store_iteration *its = NULL;
	struct store_drill d;
	size_t n = 0;
	FILE *f;
	int r = store_get_drill(st, drill_id, &d, err);

	if (!r && !d.hash[0])
		r = fd_error_set(err, FD_ERR_INTERNAL, -EBUSY,
				 "drill %lld is still running: there is nothing sealed to sign",
				 (long long)drill_id);
	if (!r)
		r = store_list_iterations(st, drill_id, &its, &n, err);
	if (r)
		return r;
	f = open_memstream(payload, plen);
	if (!f) {
		free(its);
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	}
	rp_key_id(pk, id);
	sodium_bin2base64(b64, sizeof(b64), pk, crypto_sign_PUBLICKEYBYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	fprintf(f, SIG_MAGIC "seal drill %lld\ndrill %lld %s\n", (long long)drill_id,
		(long long)drill_id, d.hash);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "iteration %d %s\n", its[i].number, its[i].hash[0] ? its[i].hash : "-");
	write_heads(f, st);
	fprintf(f, "signed-at %s\nkey-id %s\npublic-key %s\n",
		fd_time_format_utc(fd_real_ns(), when, sizeof(when)), id, b64);
	free(its);
	return fclose(f) == 0 ? 0 : fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
}

int report_seal_drill(const char *seal_path, const char *key_path, struct store *st,
		      int64_t drill_id, struct fd_error *err)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char *payload = NULL;
	size_t plen = 0;
	int r;

	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "libsodium failed to initialise");
	r = rp_read_key(key_path, RP_SECRET_TAG, sk, sizeof(sk), err);
	/* The public key is the second half of a libsodium Ed25519 secret key. */
	if (!r)
		r = seal_payload(st, drill_id, sk + 32, &payload, &plen, err);
	if (!r)
		r = write_signed(seal_path, payload, plen, sk, err);
	sodium_memzero(sk, sizeof(sk));
	free(payload);
	return r;
}

/* The report must show the sealed drill's row hash: it was made from the sealed rows. */
static int check_sealed_report(const char *payload, const char *report_path,
			       struct report_verify_result *res, struct fd_error *err)
{
	char *report = NULL, hash[65] = "";
	size_t len = 0;
	long long id = 0;
	const char *p = strstr(payload, "\ndrill ");
	int r;

	if (!p || sscanf(p + 1, "drill %lld %64s", &id, hash) != 2)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "malformed seal: no drill line");
	r = read_all(report_path, &report, &len, err);
	if (r)
		return r;
	if (!memmem(report, len, hash, strlen(hash)))
		add_what(res, REPORT_VERIFY_REPORT_CHANGED,
			 "%s does not show the sealed row hash of drill %lld (%.12s...): it was not "
			 "made from the sealed drill", report_path, id, hash);
	free(report);
	return 0;
}

int report_verify_seal(const char *seal_path, const char *report_path, const char *pubkey_path,
		       struct store *st, struct report_verify_result *res, struct fd_error *err)
{
	char *seal = NULL, *sig_line;
	size_t slen = 0;
	int r;

	memset(res, 0, sizeof(*res));
	if (sodium_init() < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "libsodium failed to initialise");
	r = read_all(seal_path, &seal, &slen, err);
	if (r)
		return r;
	sig_line = strstr(seal, "\nsignature ");
	if (strncmp(seal, SIG_MAGIC "seal drill ", strlen(SIG_MAGIC "seal drill ")) != 0 || !sig_line) {
		r = fd_error_set(err, FD_ERR_INPUT, -EINVAL, "%s: not a firedrill drill seal", seal_path);
		goto cleanup;
	}
	sig_line[1] = '\0';
	r = check_signature(seal, (size_t)(sig_line + 1 - seal), sig_line + 2 + strlen("signature"),
			    pubkey_path, res, err);
	if (r || res->status != REPORT_VERIFY_OK)
		goto cleanup;
	field(seal, "signed-at", res->signed_at, sizeof(res->signed_at));
	res->drill_id = strtoll(seal + strlen(SIG_MAGIC "seal drill "), NULL, 10);
	if (st)
		check_store(seal, st, res);
	if (report_path)
		r = check_sealed_report(seal, report_path, res, err);
cleanup:
	free(seal);
	return r;
}
