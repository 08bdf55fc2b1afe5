#!/bin/bash
# The bash completion (contrib/completions/firedrill.bash.in, as built)
# through its complete function, as bash calls it: subcommands from the
# command table, a command's flags from its --help, scenario files, drill
# ids from a store, --template names, --controls ids (comma lists), --sandbox
# names from the run directory (FIREDRILL_RUN_DIR). zsh and
# fish files are syntax-checked when those shells are installed.
# usage: test_completion.sh BUILT_BASH_COMPLETION FIREDRILL SEED_STORE CONTROLS_JSON [ZSH FISH]
set -u
comp=$1
fd=$2
seed=$3
controls=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
fails=0
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

# shellcheck disable=SC1090
source "$comp"
export FIREDRILL_CONTROLS_FILE=$controls

# complete LINE...: COMPREPLY for the words given, the last one being completed
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_firedrill
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

want() { # WHAT EXPECTED-WORD WORDS...
	local what=$1 word=$2
	shift 2
	complete_words "$@" >"$tmp/got"
	grep -qxF -- "$word" "$tmp/got" || bad "$what: \"$word\" not offered for '$*' (got: $(tr '\n' ' ' <"$tmp/got"))"
}
refuse() { # WHAT WORD WORDS...
	local what=$1 word=$2
	shift 2
	complete_words "$@" >"$tmp/got"
	grep -qxF -- "$word" "$tmp/got" && bad "$what: \"$word\" offered for '$*'"
}

[ "$(complete -p firedrill 2>/dev/null)" = "complete -F _firedrill firedrill" ] || bad "complete -p firedrill"

# subcommands: every one of the table for an empty word, and a prefix
n=0
for c in $("$fd" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
	n=$((n + 1))
	want "command $c" "$c" "$fd" ""
done
[ "$n" -ge 15 ] || bad "only $n commands"
want "prefix" validate "$fd" val
refuse "prefix" plan "$fd" val
want "after --db" validate "$fd" --db x.db va
want "global flag" --json "$fd" --js

# a command's flags, from its --help
want "init flag" --template "$fd" init --te
want "validate flag" --inject "$fd" validate --in
want "report flag" --controls "$fd" report evidence 1 --con
want "template names" s3 "$fd" init --template ""
want "template prefix" region-drop "$fd" init --template reg

# scenario files
mkdir "$tmp/sc"
: >"$tmp/sc/a.yaml"
: >"$tmp/sc/b.txt"
want "yaml file" "$tmp/sc/a.yaml" "$fd" validate "$tmp/sc/"
refuse "not yaml" "$tmp/sc/b.txt" "$fd" validate "$tmp/sc/"

# drill ids from the store
"$seed" "$tmp/s.db" more >/dev/null || { echo "seeding failed"; exit 1; }
want "drill id" 2 "$fd" --db "$tmp/s.db" note ""
want "evidence drill id" 1 "$fd" --db "$tmp/s.db" report evidence ""
want "report kinds" metrics "$fd" report m
refuse "second positional" 1 "$fd" --db "$tmp/s.db" note 1 ""

# --controls: ids of the mapping, the last item of a comma list
want "control id" soc2 "$fd" report evidence 1 --controls so
want "control all" all "$fd" report evidence 1 --controls ""
want "comma list" soc2,dora "$fd" report evidence 1 --controls soc2,do

# --sandbox: the names of the run directory's sandbox records
mkdir "$tmp/run"
echo 1 >"$tmp/run/sandbox-web.pid"
FIREDRILL_RUN_DIR=$tmp/run want "sandbox name" web "$fd" revert --sandbox ""
FIREDRILL_RUN_DIR=$tmp/run want "sandbox name for run" web "$fd" run --sandbox w
FIREDRILL_RUN_DIR=$tmp/run want "sandbox name for inject" web "$fd" inject --sandbox w
want "revert flag" --sandbox "$fd" revert --sa
want "inject flag" --sandbox "$fd" inject --sa

# zsh and fish: their files parse (when the shell is here)
if [ $# -ge 6 ]; then
	if command -v zsh >/dev/null 2>&1; then zsh -n "$5" || bad "zsh -n $5"; else echo "zsh not installed: not checked"; fi
	if command -v fish >/dev/null 2>&1; then fish -n "$6" || bad "fish -n $6"; else echo "fish not installed: not checked"; fi
fi

echo "$n commands; $fails failure(s)"
[ "$fails" -eq 0 ]
