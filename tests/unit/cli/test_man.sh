#!/bin/sh
# The man pages render without a warning (groff -ww through preconv, and
# man --warnings when man-db is there; mandoc -T lint when installed), and
# say what their sources say: every command of `firedrill --help` has its
# section in firedrill(1), every top-level scenario key is in
# firedrill-scenario(5), every table of docs/store.md in firedrill-store(5).
# usage: test_man.sh FIREDRILL SOURCE_ROOT firedrill.1 firedrill-scenario.5 firedrill-store.5
#        test_man.sh --skip WHY
set -u
if [ "$1" = --skip ]; then
	echo "skipped: $2"
	exit 77
fi
fd=$1
root=$2
shift 2
command -v groff >/dev/null 2>&1 || { echo "skipped: groff not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
export LC_ALL=C.UTF-8 MANWIDTH=80

for page in "$@"; do
	name=$(basename "$page")
	groff -k -man -Tutf8 -ww -z "$page" 2>"$tmp/warn" || bad "$name: groff exit $?"
	[ -s "$tmp/warn" ] && bad "$name: groff: $(head -3 "$tmp/warn")"
	if command -v man >/dev/null 2>&1; then
		man --warnings -l "$page" >"$tmp/$name.txt" 2>"$tmp/warn" || bad "$name: man -l exit $?"
		[ -s "$tmp/warn" ] && bad "$name: man: $(head -3 "$tmp/warn")"
	else
		groff -k -man -Tutf8 "$page" >"$tmp/$name.txt" 2>/dev/null
	fi
	if command -v mandoc >/dev/null 2>&1; then
		mandoc -T lint -W warning "$page" >"$tmp/lint" 2>&1 || bad "$name: mandoc: $(head -3 "$tmp/lint")"
	fi
	grep -q 'NAME' "$tmp/$name.txt" || bad "$name: no NAME section"
done

# firedrill(1): a section per command of the table, with its own --help in it
cmds=$("$fd" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF { print $1 }')
n=0
for c in $cmds; do
	n=$((n + 1))
	grep -q "^   $c\$" "$tmp/firedrill.1.txt" || bad "firedrill(1): no section for command $c"
	first=$("$fd" help "$c" 2>&1 | head -1 | sed 's/  */ /g')
	sed 's/  */ /g' "$tmp/firedrill.1.txt" | grep -qF "$first" || bad "firedrill(1): $c's --help ($first) missing"
done
[ "$n" -ge 15 ] || bad "only $n commands in firedrill --help"

# firedrill-scenario(5): every top-level key and every fault kind
for k in name faults probes recovery rpo failback notify prove-every scope; do
	grep -q "^       $k" "$tmp/firedrill-scenario.5.txt" || bad "firedrill-scenario(5): no key $k"
done
for kind in drop reject blackhole-route link-down delay loss rate kill stop freeze exec; do
	grep -q "kind: $kind:" "$tmp/firedrill-scenario.5.txt" || bad "firedrill-scenario(5): no kind $kind"
done

# firedrill-store(5): every table of docs/store.md
for t in $(sed -n 's/^### \([a-z_]*\).*/\1/p' "$root/docs/store.md"); do
	grep -q "^   $t" "$tmp/firedrill-store.5.txt" || bad "firedrill-store(5): no table $t"
done

echo "$# pages, $n commands; $fails failure(s)"
[ "$fails" -eq 0 ]
