#!/bin/sh
# coffer report (issue 13) on 90 generated days (tests/tools/history-gen):
# the text report's figures are the history's (counted here with sqlite3:
# runs, failures, success rate, the last failure's step and reason); --json
# parses with jq and says the same; --html renders in headless Chromium to
# a PNG that is not blank and shows every chart series (each has a colour
# of its own, counted in the decoded PNG); a job name and an error holding
# HTML come out escaped.  A failed last run exits 14 (as scheduler
# status).  A real job run with metrics_file records the repository's size
# for the report's growth.
. "$(dirname "$0")/lib.sh"

need chromium jq python3 sqlite3
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1

conf() {
	cat >"$T/$1.conf" <<CONF
[global]
state_dir = $T/$1
metrics_file = $T/$1.prom

[repository local]
path = $T/repo
password_file = $T/key

[repository offsite]
path = $T/offsite
password_file = $T/key

[source files]
type = files
paths = $T/src

[job nightly]
schedule = daily 02:30
sources = files
repository = local
replicate = offsite

[drill weekly]
repository = offsite
source = files
target = $T/tgt
schedule = Sun 05:00
max_rto = 30m
max_rpo = 26h
CONF
	chmod 0600 "$T/$1.conf"
}

conf st
"$TOOLS/history-gen" -x "$T/st" 90 >gen.out || fail "history-gen: $(cat gen.out)"
expect_grep '^nightly runs=90 ok=78 failed=12 skipped=2$' gen.out
expect_grep '^weekly runs=13 ok=11 failed=2 skipped=0$' gen.out
DB=$T/st/state.db
q() { sqlite3 "$DB" "$1"; }

# ---- text: the figures are the history's
expect_status 0 "$COFFER" -c "$T/st.conf" report
cp "$T/out" text.out
awk 'length($0) > 80 { print "line " NR " is " length($0) " wide: " $0; bad = 1 }
    END { exit bad }' text.out >wide.out || fail "text wider than 80: $(cat wide.out)"
for k in job:nightly drill:weekly; do
	kind=${k%%:*} name=${k#*:}
	runs=$(q "SELECT count(*) FROM runs WHERE kind='$kind' AND job='$name' AND status IN ('ok','failed')")
	failed=$(q "SELECT count(*) FROM runs WHERE kind='$kind' AND job='$name' AND status='failed'")
	rate=$(q "SELECT printf('%.1f%%', 100.0 * sum(status='ok') / count(*)) FROM runs WHERE kind='$kind' AND job='$name' AND status IN ('ok','failed')")
	line=$(grep "^$kind $name " text.out | head -n 1)
	set -- $line
	expect_eq "$kind $name runs" "$runs" "$3"
	expect_eq "$kind $name failed" "$failed" "$4"
	expect_eq "$kind $name rate" "$rate" "$5"
	# The last failure: the first failed step of the newest failed run.
	last=$(q "SELECT s.step || ': ' || s.error_class || '|' || s.message FROM steps s JOIN runs r ON r.id = s.run WHERE r.kind='$kind' AND r.job='$name' AND r.status='failed' AND s.status='failed' ORDER BY r.started DESC, s.seq LIMIT 1")
	block=$(sed -n "/^$kind $name\$/,/^\$/p" text.out)
	got_step=$(printf '%s\n' "$block" | grep -E '^    [0-9]{4}-' | tail -n 1 | sed 's/.*  run [0-9]*  //')
	got_msg=$(printf '%s\n' "$block" | grep -E '^      ' | tail -n 1 | sed 's/^ *//')
	expect_eq "$kind $name last failure" "$last" "$got_step|$got_msg"
	printf '%s\n' "$block" | grep -q "runs $runs: $((runs - failed)) ok, $failed failed" ||
		fail "$kind $name: no 'runs $runs: ...' line in: $block"
done
expect_grep '^  RPO now .*, max 2d 0h; limit 1d 12h \(1\.5 x interval\), runs over it: 3$' text.out
expect_grep '^  RTO max 33m 20s; limit 30m 0s \(max_rto\), runs over it: 1$' text.out
expect_grep '^  local: 1\.0 GiB to 1\.9 GiB \(\+890\.0 MiB\)$' text.out
expect_grep '^  offsite \(off-site\): 1\.0 GiB to 1\.7 GiB \(\+712\.0 MiB\)$' text.out
expect_grep '^job <script>alert\(1\)</script> \(not in the config\)$' text.out

# ---- JSON: the same figures, parsed by jq
expect_status 0 "$COFFER" -c "$T/st.conf" report --json
cp "$T/out" report.json
expect_eq "json nightly" "90 78 12 2 86.7 129600 172800 3" "$(jq -r '.jobs[] | select(.name == "nightly") |
    "\(.runs) \(.ok) \(.failed) \(.skipped) \(.success_rate * 10 | round / 10) \(.rpo_limit) \(.rpo_max) \(.rpo_over)"' report.json)"
expect_eq "json weekly" "13 2 2000 1800 1 93600" "$(jq -r '.drills[] | select(.name == "weekly") |
    "\(.runs) \(.failed) \(.rto_max) \(.rto_limit) \(.rto_over) \(.rpo_limit)"' report.json)"
expect_eq "json last failure" "$(q "SELECT s.message FROM steps s JOIN runs r ON r.id = s.run WHERE r.job='nightly' AND r.status='failed' AND s.status='failed' ORDER BY r.started DESC LIMIT 1")" \
    "$(jq -r '.jobs[] | select(.name == "nightly") | .failures[-1].message' report.json)"
expect_eq "json days" "90 78 12" "$(jq -r '.jobs[] | select(.name == "nightly") |
    "\(.days | length) \([.days[][0]] | add) \([.days[][1]] | add)"' report.json)"
expect_eq "json repositories" "local false 90 offsite true 90" "$(jq -r '[.repositories[] | "\(.repository) \(.offsite) \(.sizes | length)"] | join(" ")' report.json)"
expect_eq "json evil name" '<script>alert(1)</script>' "$(jq -r '.jobs[] | select(.in_config | not) | .name' report.json)"
expect_eq "json attention" false "$(jq -r .attention report.json)"

# ---- HTML: one file, escaped, rendered by Chromium
expect_status 0 "$COFFER" -c "$T/st.conf" report --html "$T/report.html"
H=$T/report.html
expect_grep '<meta name="viewport"' "$H"
expect_grep '@media print' "$H"
grep -qi '<script' "$H" && fail "a raw <script> in the HTML: $(grep -i '<script' "$H")"
grep -q '<img' "$H" && fail "a raw <img> in the HTML"
grep -Ei "(src|href)=[\"']|url\(|@import|https?://" "$H" >loads.out &&
	fail "the HTML loads something: $(cat loads.out)"
expect_grep 'job &lt;script&gt;alert\(1\)&lt;/script&gt;' "$H"
expect_grep '&lt;img src=x onerror=alert\(2\)&gt; &amp; &quot;q&quot; &#39;a&#39;' "$H"
[ -z "$(ls "$T"/report.html.* 2>/dev/null)" ] || fail "a temp file was left"

mkdir -p home chrome
HOME=$T/home timeout 120 chromium --headless --no-sandbox --disable-gpu \
    --user-data-dir="$T/chrome" --screenshot="$T/out.png" \
    --window-size=1000,2400 "file://$H" >chromium.log 2>&1 ||
	fail "chromium: $(tail -n 5 chromium.log)"
[ -s out.png ] || fail "chromium wrote no PNG: $(tail -n 5 chromium.log)"

# The series' colours (cli/cmd_report.c): RPO, its limit, RTO, its limit,
# ok, failed runs, then the repositories, local and offsite.
cat >pngcheck.py <<'PY'
import collections, struct, sys, zlib

def load(path):
    d = open(path, "rb").read()
    assert d[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, hdr = 8, b"", None
    while pos < len(d):
        n, typ = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        elif typ == b"IEND":
            break
    w, h, depth, ctype, _, _, inter = hdr
    assert depth == 8 and ctype in (2, 6) and inter == 0, hdr
    bpp = 3 if ctype == 2 else 4
    raw, stride = zlib.decompress(idat), w * bpp
    zero = bytes(stride)
    prev, rows, i = bytearray(stride), [], 0
    for _ in range(h):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if f == 2 and line == zero:  # the row above again: blank space
            line = bytearray(prev)
        elif f != 0:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                if f == 1:
                    line[x] = (line[x] + a) & 255
                elif f == 2:
                    line[x] = (line[x] + b) & 255
                elif f == 3:
                    line[x] = (line[x] + (a + b) // 2) & 255
                else:
                    c = prev[x - bpp] if x >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    line[x] = (line[x] + (a if pa <= pb and pa <= pc else
                                          b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows

w, h, bpp, rows = load(sys.argv[1])
pixels = collections.Counter()
for r in rows:
    pixels.update(zip(r[0::bpp], r[1::bpp], r[2::bpp]))
want = [tuple(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in sys.argv[2:]]
count = [sum(n for px, n in pixels.items()
             if all(abs(px[j] - c[j]) <= 8 for j in range(3))) for c in want]
other = w * h - pixels[(255, 255, 255)]
assert (w, h) == (1000, 2400), (w, h)
# Not blank: text and charts cover a good part of the page.
assert other > w * h // 50, "nearly blank: %d pixels not white" % other
# A series is drawn when its colour covers more than its legend swatches
# could (about 50 pixels each, measured with the series left out).
seen = [c for c, n in zip(sys.argv[2:], count) if n >= 300]
print(" ".join("%s=%d" % (c, n) for c, n in zip(sys.argv[2:], count)))
print(len(seen))
PY
python3 pngcheck.py out.png '#1f77b4' '#d62728' '#9467bd' '#8c564b' \
    '#2ca02c' '#ff7f0e' '#17becf' '#bcbd22' >png.out 2>&1 ||
	fail "PNG check: $(cat png.out)"
expect_eq "chart series seen in the PNG ($(head -n 1 png.out))" 8 "$(tail -n 1 png.out)"

# ---- attention: a failed last run exits 14, as scheduler status does
conf st2
"$TOOLS/history-gen" -f "$T/st2" 90 >gen2.out || fail "history-gen: $(cat gen2.out)"
expect_status 14 "$COFFER" -c "$T/st2.conf" report
expect_grep '^ATTENTION: job nightly: its last run failed' "$T/out"
expect_status 14 "$COFFER" -c "$T/st2.conf" report --json
expect_eq "json attention" "true true" "$(jq -r '"\(.attention) \(.jobs[0].failed_last)"' "$T/out")"
expect_status 14 "$COFFER" -c "$T/st2.conf" scheduler status
# --state-dir reads another state database than the config's.
expect_status 0 "$COFFER" -c "$T/st2.conf" report --state-dir "$T/st" --json
expect_eq "state-dir" 90 "$(jq -r '.jobs[0].runs' "$T/out")"

# ---- usage errors: one line, exit 2
expect_status 2 "$COFFER" -c "$T/st.conf" report --json --html x.html
expect_grep 'not both' "$T/err"
expect_status 2 "$COFFER" -c "$T/st.conf" report --since soon
expect_status 2 "$COFFER" -c "$T/st.conf" report extra
[ ! -e x.html ] || fail "a refused report wrote its file"

# ---- a real job run records the repository sizes the report shows
conf real
mkdir src
head -c 200000 /dev/urandom >src/a
expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
expect_status 0 "$COFFER" -c "$T/real.conf" job run nightly
# The drill never ran: it is overdue, which needs attention.
expect_status 14 "$COFFER" -c "$T/real.conf" report
expect_grep '^ATTENTION: drill weekly: overdue' "$T/out"
expect_status 14 "$COFFER" -c "$T/real.conf" report --json
size=$(awk '$1 == "coffer_repository_size_bytes{repository=\"local\"}" { print $2 }' "$T/real.prom")
[ -n "$size" ] || fail "no size in the metrics file: $(cat "$T/real.prom")"
expect_eq "recorded size" "local $size" "$(jq -r '.repositories[] | select(.repository == "local") | "\(.repository) \(.sizes[-1][1] | floor)"' "$T/out")"
expect_eq "real run" "1 1" "$(jq -r '.jobs[0] | "\(.runs) \(.ok)"' "$T/out")"
