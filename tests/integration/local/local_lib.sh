# Shared by the local tests (sourced): counted checks, the skip when root or
# a command is missing, and a stand-in container engine.
#
#   check; [ cond ] || bad "what went wrong"   one counted check
#   local_need_root CMD...                     "skipped: ..." (77) unless root with CMD on PATH
#   local_stand_in_podman DIR NAME=PID...      DIR/podman answers `podman inspect` for each
#                                              NAME: "ID PID true IMAGE"; PID may be a file
#                                              holding it (read at each inspect)
#   local_recovered LABEL N JSON               prints "LABEL: outcome (RTO ms), ..." of a
#                                              --json run; 0 when N iterations, all recovered
#   local_end                                  "N checks, M failed"; the status to exit with

fails=0
checks=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { checks=$((checks + 1)); }

local_need_root() {
	[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (it makes network namespaces, cgroups, users)"; exit 77; }
	for c in "$@"; do
		command -v "$c" >/dev/null || { echo "skipped: $c missing"; exit 77; }
	done
}

# A test double of `podman inspect --type container --format ... NAME`,
# answering as podman does: an unknown NAME is exit 125 with podman's words.
local_stand_in_podman() {
	dir=$1
	shift
	mkdir -p "$dir"
	{
		echo '#!/bin/sh'
		echo '[ "$1" = inspect ] || exit 125'
		echo 'for a; do last=$a; done'
		echo 'case "$last" in'
		for spec; do
			name=${spec%%=*}
			pid=${spec#*=}
			case "$pid" in
			/*) echo "$name) echo \"c0ffee0123456789abcdef \$(cat '$pid') true localhost/fdt-$name:test\" ;;" ;;
			*) echo "$name) echo \"c0ffee0123456789abcdef $pid true localhost/fdt-$name:test\" ;;" ;;
			esac
		done
		echo '*) echo "Error: no such container $last" >&2; exit 125 ;;'
		echo 'esac'
	} >"$dir/podman"
	chmod +x "$dir/podman"
}

local_recovered() { # LABEL N JSON
	python3 - "$@" <<'PY'
import json, sys
its = json.load(open(sys.argv[3]))["iterations"]
print(sys.argv[1] + ": " + ", ".join(f"{i['outcome']} (RTO {i['rto_ms']} ms)" for i in its))
sys.exit(0 if len(its) == int(sys.argv[2]) and all(i["outcome"] == "recovered" for i in its) else 1)
PY
}

local_end() {
	echo "$checks checks, $fails failed"
	[ "$fails" -eq 0 ]
}
