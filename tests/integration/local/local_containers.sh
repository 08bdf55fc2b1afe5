# The drill cases test_podman.sh and test_docker.sh share (sourced after
# local_lib.sh): drop, kill and pause of the api container, against a real
# engine. Each names what differs: ENGINE (podman, docker; the scenarios'
# name prefix), SCOPE (the scenario's scope line, "{ container: X }" or
# "{ container: X, engine: docker }").
#
# The caller sets fd (firedrill), tmp, bb (busybox), img, api, dbip and
# opid (its cleanup kills it; api_pid, the api's pid before the drills, is
# set by containers_api_reaches_db), and defines:
#   pid_of NAME            the container's main pid
#   api_rules_empty LABEL  one check: no nft rules left in the api's namespace
#   api_answers            0 when the api answers on 127.0.0.1:8080 in its namespace
# and may redefine the hooks below (run in the same shell, each adding its
# own checks):
#   drop_more              after the drop case's journal check
#   kill_more              before the kill case's last check: sets more_ok
#                          (0 when fine) and more (said after its message)
#   pause_more             with cg set to the api's v1 freezer cgroup (may change it)

# api_pid set; 77 unless the api container reaches the db's :8080 within 5 s
containers_api_reaches_db() {
	api_pid=$(pid_of "$api")
	ok=
	for _ in $(seq 50); do
		timeout 2 nsenter -t "$api_pid" -n "$bb" wget -q -O /dev/null "http://$dbip:8080/" 2>/dev/null && { ok=1; break; }
		sleep 0.1
	done
	[ -n "$ok" ] || { echo "skipped: the api container cannot reach the db container at $dbip:8080"; exit 77; }
}

# Runs $tmp/LABEL.yaml into $tmp/LABEL.db (--json to $tmp/LABEL.json), two
# checks: exit 0, N iterations all recovered.
containers_run() { # LABEL N
	"$fd" --db "$tmp/$1.db" --json run "$tmp/$1.yaml" >"$tmp/$1.json" 2>"$tmp/$1.err"
	rc=$?
	check
	[ $rc -eq 0 ] || bad "$1: exit $rc: $(cat "$tmp/$1.err")"
	check
	local_recovered "$1" "$2" "$tmp/$1.json" || bad "$1: not $2 recovered iterations"
}

drop_more() { :; }
kill_more() { more_ok=0 more=; }
pause_more() { :; }

# 1. drop: the api's egress to the db (PORTS, e.g. "8080, 8081") dropped,
# probed from inside the api: 3 iterations, each a probe-down, a container
# event ("ENGINE NAME: id ..., pid ..., image ...") and a journal row in the
# api's namespace, recovered; its ruleset empty after.
containers_drop() { # ENGINE SCOPE PORTS
	cat >"$tmp/drop.yaml" <<YAML
name: $1-api-cut-from-db
scope: $2
probes:
  - id: db
    interval: 200ms
    timeout: 1500ms
    command: { run: "$bb wget -q -O /dev/null http://$dbip:8080/" }
faults:
  - id: cut
    kind: drop
    duration: 2s
    targets: { cidrs: [$dbip/32], ports: [$3], protocol: tcp }
steady-state: { probes: [db] }
recovery: { all: [db], timeout: 20s }
iterations: 3
YAML
	check
	"$fd" validate "$tmp/drop.yaml" >/dev/null 2>"$tmp/v.err" || bad "validate drop: $(cat "$tmp/v.err")"
	containers_run drop 3
	check
	n=$(sqlite3 "$tmp/drop.db" "select count(distinct iteration_id) from events where kind = 'probe-down'")
	[ "$n" -eq 3 ] || bad "drop: probe-down in $n iterations, want 3 (the drop was not in effect)"
	check
	n=$(sqlite3 "$tmp/drop.db" "select count(*) from events where kind = 'container' and detail like '$1 $api: id %, pid $api_pid, image $img'")
	[ "$n" -eq 3 ] || bad "drop: $n container events, want 3: $(sqlite3 "$tmp/drop.db" "select detail from events where kind = 'container'")"
	check
	n=$(sqlite3 "$tmp/drop.db" "select count(*) from faults where state = 'reverted' and netns = '/proc/$api_pid/ns/net'")
	[ "$n" -eq 3 ] || bad "drop: $n reverted journal rows in the api's namespace, want 3: $(sqlite3 "$tmp/drop.db" "select netns, state from faults")"
	drop_more
	api_rules_empty drop
}

# 2. kill: SIGKILL of '^/bin/httpd\x00-f\x00-p\x00' in the api container
# (--restart=always; as pid 1 of its pid namespace it takes no TERM from
# us), 3 iterations: the engine restarts it, every later iteration finds a
# new pid (a container event matching RESTARTED-LIKE "% (a new pid:
# restarted)"), each fault matched one process, recovered. A twin httpd
# with the same command line (port 8081), started from the host in the
# api's namespace (that of NSPID), in its own session but not in the
# container's cgroup, is still alive at the end: the netns filter cannot
# tell it apart, only the container's cgroup does.
containers_kill() { # ENGINE SCOPE RESTARTED-LIKE NSPID
	command -v bash >/dev/null && command -v setsid >/dev/null && command -v pgrep >/dev/null ||
		{ echo "FAIL: cannot start the host's httpd (bash, setsid, pgrep)"; exit 1; }
	nsenter -t "$4" -n setsid bash -c "exec -a /bin/httpd $bb -f -p 8081 -h $tmp/root/www" \
		</dev/null >/dev/null 2>&1 &
	sleep 0.5
	opid=$(pgrep -f -x "/bin/httpd -f -p 8081 -h $tmp/root/www" | head -n1)
	ostart=$(cut -d' ' -f22 "/proc/$opid/stat" 2>/dev/null)
	check
	tr '\0' ' ' <"/proc/$opid/cmdline" | grep -q "^/bin/httpd -f -p 8081 " ||
		bad "kill: the host's httpd twin is not running: $(tr '\0' ' ' <"/proc/$opid/cmdline" 2>&1)"
	cat >"$tmp/kill.yaml" <<YAML
name: $1-kill-api
scope: $2
probes:
  - { id: api, interval: 200ms, timeout: 1s, http: { url: "http://127.0.0.1:8080/" } }
faults:
  - id: crash
    kind: kill
    signal: KILL
    duration: 10s
    process: { match: '^/bin/httpd\x00-f\x00-p\x00' }
steady-state: { probes: [api] }
recovery: { all: [api], timeout: 30s }
iterations: 3
YAML
	p0=$(pid_of "$api")
	containers_run kill 3
	check
	n=$(sqlite3 "$tmp/kill.db" "select count(*) from events where kind = 'container' and detail like '$3'")
	[ "$n" -eq 2 ] || bad "kill: $n iterations found the container restarted, want 2: $(sqlite3 "$tmp/kill.db" "select detail from events where kind = 'container'")"
	check
	n=$(sqlite3 "$tmp/kill.db" "select count(distinct json_extract(spec, '\$.procs[0].pid')) from faults where state = 'reverted'")
	[ "$n" -eq 3 ] || bad "kill: $n distinct pids killed, want 3: $(sqlite3 "$tmp/kill.db" "select spec from faults")"
	check
	n=$(sqlite3 "$tmp/kill.db" "select count(*) from faults where json_array_length(json_extract(spec, '\$.procs')) != 1")
	[ "$n" -eq 0 ] || bad "kill: a fault matched more than the container's httpd: $(sqlite3 "$tmp/kill.db" "select spec from faults")"
	check
	[ "$(cut -d' ' -f22 "/proc/$opid/stat" 2>/dev/null)" = "$ostart" ] ||
		bad "kill: the host's httpd (pid $opid, same command line, outside the container) was killed"
	check
	p3=$(pid_of "$api")
	kill_more
	[ -n "$p3" ] && [ "$p3" != "$p0" ] && [ "$p3" -gt 0 ] && [ "$more_ok" -eq 0 ] ||
		bad "kill: the api container is not running again (pid $p3, was $p0)$more"
	api_rules_empty kill
	kill "$opid" 2>/dev/null
	opid=
}

# 3. pause: the api container's cgroup frozen (the v1 freezer here,
# cgroup.freeze on v2), probes fail, the revert thaws it: 2 iterations
# recovered, the journal rows naming its cgroup, THAWED after, the api
# answering.
containers_pause() { # ENGINE SCOPE
	cat >"$tmp/pause.yaml" <<YAML
name: $1-pause-api
scope: $2
probes:
  - { id: api, interval: 200ms, timeout: 500ms, http: { url: "http://127.0.0.1:8080/" } }
faults:
  - id: freeze-api
    kind: pause
    duration: 2s
steady-state: { probes: [api] }
recovery: { all: [api], timeout: 20s }
iterations: 2
YAML
	check
	"$fd" validate "$tmp/pause.yaml" >/dev/null 2>"$tmp/v.err" || bad "validate pause: $(cat "$tmp/v.err")"
	containers_run pause 2
	check
	n=$(sqlite3 "$tmp/pause.db" "select count(distinct iteration_id) from events where kind = 'probe-down'")
	[ "$n" -eq 2 ] || bad "pause: probe-down in $n iterations, want 2 (the container was not frozen)"
	cg=$(sed -n 's/^[0-9]*:freezer://p' "/proc/$(pid_of "$api")/cgroup")
	pause_more
	check
	n=$(sqlite3 "$tmp/pause.db" "select count(*) from faults where kind = 'pause' and state = 'reverted' and spec like '%$cg%'")
	[ "$n" -eq 2 ] || bad "pause: $n reverted journal rows naming the container's cgroup $cg, want 2: $(sqlite3 "$tmp/pause.db" "select kind, state, spec from faults")"
	check
	if [ -e "/sys/fs/cgroup/freezer$cg/freezer.state" ]; then
		st=$(cat "/sys/fs/cgroup/freezer$cg/freezer.state")
		[ "$st" = THAWED ] || bad "pause: the container's freezer.state is $st after the drill"
	elif [ -e "/sys/fs/cgroup$cg/cgroup.freeze" ]; then
		[ "$(cat "/sys/fs/cgroup$cg/cgroup.freeze")" = 0 ] || bad "pause: the container's cgroup.freeze is not 0"
	else
		bad "pause: no freezer found for the container's cgroup $cg"
	fi
	check
	api_answers || bad "pause: the api does not answer after the drill"
}
