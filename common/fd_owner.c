#include "fd_owner.h"

#include <stdio.h>
#include <string.h>

const char *fd_flow_owner_why(const struct fd_flow_owner *o)
{
	return o->why[0] ? o->why : "not looked up";
}

const char *fd_flow_owner_container(const struct fd_flow_owner *o, char *buf, size_t len)
{
	if (o->container_name[0])
		snprintf(buf, len, "%s", o->container_name);
	else
		snprintf(buf, len, "%.*s", FD_OWNER_ID_SHOWN, o->container);
	return buf;
}

/* Appends ", PART" (or PART when buf is empty) to buf. */
static void join(char *buf, size_t len, const char *part)
{
	size_t at = strlen(buf);

	if (part[0] && at < len)
		snprintf(buf + at, len - at, "%s%s", at ? ", " : "", part);
}

char *fd_flow_owner_format(const struct fd_flow_owner *o, char *buf, size_t len)
{
	char uid[24] = "", more[32] = "", ct[140], box[160] = "", what[240] = "";

	if (o->has_uid)
		snprintf(uid, sizeof(uid), "uid %u", (unsigned)o->uid);
	if (!o->pid) {
		snprintf(buf, len, "unknown: %s%s%s%s", fd_flow_owner_why(o),
			 uid[0] ? " (" : "", uid, uid[0] ? ")" : "");
		return buf;
	}
	if (o->holders > 1)
		snprintf(more, sizeof(more), " and %d more", o->holders - 1);
	if (fd_flow_owner_container(o, ct, sizeof(ct))[0])
		snprintf(box, sizeof(box), "container %s", ct);
	join(what, sizeof(what), o->comm);
	join(what, sizeof(what), uid);
	join(what, sizeof(what), box);
	snprintf(buf, len, "pid %d%s%s%s%s", (int)o->pid, more, what[0] ? " (" : "", what,
		 what[0] ? ")" : "");
	return buf;
}
