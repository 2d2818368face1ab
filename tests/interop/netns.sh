# shellcheck shell=bash
# The set-up and clean-up every interop test shares: a private network
# namespace with a TAP device in it.  Sourced, not run:
#
#   here=$(dirname "$(readlink -f "$0")")
#   . "$here/netns.sh"
#   ns_need_root                      # not root: "SKIP: ..." and exit 77
#   ns_need_tools ip curl             # one missing: "FAIL: ..." and exit 1
#   ns_setup pstest-http              # $ns, $tmp, the namespace, the exit trap
#   ns_tap 192.0.2.1/24               # pstap0 in $ns, the kernel side's address
#   ip netns exec "$ns" "$bin" run --tap pstap0 ... &
#   pid=$!
#   ns_kill_at_exit pid               # killed at exit unless the test set pid=""
#
# Network safety (docs: common rules): every address lives inside the
# namespace ns_setup creates ("PREFIX-$$", unique to this run) and nothing is
# configured in the machine's own namespace; ns_tap takes only addresses from
# the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)
# and checks that the namespace has no default route.  At exit, whatever the
# reason, the registered processes are killed, the namespace is deleted and
# the temporary directory removed.
#
# Defines:
#   ns, tmp                 the namespace's name and a private temporary directory
#   ns_need_root            exit 77 (skip) unless root
#   ns_need_tools TOOL...   exit 1 if a tool is not installed
#   ns_setup PREFIX         root check, $tmp, namespace PREFIX-$$ with lo up, trap
#   ns_tap ADDR/LEN|none [DEV]  TAP device DEV (pstap0) in the namespace, up,
#                           with the kernel side's address (none: no address)
#   in_ns CMD...            CMD inside the namespace (in the foreground: a
#                           backgrounded function's $! would name a subshell, so
#                           start background programs with ip netns exec itself)
#   fail MSG                print "FAIL: MSG", then run the test's own
#                           fail_details function if it defines one, exit 1
#   ns_kill_at_exit VAR...  at exit, kill and reap the pid held in each VAR
#                           (read then: a test sets VAR="" once it has waited)
#   ns_rm_at_exit PATH...   at exit, remove PATH too (anything outside $tmp)
#   ns_nginx_conf           on stdout, an nginx.conf for one worker in the
#                           foreground, every file it writes under $tmp, with
#                           one server whose directives are read from stdin

ns=""
tmp=""
ns_kill_vars=()
ns_rm_paths=()

ns_need_root() {
  if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root for network namespaces"; exit 77; fi
}

ns_need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (scripts/deps.sh test installs it)"; exit 1; }
  done
}

in_ns() { ip netns exec "$ns" "$@"; }

fail() {
  echo "FAIL: $*"
  if declare -F fail_details >/dev/null; then fail_details || true; fi
  exit 1
}

ns_kill_at_exit() { ns_kill_vars+=("$@"); }

ns_rm_at_exit() { ns_rm_paths+=("$@"); }

# The EXIT trap: processes first (they may hold the TAP device), then the
# namespace, then the files.
ns_cleanup() {
  local var p
  for var in "${ns_kill_vars[@]}"; do
    p=${!var:-}
    [ -n "$p" ] && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  [ -n "$tmp" ] && rm -rf "$tmp"
  for p in "${ns_rm_paths[@]}"; do rm -rf -- "$p"; done
}

ns_setup() {
  [ $# -eq 1 ] && [ -n "$1" ] || { echo "ns_setup: usage: ns_setup NAME-PREFIX" >&2; exit 1; }
  [ -z "$ns" ] || { echo "ns_setup: namespace $ns already set up" >&2; exit 1; }
  ns_need_root
  ns="$1-$$"
  tmp=$(mktemp -d)
  trap ns_cleanup EXIT
  ip netns add "$ns"
  in_ns ip link set lo up
}

# Documentation ranges only, and a prefix that stays inside them.
ns_doc_addr() {
  [[ $1 =~ ^(192\.0\.2|198\.51\.100|203\.0\.113)\.([0-9]{1,3})/(2[4-9]|3[0-2])$ ]] && [ "${BASH_REMATCH[2]}" -le 255 ]
}

ns_tap() {
  local addr=$1 dev=${2:-pstap0}
  [ -n "$ns" ] || { echo "ns_tap: call ns_setup first" >&2; exit 1; }
  if [ "$addr" != none ] && ! ns_doc_addr "$addr"; then
    echo "ns_tap: $addr is not in a documentation range (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)" >&2
    exit 1
  fi
  in_ns ip tuntap add dev "$dev" mode tap
  [ "$addr" = none ] || in_ns ip addr add "$addr" dev "$dev"
  in_ns ip link set "$dev" up
  if in_ns ip route | grep -q '^default'; then fail "the namespace has a default route"; fi
}

ns_nginx_conf() {
  local server
  server=$(cat)
  cat <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
events { worker_connections 64; }
http {
  access_log $tmp/access.log;
  client_body_temp_path $tmp/body;
  proxy_temp_path $tmp/proxy;
  fastcgi_temp_path $tmp/fastcgi;
  uwsgi_temp_path $tmp/uwsgi;
  scgi_temp_path $tmp/scgi;
  keepalive_timeout 30;
  server {
$server
  }
}
CONF
}
