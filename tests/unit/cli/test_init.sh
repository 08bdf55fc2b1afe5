#!/bin/sh
# firedrill init: every template in scenarios/templates/ is offered, written
# with -o and to stdout, and validates as written (with run's rules); an
# existing file is kept unless --force; unknown templates are usage errors.
# usage: test_init.sh FIREDRILL SOURCE_ROOT
set -u
fd=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

n=0
for src in "$root"/scenarios/templates/*.yaml; do
	t=$(basename "$src" .yaml)
	n=$((n + 1))
	"$fd" init --help | grep -q "^ *$t " || bad "$t: not listed by init --help"
	"$fd" -q init --template "$t" -o "$tmp/$t.yaml" || bad "$t: init exit $?"
	"$fd" validate "$tmp/$t.yaml" >"$tmp/out" 2>"$tmp/err" || bad "$t: does not validate: $(cat "$tmp/err")"
	"$fd" init --template "$t" >"$tmp/stdout.yaml" || bad "$t: init to stdout exit $?"
	cmp -s "$tmp/stdout.yaml" "$tmp/$t.yaml" || bad "$t: stdout differs from -o"
	grep -q '^# yaml-language-server: \$schema=/.*/firedrill-scenario.schema.json$' "$tmp/$t.yaml" ||
		bad "$t: no schema modeline"
	grep -q 'CHANGE' "$tmp/$t.yaml" || bad "$t: says nothing to change"
	[ "$(stat -c %a "$tmp/$t.yaml")" = 644 ] || bad "$t: mode $(stat -c %a "$tmp/$t.yaml")"
done
[ "$n" -ge 5 ] || bad "only $n templates"

# the default is region-drop
"$fd" init >"$tmp/default.yaml" && grep -q 'template region-drop' "$tmp/default.yaml" || bad "default template"

# never overwrite without --force
echo keep >"$tmp/exists.yaml"
"$fd" init -o "$tmp/exists.yaml" 2>"$tmp/err"
[ $? -eq 2 ] || bad "existing file: want exit 2"
[ "$(cat "$tmp/exists.yaml")" = keep ] || bad "existing file overwritten"
"$fd" --force -q init --template kill -o "$tmp/exists.yaml" || bad "--force: exit $?"
grep -q 'kind: kill' "$tmp/exists.yaml" || bad "--force did not overwrite"

"$fd" init --template nope 2>/dev/null
[ $? -eq 2 ] || bad "unknown template: want exit 2"
"$fd" init extra 2>/dev/null
[ $? -eq 2 ] || bad "extra argument: want exit 2"
"$fd" init -o "$tmp/no/such/dir.yaml" 2>/dev/null
[ $? -eq 3 ] || bad "unwritable: want exit 3"

echo "$n templates; $fails failure(s)"
[ "$fails" -eq 0 ]
