/*
 * One webhook POST with libcurl, as the notifier's workers (drill_notify.c)
 * and the relay of a sandboxed drill (drill_relay.c) send it: a JSON body,
 * X-Firedrill-Event, X-Firedrill-Signature when signed, http and https
 * only, no redirects followed, a timeout, and a callback that may give up.
 */
#include <curl/curl.h>

#include "drill_internal.h"
#include "fd_config.h"

static size_t discard(char *p, size_t size, size_t nmemb, void *user)
{
	(void)p;
	(void)user;
	return size * nmemb;
}

static int xfer_abort(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const struct notify_post *p = user;

	(void)dt, (void)dn, (void)ut, (void)un;
	return p->abort && p->abort(p->abort_user) ? 1 : 0;
}

int notify_http_post(void *curl, const struct notify_post *p, long *status)
{
	struct curl_slist *hdr = NULL;
	char sig[128], ev[96];
	CURL *c = curl;
	CURLcode rc;

	*status = 0;
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	drill_textf(ev, sizeof(ev), "X-Firedrill-Event: %s", p->event);
	hdr = curl_slist_append(hdr, ev);
	if (p->signature) {
		drill_textf(sig, sizeof(sig), "X-Firedrill-Signature: %s", p->signature);
		hdr = curl_slist_append(hdr, sig);
	}
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, p->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, p->body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "firedrill/" FD_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_abort);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, p);
	rc = curl_easy_perform(c);
	curl_slist_free_all(hdr);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return (int)rc;
}
