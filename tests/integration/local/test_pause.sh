#!/bin/sh
# kind: pause without podman (docs/local.md): a stand-in `podman` on PATH
# answers `podman inspect fdt-pause` with the pid of python3's http.server,
# run in a network namespace the test makes (fdt-pause-PID) and moved into a
# cgroup the test makes. Run once per cgroup version the host has:
#  v1: the freezer cgroup /sys/fs/cgroup/freezer/fdt-pause-PID
#      (freezer.state FROZEN / THAWED);
#  v2: a child fdt-pause-PID of the cgroup2 mount (/sys/fs/cgroup/unified on
#      a hybrid host), the server left in the v1 freezer's root, so that the
#      driver takes cgroup.freeze (cgroup.events "frozen 1" / "frozen 0").
# In each:
#  1. a drill, 2 iterations of a 2 s pause: recovered, a probe-down in each
#     iteration, the journal rows name the cgroup and its version, reverted;
#  2. `firedrill run` of a 60 s pause SIGKILLed once the row is applied and
#     the cgroup frozen: the guardian thaws it (within 5 s, measured), the
#     row ends reverted, the server answers;
#  3. the same with the guardian SIGKILLed too: still frozen a second later;
#     `firedrill revert` thaws it, the row reverted, the server answers.
# After each: the cgroup thawed and no journal row active. The cgroups, the
# namespace and the server are removed at the end. Root (77 otherwise).
# usage: test_pause.sh FIREDRILL
set -u
fd=$(realpath "$1")
. "$(dirname "$0")/local_lib.sh"
local_need_root ip python3 sqlite3
v1mp=$(awk '$3 == "cgroup" && $4 ~ /(^|,)freezer(,|$)/ { print $2; exit }' /proc/self/mounts)
v2mp=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
tmp=$(mktemp -d)
ns=fdt-pause-$$
cg_v1=${v1mp:+$v1mp/fdt-pause-$$}
cg_v2=${v2mp:+$v2mp/fdt-pause-$$}
spid=
fdpid=
gpid=
port=18090
stop_server() {
	[ -n "$spid" ] || return 0
	thaw_all
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
}
thaw_all() {
	[ -n "$cg_v1" ] && [ -d "$cg_v1" ] && echo THAWED >"$cg_v1/freezer.state" 2>/dev/null
	[ -n "$cg_v2" ] && [ -d "$cg_v2" ] && echo 0 >"$cg_v2/cgroup.freeze" 2>/dev/null
	return 0
}
cleanup() {
	[ -n "$fdpid" ] && kill -KILL "$fdpid" 2>/dev/null
	[ -n "$gpid" ] && kill -KILL "$gpid" 2>/dev/null
	stop_server
	sleep 0.2
	for c in "$cg_v1" "$cg_v2"; do
		[ -n "$c" ] && [ -d "$c" ] && rmdir "$c"
	done
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
q() { sqlite3 -cmd ".timeout 5000" "$@"; }

ip netns add "$ns" || { echo "cannot make namespace $ns"; exit 1; }
ip -n "$ns" link set lo up
mkdir "$tmp/www" "$tmp/bin" && echo ok >"$tmp/www/index.html"
export FIREDRILL_RUN_DIR=$tmp/run
local_stand_in_podman "$tmp/bin" fdt-pause="$tmp/server.pid"

answers() { # the server answers within 1 s
	ip netns exec "$ns" python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null
}
frozen() { # VERSION CGROUP: 0 when the kernel says frozen
	if [ "$1" = v1 ]; then
		grep -qx FROZEN "$2/freezer.state"
	else
		grep -qx "frozen 1" "$2/cgroup.events"
	fi
}
thawed() { # VERSION CGROUP: 0 when the kernel says thawed (not FREEZING either)
	if [ "$1" = v1 ]; then
		grep -qx THAWED "$2/freezer.state"
	else
		grep -qx "frozen 0" "$2/cgroup.events"
	fi
}
wait_for() { # TENTHS COMMAND...: 0 once COMMAND succeeds within TENTHS tenths of a second
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	"$@"
}
row_state() { # DB: the pause row's state
	q "$1" "select state from faults where fault_id = 'pause' order by id desc limit 1" 2>/dev/null
}
row_is() { # DB STATE
	[ "$(row_state "$1")" = "$2" ]
}
applied_and_frozen() { # DB VERSION CGROUP
	row_is "$1" applied && frozen "$2" "$3"
}
nothing_left() { # LABEL VERSION CGROUP DB
	check
	thawed "$2" "$3" || bad "$1: the cgroup is left frozen: $(cat "$3/freezer.state" "$3/cgroup.events" 2>/dev/null)"
	check
	n=$(q "$4" "select count(*) from faults where state in ('planned', 'applied')")
	[ "$n" -eq 0 ] || bad "$1: $n journal rows still active"
	check
	answers || bad "$1: the server does not answer"
}

start_server() { # VERSION CGROUP
	port=$((port + 1))
	# its own session, as a container's process has (not firedrill's: guarded)
	ip netns exec "$ns" setsid python3 -m http.server "$port" --bind 127.0.0.1 \
		--directory "$tmp/www" >"$tmp/srv-$1.log" 2>&1 &
	spid=$!
	# setsid execs when not a group leader (a job of a shell without job control)
	[ "$(ps -o sid= -p "$spid" | tr -d ' ')" = "$spid" ] || sleep 0.2
	[ "$(ps -o sid= -p "$spid" | tr -d ' ')" = "$spid" ] || return 1
	echo "$spid" >"$tmp/server.pid"
	# from here: `ip netns exec` gives its command a /sys without the cgroup mounts
	if [ "$1" = v1 ]; then
		echo "$spid" >"$2/cgroup.procs" || return 1
	else
		# out of any v1 freezer cgroup, so that the driver takes the v2 one
		if [ -n "$v1mp" ]; then echo "$spid" >"$v1mp/cgroup.procs" || return 1; fi
		echo "$spid" >"$2/cgroup.procs" || return 1
	fi
	wait_for 100 answers
}

scenario() { # FILE NAME DURATION ITERATIONS RECOVERY-TIMEOUT
	cat >"$1" <<YAML
name: $2
scope: { container: fdt-pause }
iterations: $4
probes:
  - { id: web, interval: 100ms, timeout: 300ms, http: { url: "http://127.0.0.1:$port/" } }
faults:
  - { id: pause, kind: pause, duration: $3 }
steady-state: { probes: [web] }
recovery: { all: [web], timeout: $5 }
YAML
}

# 1. a drill: frozen, probes down, thawed, recovered
drill() { # VERSION CGROUP
	v=$1 cg=$2 db=$tmp/drill-$1.db
	scenario "$tmp/drill-$v.yaml" "pause-$v" 2s 2 15s
	PATH=$tmp/bin:$PATH "$fd" --db "$db" --json run "$tmp/drill-$v.yaml" >"$tmp/drill-$v.json" 2>"$tmp/drill-$v.err"
	rc=$?
	check
	[ $rc -eq 0 ] || bad "$v drill: exit $rc: $(cat "$tmp/drill-$v.err")"
	check
	python3 - "$tmp/drill-$v.json" "$v" <<'PY' || bad "$v drill: not 2 recovered iterations"
import json, sys
its = json.load(open(sys.argv[1]))["iterations"]
print(f"{sys.argv[2]} drill: " + ", ".join(f"{i['outcome']} (RTO {i['rto_ms']} ms)" for i in its))
sys.exit(0 if len(its) == 2 and all(i["outcome"] == "recovered" for i in its) else 1)
PY
	check
	n=$(q "$db" "select count(distinct iteration_id) from events where kind = 'probe-down'")
	[ "$n" -eq 2 ] || bad "$v drill: probe-down in $n iterations, want 2 (not frozen?)"
	check
	want=$([ "$v" = v1 ] && echo 1 || echo 2)
	n=$(q "$db" "select count(*) from faults where kind = 'pause' and state = 'reverted' and
		json_extract(spec, '\$.cgroups[0].path') = '$cg' and
		json_extract(spec, '\$.cgroups[0].version') = $want")
	[ "$n" -eq 2 ] || bad "$v drill: $n reverted rows naming $cg (version $want), want 2: $(q "$db" "select state, spec from faults")"
	echo "$v drill applied: $(q "$db" "select detail from events where kind = 'fault-applied' limit 1")"
	nothing_left "$v drill" "$v" "$cg" "$db"
}

# Starts a 60 s pause in the background and waits until it holds (checked:
# it holds, and the drill has a guardian); 1 when it never held. Sets fdpid
# and gpid (the drill's guardian).
start_long_pause() { # LABEL VERSION CGROUP DB
	scenario "$tmp/long-$2.yaml" "pause-long-$2" 60s 1 120s
	PATH=$tmp/bin:$PATH "$fd" --db "$4" run "$tmp/long-$2.yaml" >"$tmp/long-$2.out" 2>&1 &
	fdpid=$!
	check
	if ! wait_for 150 applied_and_frozen "$4" "$2" "$3"; then
		bad "$1: the pause never held (row $(row_state "$4")): $(cat "$tmp/long-$2.out")"
		return 1
	fi
	gpid=
	for c in $(ps -o pid= --ppid "$fdpid"); do
		grep -q firedrill-guardian "/proc/$c/cmdline" 2>/dev/null && gpid=$c
	done
	check
	[ -n "$gpid" ] || bad "$1: no guardian found among firedrill's children"
	return 0
}

# 2. firedrill SIGKILLed mid-pause: the guardian thaws
guardian() { # VERSION CGROUP
	v=$1 cg=$2 db=$tmp/guardian-$1.db
	start_long_pause "$v guardian" "$v" "$cg" "$db" || return
	check
	answers && bad "$v guardian: the server answers while its cgroup is frozen"
	t0=$(date +%s%N)
	kill -KILL "$fdpid"
	wait "$fdpid" 2>/dev/null
	fdpid=
	wait_for 100 thawed "$v" "$cg"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	echo "$v guardian: thawed ${ms} ms after the SIGKILL"
	check
	[ "$ms" -le 5000 ] && thawed "$v" "$cg" || bad "$v guardian: not thawed within 5 s of the SIGKILL (${ms} ms)"
	check
	wait_for 50 row_is "$db" reverted ||
		bad "$v guardian: the journal row is $(row_state "$db"), not reverted"
	check
	d=$(q "$db" "select detail from faults where fault_id = 'pause'")
	echo "$d" | grep -qi guardian || bad "$v guardian: the row's detail does not name the guardian: $d"
	nothing_left "$v guardian" "$v" "$cg" "$db"
	check
	[ -n "$gpid" ] && wait_for 50 sh -c "! kill -0 $gpid 2>/dev/null" ||
		bad "$v guardian: the guardian ${gpid:-(none)} did not exit"
	gpid=
}

# 3. firedrill and its guardian SIGKILLed: `firedrill revert` thaws
revert_after() { # VERSION CGROUP
	v=$1 cg=$2 db=$tmp/revert-$1.db
	start_long_pause "$v revert" "$v" "$cg" "$db" || return
	kill -KILL $gpid "$fdpid"
	wait "$fdpid" 2>/dev/null
	fdpid=
	gpid=
	sleep 1
	check
	frozen "$v" "$cg" && row_is "$db" applied ||
		bad "$v revert: thawed or the row $(row_state "$db") with firedrill and its guardian dead"
	"$fd" --db "$db" revert >"$tmp/rev-$v.out" 2>&1
	rc=$?
	echo "$v revert: $(cat "$tmp/rev-$v.out")"
	check
	[ $rc -eq 0 ] || bad "$v revert: exit $rc"
	check
	row_is "$db" reverted || bad "$v revert: the journal row is $(row_state "$db")"
	nothing_left "$v revert" "$v" "$cg" "$db"
}

suite() { # VERSION CGROUP
	if ! mkdir "$2"; then
		bad "$1: cannot make the cgroup $2"
		return
	fi
	check
	if ! start_server "$1" "$2"; then
		bad "$1: the server in $2 did not start: $(cat "$tmp/srv-$1.log")"
		stop_server
		return
	fi
	echo "--- $1: server $spid in $2"
	drill "$1" "$2"
	guardian "$1" "$2"
	revert_after "$1" "$2"
	stop_server
}

ran=0
if [ -n "$cg_v1" ]; then
	suite v1 "$cg_v1"
	ran=$((ran + 1))
else
	echo "skipped: v1: no v1 freezer hierarchy mounted"
fi
if [ -n "$cg_v2" ]; then
	suite v2 "$cg_v2"
	ran=$((ran + 1))
else
	echo "skipped: v2: no cgroup2 hierarchy mounted"
fi
[ "$ran" -gt 0 ] || { echo "skipped: no freezer of either version"; exit 77; }

local_end
