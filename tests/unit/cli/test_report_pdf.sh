#!/bin/sh
# firedrill report evidence as PDF, end to end, read back with poppler:
# page size (A4 and Letter), page count, every font embedded, the HTML
# report's section headings in its order, the verdict, the scenario, the
# store row hash and "page N of M" on every page, every page rasterizes;
# then --sign / verify on the PDF's bytes.
#   test_report_pdf.sh FIREDRILL SEED_STORE
# Exits 77 (skipped) when poppler-utils are missing and nothing else failed.
set -u
fd=$1
seed=$2
dir=$(mktemp -d /tmp/fdt-report-pdf-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM
db=$dir/store.db
fail=0

expect() { # CODE DESCRIPTION COMMAND...
	want=$1; what=$2; shift 2
	"$@" >"$dir/out" 2>&1
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $what: exit $got, expected $want"; cat "$dir/out"; fail=1
	else
		echo "ok: $what"
	fi
}
bad() { echo "FAIL: $*"; fail=1; }

# Drill 2 (pdf-long): 6 iterations, ~200 events, a 90-line scenario, hostile strings.
"$seed" "$db" long || { echo "seeding failed"; exit 1; }

expect 2 "trend --format pdf is refused" "$fd" --db "$db" report trend --format pdf
grep -q "pdf is for evidence reports" "$dir/out" || bad "trend pdf refusal does not say why"
expect 2 "trend -o t.pdf is refused" "$fd" --db "$db" report trend -o "$dir/t.pdf"
[ -e "$dir/t.pdf" ] && bad "a refused trend pdf left a file"
expect 2 "--paper is for pdf" "$fd" --db "$db" report evidence 2 -o "$dir/e.html" --paper a4
expect 2 "unknown --paper" "$fd" --db "$db" report evidence 2 -o "$dir/e.pdf" --paper a3
expect 0 "evidence -o e.pdf (pdf from the extension, A4 by default)" \
	"$fd" --db "$db" report evidence 2 -o "$dir/a4.pdf"
expect 0 "evidence --format pdf --paper letter" \
	"$fd" --db "$db" report evidence 2 --format pdf --paper letter -o "$dir/letter.out"
for f in a4.pdf letter.out; do
	[ "$(head -c 5 "$dir/$f")" = "%PDF-" ] || bad "$f is not a PDF"
done
expect 0 "evidence as html (the reference)" "$fd" --db "$db" report evidence 2 -o "$dir/e.html"
expect 0 "evidence as json (verdict, hash)" "$fd" --db "$db" report evidence 2 -o "$dir/e.json"
verdict=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["verdict"])' "$dir/e.json")
hash=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["drill"]["hash"])' "$dir/e.json")
[ ${#hash} = 64 ] || bad "no store row hash in the JSON report: '$hash'"

# Blackholed flows (iteration 2): who sent them, or why that is unknown, in every format.
sent="pid 4242 (registry, uid 1000, container 4f2a1b3c5d6e)"
closed="unknown: socket already closed (uid 0)"
for s in "$sent" "$closed"; do
	grep -qF "<td>$s</td>" "$dir/e.html" && echo "ok: html flows: $s" || bad "html flows lack '$s'"
done
python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["blackholed_flows"]
assert [x["sender"]["pid"] for x in f] == [4242, None], f
assert f[0]["sender"]["container"].startswith("4f2a1b3c5d6e") and f[0]["sender"]["uid"] == 1000, f
assert f[1]["sender"]["unknown"] == "socket already closed" and f[1]["sender"]["uid"] == 0, f' \
	"$dir/e.json" && echo "ok: json flows: sender known and unknown" || bad "json blackholed_flows"
expect 0 "trend as markdown" "$fd" --db "$db" report trend --format md
for s in "$sent" "$closed"; do
	grep -qF "| 2 | tcp 10.250.1.1 -&gt; 10.66.1." "$dir/out" && grep -qF "| $s |" "$dir/out" &&
		echo "ok: trend flows: $s" || bad "trend flows lack '$s'"
done

# Signed like any report: the .sig covers the PDF's exact bytes.
expect 0 "keygen" "$fd" keygen -o "$dir/k"
expect 0 "signed pdf" "$fd" --db "$db" report evidence 2 -o "$dir/s.pdf" --sign "$dir/k.key"
expect 0 "verify the pdf" "$fd" --db "$db" verify "$dir/s.pdf" --pubkey "$dir/k.pub"
python3 -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
i = b.index(b"/Title"); b[i + 8] ^= 1
open(p, "wb").write(b)' "$dir/s.pdf"
expect 1 "verify a pdf with one byte changed" "$fd" --db "$db" verify "$dir/s.pdf" --pubkey "$dir/k.pub"
grep -q "report text changed" "$dir/out" || bad "the changed pdf byte is not named"
# verify --seal looks for the row hash in the report's bytes: the PDF keeps it in the clear.
grep -aq "store-row-hash $hash" "$dir/a4.pdf" || bad "the row hash is not in the PDF's metadata"

missing=""
for tool in pdfinfo pdffonts pdftotext pdftoppm; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
	echo "skipped: PDF checks with poppler:$missing not installed (apt-get install poppler-utils)"
	[ "$fail" = 0 ] && exit 77
	exit "$fail"
fi

# The section headings (h1, h2) of the HTML evidence report, in its order.
grep -o '<h[12]>[^<]*' "$dir/e.html" | sed 's/^<h[12]>//' >"$dir/headings"
[ "$(wc -l <"$dir/headings")" -ge 7 ] || bad "the HTML report has too few headings"

check_pdf() { # FILE PAPER WIDTH HEIGHT
	f=$1; paper=$2; w=$3; h=$4
	pages=$(pdfinfo "$f" | awk '/^Pages:/ { print $2 }')
	if [ "${pages:-0}" -ge 2 ]; then
		echo "ok: $paper: $pages pages"
	else
		bad "$paper: ${pages:-no} pages, expected >= 2 for a long timeline"; return
	fi
	sizes=$(pdfinfo -f 1 -l "$pages" "$f" |
		awk '/^Page +[0-9]+ size:/ { printf "%.0fx%.0f\n", $4, $6 }' | sort -u)
	if [ "$sizes" = "${w}x$h" ]; then
		echo "ok: $paper: every page is $w x $h pt"
	else
		bad "$paper: page sizes '$sizes', expected ${w}x$h"
	fi
	# pdffonts: two header lines, then one font a line; emb is the 5th field from the end.
	fonts=$(pdffonts "$f" | tail -n +3)
	nfonts=$(printf '%s\n' "$fonts" | grep -c .)
	notemb=$(printf '%s\n' "$fonts" | awk 'NF && $(NF-4) != "yes"')
	if [ "$nfonts" -ge 1 ] && [ -z "$notemb" ]; then
		echo "ok: $paper: all $nfonts fonts embedded"
	else
		bad "$paper: fonts not embedded: ${notemb:-no fonts at all}"
	fi
	pdftotext -layout "$f" "$dir/all.txt" || bad "$paper: pdftotext failed"
	prev=0
	while IFS= read -r heading; do
		n=$(awk -v h="$heading" -v p="$prev" 'NR > p && index($0, h) { print NR; exit }' "$dir/all.txt")
		if [ -n "$n" ]; then
			prev=$n
		else
			bad "$paper: heading '$heading' missing or out of the HTML report's order"
		fi
	done <"$dir/headings"
	echo "ok: $paper: $(wc -l <"$dir/headings") section headings checked in order"
	# The verdict is wrapped over lines: compare with whitespace squeezed.
	tr -s ' \n' '  ' <"$dir/all.txt" | grep -qF "$verdict" || bad "$paper: verdict missing: $verdict"
	grep -q "Disaster-recovery exercise evidence: pdf-long" "$dir/all.txt" || bad "$paper: scenario name missing"
	# Untrusted strings: shown as their characters, control and invalid bytes as \xNN.
	grep -qF '<b>api</b>' "$dir/all.txt" || bad "$paper: markup in a subject is not shown as text"
	grep -qF '\x1B[31m' "$dir/all.txt" || bad "$paper: ESC is not shown as \\x1B"
	grep -qF '\xFF\xFE' "$dir/all.txt" || bad "$paper: invalid UTF-8 is not shown as \\xNN"
	grep -qF '# line 89: probes, faults and steps' "$dir/all.txt" || bad "$paper: the scenario text is cut"
	for s in "$sent" "$closed"; do
		grep -qF "$s" "$dir/all.txt" || bad "$paper: blackholed flows lack '$s'"
	done
	p=1; onall=1
	while [ "$p" -le "$pages" ]; do
		pdftotext -layout -f "$p" -l "$p" "$f" "$dir/page.txt"
		grep -qF "store row hash $hash" "$dir/page.txt" || { bad "$paper: page $p lacks the row hash"; onall=0; }
		grep -q "page $p of $pages" "$dir/page.txt" || { bad "$paper: page $p lacks 'page $p of $pages'"; onall=0; }
		p=$((p + 1))
	done
	[ "$onall" = 1 ] && echo "ok: $paper: row hash and 'page N of $pages' on every page"
	rm -f "$dir"/png-*
	if pdftoppm -png -r 60 "$f" "$dir/png" 2>"$dir/ppm.err" && [ ! -s "$dir/ppm.err" ]; then
		n=$(find "$dir" -name 'png-*.png' -size +1k | wc -l)
		[ "$n" = "$pages" ] && echo "ok: $paper: pdftoppm rendered all $n pages" ||
			bad "$paper: pdftoppm rendered $n of $pages pages"
	else
		bad "$paper: pdftoppm: $(cat "$dir/ppm.err")"
	fi
}
check_pdf "$dir/a4.pdf" A4 595 842
check_pdf "$dir/letter.out" Letter 612 792
exit $fail
