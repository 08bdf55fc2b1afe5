/*
 * pcap probes: libpcap, non-blocking, immediate mode, on the interface of
 * the current network namespace, with the scenario's BPF filter. A matching
 * packet is an event stamped with its own capture time (CLOCK_REALTIME in
 * the kernel) converted to CLOCK_MONOTONIC with the offset between the two
 * clocks read when the packets are handed over. To keep the sample stream
 * bounded, the first matching packet of each probe interval becomes a sample;
 * every packet is counted (scorer_probe_count).
 *
 * A probe with a place of its own opens its handle inside that namespace:
 * the packet socket pcap_activate makes binds to that namespace's
 * interface and stays there. A place that cannot be entered gives one
 * failing sample at start, with the reason, and no capture.
 */
#include "scorer_int.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "fd_time.h"

struct pcapp {
	struct watch_ev ev;
	struct scorer *sc;
	struct probe_rt *pr;
	pcap_t *p;
	bool nano;
	int64_t offset_ns;   /* realtime - monotonic for this batch */
	int64_t start_ns;
	int64_t next_emit_ns;
	int64_t unreported;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcapp *pp = (struct pcapp *)user;
	int64_t real = (int64_t)h->ts.tv_sec * FD_NS_PER_S +
		       (int64_t)h->ts.tv_usec * (pp->nano ? 1 : 1000);
	int64_t mono = real - pp->offset_ns;
	bool in_window = mono >= pp->pr->win_from_ns && mono < pp->pr->win_to_ns;
	char detail[96];

	(void)bytes;
	if (!pp->sc->running || mono < pp->start_ns)
		return;
	pp->pr->count++;
	if (in_window)
		pp->pr->win_count++;
	pp->unreported++;
	if (mono < pp->next_emit_ns)
		return;
	snprintf(detail, sizeof(detail), "packet of %u bytes; %lld matched since last sample",
		 h->len, (long long)pp->unreported);
	pp->unreported = 0;
	pp->next_emit_ns = mono + pp->pr->p->interval_ns;
	/*
	 * An evidence probe (expect: none) fails on a match inside its window
	 * (the faults applied); outside it a match only shows the capture works.
	 */
	scorer_probe_emit(pp->sc, pp->pr, mono, !(pp->pr->p->pcap.expect_none && in_window), 0, detail);
}

static void pcap_event(struct scorer *sc, struct watch_ev *ev, uint32_t events)
{
	struct pcapp *pp = (struct pcapp *)ev;
	int i;

	(void)sc;
	(void)events;
	pp->offset_ns = fd_real_ns() - fd_mono_ns();
	for (i = 0; i < 64; i++)
		if (pcap_dispatch(pp->p, -1, on_packet, (u_char *)pp) <= 0)
			break;
}

static int activate_error(struct pcapp *pp, int rc, const char *ifc, struct fd_error *err)
{
	const char *why = pcap_geterr(pp->p);

	if (rc == PCAP_ERROR_PERM_DENIED)
		return fd_error_set(err, FD_ERR_ENV, -EPERM,
				    "pcap on '%s': permission denied (capture needs root or "
				    "CAP_NET_RAW): %s", ifc, why);
	if (rc == PCAP_ERROR_NO_SUCH_DEVICE)
		return fd_error_set(err, FD_ERR_ENV, -ENODEV,
				    "pcap on '%s': no such interface here: %s", ifc, why);
	return fd_error_set(err, FD_ERR_ENV, -EIO, "pcap on '%s': %s: %s", ifc,
			    pcap_statustostr(rc), why);
}

/* pcap_create and pcap_activate inside the probe's place, where it has one. */
static int pcap_make(struct pcapp *pp, const char *ifc, char *ebuf, struct fd_error *err)
{
	int home, rc = scorer_place_enter(pp->pr->place, &home);

	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, rc, "pcap on '%s': entering netns %s: %s", ifc,
				    pp->pr->place->path, strerror(-rc));
	pp->p = pcap_create(ifc, ebuf);
	if (!pp->p) {
		scorer_place_leave(home);
		return fd_error_set(err, FD_ERR_ENV, -EIO, "pcap on '%s': %s", ifc, ebuf);
	}
	pcap_set_snaplen(pp->p, 256);
	pcap_set_immediate_mode(pp->p, 1);
	pp->nano = pcap_set_tstamp_precision(pp->p, PCAP_TSTAMP_PRECISION_NANO) == 0;
	rc = pcap_activate(pp->p);
	scorer_place_leave(home);
	return rc < 0 ? activate_error(pp, rc, ifc, err) : 0;
}

int scorer_pcap_open(struct scorer *sc, struct probe_rt *pr, struct fd_error *err)
{
	const char *ifc = pr->p->pcap.interface;
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct bpf_program prog;
	struct pcapp *pp = calloc(1, sizeof(*pp));
	int rc;

	if (!pp)
		return fd_error_set(err, FD_ERR_INTERNAL, -ENOMEM, "out of memory");
	pp->sc = sc;
	pp->pr = pr;
	pp->ev.fd = -1;
	pp->ev.fn = pcap_event;
	pr->impl = pp;
	if (pr->place && pr->place->fd < 0)
		return 0; /* no capture: scorer_pcap_start says why */
	rc = pcap_make(pp, ifc, ebuf, err);
	if (rc < 0)
		return rc;
	pp->nano = pcap_get_tstamp_precision(pp->p) == PCAP_TSTAMP_PRECISION_NANO;
	if (pcap_compile(pp->p, &prog, pr->p->pcap.filter ? pr->p->pcap.filter : "", 1,
			 PCAP_NETMASK_UNKNOWN) < 0)
		return fd_error_set(err, FD_ERR_INPUT, -EINVAL, "pcap filter '%s': %s",
				    pr->p->pcap.filter, pcap_geterr(pp->p));
	rc = pcap_setfilter(pp->p, &prog);
	pcap_freecode(&prog);
	if (rc < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "pcap on '%s': setfilter: %s", ifc,
				    pcap_geterr(pp->p));
	if (pcap_setnonblock(pp->p, 1, ebuf) < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "pcap on '%s': %s", ifc, ebuf);
	pp->ev.fd = pcap_get_selectable_fd(pp->p);
	if (pp->ev.fd < 0 || scorer_loop_add(sc, &pp->ev, EPOLLIN) < 0)
		return fd_error_set(err, FD_ERR_ENV, -EIO, "pcap on '%s': no selectable fd", ifc);
	return 0;
}

void scorer_pcap_start(struct scorer *sc, struct probe_rt *pr)
{
	struct pcapp *pp = pr->impl;

	pp->start_ns = fd_mono_ns();
	pp->next_emit_ns = pp->start_ns;
	pp->unreported = 0;
	pr->count = 0;
	if (!pp->p && pr->place)
		scorer_probe_emit(sc, pr, pp->start_ns, false, 0, pr->place->why);
}

void scorer_pcap_close(struct scorer *sc, struct probe_rt *pr)
{
	struct pcapp *pp = pr->impl;

	if (!pp)
		return;
	if (pp->ev.fd >= 0)
		scorer_loop_del(sc, &pp->ev);
	if (pp->p)
		pcap_close(pp->p);
	free(pp);
	pr->impl = NULL;
}
