#!/usr/bin/env bash
# The portstack program's help, errors and man page:
#  - every way to ask for help works and says the same (help CMD = CMD --help);
#  - each kind of bad argument gets its own clear message and exit status 2;
#  - every option the help names is in the man page, in its command's
#    section, and every option the man page names is in the help; every
#    option the parsers in src/cli accept is in the help;
#  - the man page renders without warnings and gives the program's version.
# Usage: test_cli_args.sh PATH/TO/portstack
set -euo pipefail
bin=$(readlink -f "$1")
self=$(readlink -f "$0")
src=$(cd "$(dirname "$self")/../.." && pwd)
man1="$src/docs/portstack.1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$tmp"

# A command line that parsed by mistake would open a TAP device: as root,
# keep that inside a throw-away network namespace.
isolate=()
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then isolate=(unshare -n); fi

# ---- help ---------------------------------------------------------------------
for h in --help -h help; do
  "$bin" $h >out.txt || fail "'portstack $h' exited non-zero"
  grep -q "^usage: portstack \[COMMAND\]" out.txt || fail "'portstack $h' printed no usage"
done
for c in demo run; do
  "$bin" $c --help >a.txt || fail "'portstack $c --help' exited non-zero"
  "$bin" help $c >b.txt || fail "'portstack help $c' exited non-zero"
  "$bin" --help $c >c.txt || fail "'portstack --help $c' exited non-zero"
  grep -q "^usage: portstack $c" a.txt || fail "'portstack $c --help' printed no usage"
  cmp -s a.txt b.txt && cmp -s a.txt c.txt || fail "'help $c', '--help $c' and '$c --help' differ"
done
version=$("$bin" --version) || fail "--version exited non-zero"
[[ $version =~ ^portstack\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version printed '$version'"

# ---- errors: a clear message and exit status 2 ----------------------------------
expect_err() { # MESSAGE ARGS...
  local want=$1 rc
  shift
  set +e; "${isolate[@]}" "$bin" "$@" >out.txt 2>err.txt; rc=$?; set -e
  [ $rc -eq 2 ] || { cat out.txt err.txt; fail "'portstack $*' exited $rc, expected 2"; }
  grep -qF -- "$want" err.txt || { cat err.txt; fail "'portstack $*' did not say: $want"; }
  [ "$(wc -l <err.txt)" -le 3 ] || { cat err.txt; fail "'portstack $*': the error is buried in $(wc -l <err.txt) lines"; }
}
ok=(run --tap t0 --address 192.0.2.2/24)
# commands
expect_err "unknown command 'frobnicate'" frobnicate
expect_err "unknown command 'frobnicate'" help frobnicate
expect_err "help takes one COMMAND" help run demo
# unknown options, missing values
expect_err "unknown option '--bogus'" "${ok[@]}" --bogus 1
expect_err "unknown option '--bogus'" "${ok[@]}" --bogus
expect_err "unknown option 'stray'" "${ok[@]}" stray
expect_err "--tap needs a value" run --tap
expect_err "--tap needs a value" run --tap --address 192.0.2.2/24
expect_err "--address needs a value" run --tap t0 --address
expect_err "--serve needs a value" "${ok[@]}" --serve --pcap x.pcap
expect_err "--tap and one of --address or --dhcp are required" run --address 192.0.2.2/24
expect_err "--tap and one of --address or --dhcp are required" "${ok[@]}" --dhcp
expect_err "--tap wants a device name (1..15 characters)" run --tap a-very-long-device-name --address 192.0.2.2/24
# addresses
expect_err "--address wants A.B.C.D/P (with a prefix length), not '192.0.2.2'" run --tap t0 --address 192.0.2.2
expect_err "--address wants A.B.C.D/P (with a prefix length), not '192.0.2.2/33'" run --tap t0 --address 192.0.2.2/33
expect_err "--address wants A.B.C.D/P (with a prefix length), not '192.0.2/24'" run --tap t0 --address 192.0.2/24
expect_err "--gateway wants an address, not 'router'" "${ok[@]}" --gateway router
expect_err "--dns wants an address, not '192.0.2.256'" "${ok[@]}" --dns 192.0.2.256
expect_err "--ping wants an address" "${ok[@]}" --ping example.org
expect_err "--sntp wants an address" "${ok[@]}" --sntp ntp
expect_err "--resolve needs --dns ADDR or --dhcp" "${ok[@]}" --resolve www.example
# services and ports
expect_err "unknown service 'gopher'" "${ok[@]}" --serve gopher:70
expect_err "unknown service 'gopher'" "${ok[@]}" --serve echo:7,gopher
expect_err "bad port '70000' for echo (1..65535)" "${ok[@]}" --serve echo:70000
expect_err "bad port '0' for discard (1..65535)" "${ok[@]}" --serve discard:0
expect_err "bad port '' for echo" "${ok[@]}" --serve echo:
expect_err "bad port 'x' for http" "${ok[@]}" --serve http:x
expect_err "--send wants ADDR:PORT:BYTES, not '192.0.2.1:70000:100'" "${ok[@]}" --send 192.0.2.1:70000:100
expect_err "--send wants ADDR:PORT:BYTES, not '192.0.2.1:7'" "${ok[@]}" --send 192.0.2.1:7
# URLs and bodies
expect_err "--get wants http" "${ok[@]}" --get ftp://192.0.2.1/f
expect_err "--get wants http" "${ok[@]}" --get http://server.example/
expect_err "--get wants http" "${ok[@]}" --get http://192.0.2.1:0/
expect_err "--get wants http" "${ok[@]}" --get http://192.0.2.1:65536/
expect_err "--post wants http" "${ok[@]}" --post http:///upload
get9=(); for i in $(seq 1 9); do get9+=(--get "http://192.0.2.1/$i"); done
expect_err "at most 8 requests" "${ok[@]}" "${get9[@]}"
expect_err "--data must follow a --post URL" "${ok[@]}" --data hello
expect_err "--data must follow a --post URL" "${ok[@]}" --get http://192.0.2.1/ --data hello
expect_err "--data must follow a --post URL (one each)" "${ok[@]}" --post http://192.0.2.1/ --data a --data b
expect_err "--data: cannot read $tmp/none.bin" "${ok[@]}" --post http://192.0.2.1/ --data @"$tmp/none.bin"
# numbers
expect_err "--mtu wants a number 576..1500, not '9000'" "${ok[@]}" --mtu 9000
expect_err "--mtu wants a number 576..1500, not '1500x'" "${ok[@]}" --mtu 1500x
expect_err "--ping-count wants a number 1..65536, not '0'" "${ok[@]}" --ping-count 0
expect_err "--ping-size wants a number 1..65507, not '-1'" "${ok[@]}" --ping-size -1
expect_err "--seed wants a number" "${ok[@]}" --seed seven
expect_err "--duration wants seconds (a number above 0), not 'soon'" "${ok[@]}" --duration soon
expect_err "--duration wants seconds (a number above 0), not '0'" "${ok[@]}" --duration 0
expect_err "--rcvbuf must be 2048.." "${ok[@]}" --rcvbuf 10
# the demo's own
expect_err "--loss takes a percentage 0..100" demo --loss 150

# ---- the help and the man page name the same options ------------------------------
[ -f "$man1" ] || fail "no man page at $man1"
longopts() { grep -oP '(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*' | sort -u; }
# The man page's text with the troff escapes for '-' and fonts undone.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$man1"; }
# One section (.SH TITLE up to the next .SH) of the man page.
section() { plain | awk -v t="$1" '/^\.SH /{on = ($0 == ".SH " t || $0 == ".SH \"" t "\"")} on'; }
same() { # WHAT A-FILE B-FILE A-NAME B-NAME
  local only_a only_b
  only_a=$(comm -23 "$2" "$3" | tr '\n' ' ')
  only_b=$(comm -13 "$2" "$3" | tr '\n' ' ')
  [ -z "$only_a" ] || fail "$1: in $4 but not in $5: $only_a"
  [ -z "$only_b" ] || fail "$1: in $5 but not in $4: $only_b"
}
# (--help, every command's, is compared in the program's own OPTIONS.)
for c in demo run; do
  "$bin" $c --help | longopts >help_full_$c.txt
  grep -vx -- --help help_full_$c.txt >help_$c.txt || true
  section "$(echo $c | tr a-z A-Z) OPTIONS" | longopts >man_full_$c.txt
  grep -vx -- --help man_full_$c.txt >man_$c.txt || true
  [ -s man_$c.txt ] || fail "the man page has no '$(echo $c | tr a-z A-Z) OPTIONS' section"
  same "portstack $c" help_$c.txt man_$c.txt "'$c --help'" "the man page's $c section"
done
# The program's own options (its help also shows a few of run's).
"$bin" --help | longopts >help_general.txt
section OPTIONS | longopts >man_general.txt
extra=$(comm -13 help_general.txt man_general.txt | tr '\n' ' ')
[ -z "$extra" ] || fail "the man page's OPTIONS has options 'portstack --help' does not: $extra"
# Every option the program's help names is somewhere in the man page, and
# the man page names no option that no help has.
grep -q -- "-h, --help" <("$bin" run --help) || fail "'run --help' does not list -h, --help"
cat help_general.txt help_demo.txt help_run.txt | sort -u >help_all.txt
plain | longopts >man_all.txt
same "all options" help_all.txt man_all.txt "the help" "the man page"
# Every option a parser in src/cli compares against is in its command's help.
parsed() { grep -ohP 'strcmp\([^,()]+, "\K--[a-z][a-z0-9-]*(?="\))' "$@" | sort -u; }
parsed "$src/src/cli/demo.c" >src_demo.txt
parsed "$src/src/cli/main.c" >src_general.txt
parsed $(ls "$src"/src/cli/*.c | grep -v -e /demo.c -e /main.c) >src_run.txt
cp help_general.txt help_full_general.txt
for c in general demo run; do
  missing=$( (grep -vx -- --help src_$c.txt || true) | comm -23 - help_full_$c.txt | tr '\n' ' ')
  [ -z "$missing" ] || fail "options parsed for '$c' but not in its help: $missing"
done
missing=$(comm -23 src_general.txt man_general.txt | tr '\n' ' ')
[ -z "$missing" ] || fail "the program's options not in the man page's OPTIONS: $missing"

# ---- the man page renders, cleanly, with the program's version ------------------------
grep -q "^\.TH PORTSTACK 1 .*\"${version}\"" "$man1" || fail "the man page's .TH does not say \"$version\""
if command -v man >/dev/null; then
  MANWIDTH=80 man --warnings -l "$man1" >man.txt 2>warn.txt || fail "man -l docs/portstack.1 failed"
  [ ! -s warn.txt ] || { cat warn.txt; fail "man -l docs/portstack.1 warns"; }
  grep -q "^RUN OPTIONS" man.txt && grep -q -- "--resolve NAME" man.txt || fail "the rendered man page lacks its sections"
fi
echo "PASS: help in every form; $(grep -c '^expect_err ' "$self") bad command lines refused clearly with status 2;" \
  "help, man page and parsers agree on $(wc -l <help_all.txt) options"
