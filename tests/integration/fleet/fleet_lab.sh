# fleet_lab.sh: a test fleet on this machine, sourced by the fleet test
# and the fleet bench. Each host is a network namespace on one bridge,
# running a real sshd (Debian's openssh-server) on its own address, with a
# host key and a client key pair made here, in a temporary directory. The
# host's own sshd, /etc/ssh and ~/.ssh are never read or touched: sshd runs
# with -f (its config) and the client with -F (its config).
#
# Before sourcing: FD (the firedrill binary), DIR (a temporary directory),
# TAG (unique in namespace names), NET (the /24's first three octets in
# 10.250.0.0/16, e.g. 10.250.40). Then: fleet_up N, fleet_inventory FILE
# [EXTRA HOST LINES], fleet_down. Namespaces: fdt-fl-br-TAG (the bridge),
# fdt-fl-c-TAG (the coordinator, NET.1), fdt-fl-hI-TAG (host I, NET.(10+I)).

FL_BR=fdt-fl-br-$TAG
FL_C=fdt-fl-c-$TAG
FL_N=0
FL_SSHD_PIDS=()
FL_MADE_RUN_SSHD=0

fl_host_ns() { echo "fdt-fl-h$1-$TAG"; }
fl_host_addr() { echo "$NET.$((10 + $1))"; }

# fl_link NS I ADDR: NS's eth0 (ADDR/24) on the bridge's port pI.
fl_link() {
	ip -n "$1" link add eth0 type veth peer name "p$2" netns "$FL_BR" &&
		ip -n "$1" addr add "$3/24" dev eth0 &&
		ip -n "$1" link set eth0 up &&
		ip -n "$FL_BR" link set "p$2" master br0 &&
		ip -n "$FL_BR" link set "p$2" up
}

# fl_wait_port NS ADDR: sshd answers within 10 s.
fl_wait_port() {
	local i
	for i in $(seq 100); do
		ip netns exec "$FL_C" timeout 1 bash -c "exec 3<>/dev/tcp/$1/22" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

fleet_up() {
	local n=$1 i ns addr
	FL_N=$n
	[ -d /run/sshd ] || { mkdir -p /run/sshd && chmod 755 /run/sshd && FL_MADE_RUN_SSHD=1; }
	ssh-keygen -q -t ed25519 -N '' -C fdt-fleet-client -f "$DIR/id" || return 1
	ssh-keygen -q -t ed25519 -N '' -C fdt-fleet-host -f "$DIR/hostkey" || return 1
	cp "$DIR/id.pub" "$DIR/authorized_keys"
	: >"$DIR/known_hosts"
	cat >"$DIR/ssh_config" <<EOC
Host *
  User root
  IdentityFile $DIR/id
  IdentitiesOnly yes
  UserKnownHostsFile $DIR/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  LogLevel ERROR
EOC
	for ns in "$FL_BR" "$FL_C"; do
		ip netns del "$ns" 2>/dev/null
		ip netns add "$ns" && ip -n "$ns" link set lo up || return 1
	done
	ip -n "$FL_BR" link add br0 type bridge && ip -n "$FL_BR" link set br0 up || return 1
	fl_link "$FL_C" 0 "$NET.1" || return 1
	for i in $(seq "$n"); do
		ns=$(fl_host_ns "$i")
		addr=$(fl_host_addr "$i")
		ip netns del "$ns" 2>/dev/null
		ip netns add "$ns" && ip -n "$ns" link set lo up && fl_link "$ns" "$i" "$addr" || return 1
		mkdir -p "$DIR/h$i/run"
		cat >"$DIR/h$i/sshd_config" <<EOC
ListenAddress $addr:22
HostKey $DIR/hostkey
PidFile $DIR/h$i/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
LogLevel ERROR
SetEnv FIREDRILL_DB=$DIR/h$i/agent.db FIREDRILL_RUN_DIR=$DIR/h$i/run
EOC
		echo "$addr $(cut -d' ' -f1,2 "$DIR/hostkey.pub")" >>"$DIR/known_hosts"
		ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$DIR/h$i/sshd_config" \
			2>>"$DIR/h$i/sshd.log" &
		FL_SSHD_PIDS[$i]=$!
	done
	for i in $(seq "$n"); do
		fl_wait_port "$(fl_host_addr "$i")" || { echo "sshd of host $i does not answer:"; cat "$DIR/h$i/sshd.log"; return 1; }
	done
}

# fleet_inventory FILE LEASE [HOST_EXTRA]: hosts app-1..app-N (group app),
# each running $FD; HOST_EXTRA (optional) is "I:KEY: VALUE" for one host.
fleet_inventory() {
	local file=$1 lease=$2 extra=${3:-} i
	{
		echo "fleet:"
		echo "  lease: $lease"
		echo "  ssh-config: $DIR/ssh_config"
		echo "hosts:"
		for i in $(seq "$FL_N"); do
			echo "  - name: app-$i"
			echo "    ssh: root@$(fl_host_addr "$i")"
			echo "    groups: [app]"
			if [ -n "$extra" ] && [ "${extra%%:*}" = "$i" ]; then
				echo "    ${extra#*:}"
				case "${extra#*:}" in firedrill:*) continue ;; esac
			fi
			echo "    firedrill: $FD"
		done
	} >"$file"
}

# The pids in a namespace, one line ("" when none).
fl_pids() { ip netns pids "$1" 2>/dev/null | sort -n | tr '\n' ' ' | sed 's/ $//'; }

fleet_down() {
	local i
	for i in "${!FL_SSHD_PIDS[@]}"; do
		kill "${FL_SSHD_PIDS[$i]}" 2>/dev/null
		wait "${FL_SSHD_PIDS[$i]}" 2>/dev/null
	done
	FL_SSHD_PIDS=()
	for i in $(seq "$FL_N"); do
		ip netns pids "$(fl_host_ns "$i")" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$(fl_host_ns "$i")" 2>/dev/null
	done
	ip netns pids "$FL_C" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$FL_C" 2>/dev/null
	ip netns del "$FL_BR" 2>/dev/null
	[ "$FL_MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null
	FL_MADE_RUN_SSHD=0
}
