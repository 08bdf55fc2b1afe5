/*
 * signoff.c: approvers sign off a drill's evidence. A sign-off is a
 * statement, signed with the approver's Ed25519 key (firedrill keygen) and
 * kept in the record book:
 *
 *   firedrill-signoff-v1
 *   drill=ID
 *   drill_hash=HASH        the drill's sealed row hash: covers its evidence
 *   records_seq=N          the record book's head when signing: the
 *   records_hash=HASH      findings, actions and notes the approver saw
 *   name=NAME
 *   role=ROLE
 *   signed_at=UTC
 *
 * Checking one recomputes nothing it cannot see: the signature over the
 * stored statement, the key id, the statement against its row, the drill's
 * row hash now, and the record book entry the statement names. What the
 * drill's hash covers is the chain's to verify (store_verify_chain).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fd_time.h"
#include "report.h"
#include "report_priv.h"

#define STATEMENT_TAG "firedrill-signoff-v1\n"

static int statement(struct store *st, const struct store_drill *d, const char *name,
		     const char *role, int64_t when, char *out, size_t len, struct fd_error *err)
{
	char head[65], utc[40];
	int64_t seq = 0;
	int rc = store_chain_head(st, "records", &seq, head, err);

	if (rc)
		return rc;
	fd_time_format_utc(when, utc, sizeof(utc));
	rc = snprintf(out, len,
		      STATEMENT_TAG "drill=%lld\ndrill_hash=%s\nrecords_seq=%lld\nrecords_hash=%s\n"
				    "name=%s\nrole=%s\nsigned_at=%s\n",
		      (long long)d->id, d->hash, (long long)seq, head, name, role, utc);
	if (rc < 0 || (size_t)rc >= len)
		return fd_error_set(err, FD_ERR_INPUT, -E2BIG, "sign-off: the name or role is too long");
	return 0;
}

static int check_who(const char *name, const char *role, struct fd_error *err)
{
	if (!name || !*name || strpbrk(name, "\n\r") || strlen(name) >= 128)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "sign-off: --name needs a name (one line, under 128 bytes)");
	if (!role || !*role || strpbrk(role, "\n\r") || strlen(role) >= 64)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL,
				    "sign-off: --role needs a role (one line, under 64 bytes)");
	return 0;
}

int report_signoff(struct store *st, int64_t drill_id, const char *name, const char *role,
		   const char *key_path, struct store_record *out, struct fd_error *err)
{
	unsigned char sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sig[crypto_sign_BYTES];
	struct store_drill d;
	int rc = check_who(name, role, err);

	memset(out, 0, sizeof(*out));
	if (!rc)
		rc = store_get_drill(st, drill_id, &d, err);
	if (!rc && !d.hash[0])
		rc = fd_error_set(err, FD_ERR_INPUT, -EBUSY,
				  "drill %lld is still running: sign off its evidence once it has ended",
				  (long long)drill_id);
	if (!rc)
		rc = rp_read_key(key_path, RP_SECRET_TAG, sk, sizeof(sk), err);
	if (rc)
		return rc;
	out->drill_id = drill_id;
	out->kind = STORE_RECORD_SIGNOFF;
	out->created_real_ns = fd_real_ns();
	snprintf(out->author, sizeof(out->author), "%s", name);
	snprintf(out->author_role, sizeof(out->author_role), "%s", role);
	rc = statement(st, &d, name, role, out->created_real_ns, out->text, sizeof(out->text), err);
	if (!rc) {
		crypto_sign_ed25519_sk_to_pk(pk, sk);
		crypto_sign_detached(sig, NULL, (const unsigned char *)out->text, strlen(out->text), sk);
		rp_key_id(pk, out->key_id);
		sodium_bin2base64(out->public_key, sizeof(out->public_key), pk, sizeof(pk),
				  sodium_base64_VARIANT_ORIGINAL);
		sodium_bin2base64(out->signature, sizeof(out->signature), sig, sizeof(sig),
				  sodium_base64_VARIANT_ORIGINAL);
		rc = store_add_record(st, out, err);
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* ---- checking ------------------------------------------------------------ */

/* The value of "NAME=" in a statement into buf ("" when absent). */
static const char *stmt_field(const char *text, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name);

	buf[0] = '\0';
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			snprintf(buf, len, "%.*s", (int)strcspn(p + nlen + 1, "\n"), p + nlen + 1);
			break;
		}
	return buf;
}

static void add_what(struct report_signoff_check *c, const char *what)
{
	size_t used = strlen(c->what);

	c->ok = false;
	snprintf(c->what + used, sizeof(c->what) - used, "%s%s", used ? "; " : "", what);
}

/* The signature, its key, and the statement against its own row. */
static void check_signature(struct report_signoff_check *c, const unsigned char *want_pk)
{
	const struct store_record *r = &c->rec;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
	char buf[160], id[17];
	size_t n = 0, m = 0;

	if (sodium_base642bin(pk, sizeof(pk), r->public_key, strlen(r->public_key), NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || n != sizeof(pk) ||
	    sodium_base642bin(sig, sizeof(sig), r->signature, strlen(r->signature), NULL, &m, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || m != sizeof(sig)) {
		add_what(c, "malformed public key or signature");
		return;
	}
	rp_key_id(pk, id);
	if (strcmp(id, r->key_id) != 0)
		add_what(c, "the key id does not match the public key");
	if (crypto_sign_verify_detached(sig, (const unsigned char *)r->text, strlen(r->text), pk) != 0)
		add_what(c, "the signature does not match the statement (altered after signing)");
	if (want_pk && memcmp(want_pk, pk, sizeof(pk)) != 0) {
		c->key_match = false;
		add_what(c, "not signed by the given public key");
	}
	if (strcmp(stmt_field(r->text, "name", buf, sizeof(buf)), r->author) != 0 ||
	    strcmp(stmt_field(r->text, "role", buf, sizeof(buf)), r->author_role) != 0)
		add_what(c, "its name or role differs from the signed statement");
	if (strtoll(stmt_field(r->text, "drill", buf, sizeof(buf)), NULL, 10) != r->drill_id)
		add_what(c, "signed for another drill");
}

/* The drill's row and the record book entry the statement names, as they are now. */
static void check_store(struct report_signoff_check *c, const struct store_drill *d,
			const struct store_record *book, size_t n_book)
{
	char buf[80];
	bool found = false;

	c->records_seq = strtoll(stmt_field(c->rec.text, "records_seq", buf, sizeof(buf)), NULL, 10);
	if (strcmp(stmt_field(c->rec.text, "drill_hash", buf, sizeof(buf)), d->hash) != 0)
		add_what(c, "the drill's sealed row changed since sign-off");
	if (c->records_seq == 0)
		return;
	stmt_field(c->rec.text, "records_hash", buf, sizeof(buf));
	for (size_t i = 0; i < n_book && !found; i++)
		if (book[i].chain_seq == c->records_seq) {
			found = true;
			if (strcmp(book[i].hash, buf) != 0)
				add_what(c, "the record book before the sign-off was changed");
		}
	if (!found)
		add_what(c, "record book entries before the sign-off were removed");
}

static int check_all(struct store *st, const struct store_record *book, size_t n_book,
		     int64_t drill_id, const unsigned char *want_pk,
		     struct report_signoff_check *out, size_t *n, struct fd_error *err)
{
	struct store_drill d = { 0 };
	int rc = 0;

	*n = 0;
	for (size_t i = 0; !rc && i < n_book; i++) {
		struct report_signoff_check *c = &out[*n];

		if (book[i].kind != STORE_RECORD_SIGNOFF || (drill_id && book[i].drill_id != drill_id))
			continue;
		*c = (struct report_signoff_check){ .rec = book[i], .ok = true, .key_match = true };
		if (d.id != book[i].drill_id)
			rc = store_get_drill(st, book[i].drill_id, &d, err);
		if (rc)
			break;
		check_signature(c, want_pk);
		check_store(c, &d, book, n_book);
		(*n)++;
	}
	return rc;
}

int report_signoffs_check(struct store *st, int64_t drill_id, const char *pubkey_path,
			  struct report_signoff_check **out, size_t *n, struct fd_error *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	struct store_record *book = NULL;
	size_t n_book = 0;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (pubkey_path)
		rc = rp_read_key(pubkey_path, RP_PUBLIC_TAG, pk, sizeof(pk), err);
	if (!rc)
		rc = store_list_records(st, 0, &book, &n_book, err);
	if (rc)
		return rc;
	*out = calloc(n_book ? n_book : 1, sizeof(**out));
	if (!*out)
		rc = fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	if (!rc)
		rc = check_all(st, book, n_book, drill_id, pubkey_path ? pk : NULL, *out, n, err);
	if (rc) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	free(book);
	return rc;
}
