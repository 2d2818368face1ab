#!/usr/bin/env bash
# bench/run.sh - portstack, lwIP and the Linux kernel side by side, as the
# echo target of the kernel's own `ping -f`, plus the in-process
# microbenchmarks (bench_core).
#
#   usage: sudo bench/run.sh [BUILD_DIR]        (default BUILD_DIR: build)
#   first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build
#
# Network safety: everything happens inside two network namespaces this
# script creates and removes (trap on exit): psb-$$ holds the pinging
# kernel, the TAP devices and one end of a veth pair; psb-$$-peer holds the
# other end of the veth (the Linux responder).  Addresses are from the
# documentation ranges of RFC 5737 only, there is no default route, IPv6 is
# disabled inside the namespaces (no router solicitations or MLD noise on
# the links), and nothing is configured in the machine's own namespace.
#
#   contender            link   pinger side         responder
#   portstack            TAP    psb0 192.0.2.1/24    build/portstack run, 192.0.2.2
#   lwIP 2.1.3 single    TAP    lwb0 198.51.100.1/24 lwip_tap_echo --mode single, .2
#   lwIP 2.1.3 tcpip     TAP    lwb0 198.51.100.1/24 lwip_tap_echo --mode tcpip, .2
#   Linux (kernel)       veth   vpb0 203.0.113.1/24  the peer namespace's kernel, .2
#
# The contenders run one after another, never at the same time.  Each
# measurement is bounded by count and by time (ping -c N -w SEC), each user
# space responder stops by itself (--duration) if this script dies, and the
# script stops it with SIGINT (by its PID) when done.  Raw outputs are kept
# in BUILD_DIR/bench-logs/.  Nothing asserts on timings.
#
# Tunables (environment): FLOOD_COUNT (20000), BIG_COUNT (2000),
# BIG_SIZE (4000), ROUNDS (3 runs of each, the median shown), PING_DEADLINE
# (120 s per ping run), CORE_TIME (0.2 s per bench_core run).
#
# The port system (bench_ports and lwip_ports, demux and ephemeral picks,
# side by side) runs last; PORTS_ONLY=1 runs only it (no root needed, no
# namespaces).  Its tunables: PORTS_TIME (0.2 s a run), PORTS_REPEAT (5 runs,
# the median shown), PORTS_MAX (100000 endpoints at most).
#
# TCP (bench_tcp in-process, lwIP's pcb sizes, bulk throughput over TAP
# against lwIP and the kernel over veth) runs before the port system;
# TCP_ONLY=1 runs only it (root, namespaces).  Tunables: TCP_MB (200),
# TCP_ROUNDS (3), TCP_TIMEOUT (120 s), TCP_BENCH_MB (100), TCP_RATE_TIME (1 s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(readlink -f "${1:-$root/build}")
FLOOD_COUNT=${FLOOD_COUNT:-20000}
BIG_COUNT=${BIG_COUNT:-2000}
BIG_SIZE=${BIG_SIZE:-4000}
PING_DEADLINE=${PING_DEADLINE:-120}
CORE_TIME=${CORE_TIME:-0.2}
ROUNDS=${ROUNDS:-3}
# The responders' own --duration bound: longer than every ping run of a
# contender could take together, so it never ends one early.
RESPONDER_MAX=$(((2 * ROUNDS + 1) * PING_DEADLINE + 60))

# ---- the port system: bench_ports (portstack) and lwip_ports (lwIP) ------------
# Demultiplexing with 10 to 100k connected UDP endpoints and ephemeral port
# picks at 0-100% occupancy, both stacks measured in-process by the same
# method (bench/bench_ports.c, bench/lwip_ports.c), then printed side by side.
# Defined here so that PORTS_ONLY=1 can run it alone: it needs neither root
# (unless liblwip-dev must be installed) nor any network namespace.
PORTS_TIME=${PORTS_TIME:-0.2}
PORTS_REPEAT=${PORTS_REPEAT:-5}
PORTS_MAX=${PORTS_MAX:-100000}
ports_bench() {
  local out="$build/bench-logs/ports" have_lwip=1
  mkdir -p "$out"
  rm -f "$out"/ports.*
  if [ ! -x "$build/bench_ports" ]; then
    echo "bench/run.sh: $build/bench_ports missing; build first (cmake --build $build)" >&2
    return 1
  fi
  if ! dpkg-query -W -f='${Status}' liblwip-dev 2>/dev/null | grep -q "install ok installed"; then
    if [ "$(id -u)" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev liblwip-dev
    else
      echo "(liblwip-dev is not installed and this is not root: the lwIP column stays empty)"
      have_lwip=0
    fi
  fi
  echo "== port system: $build/bench_ports --time $PORTS_TIME --repeat $PORTS_REPEAT --max $PORTS_MAX"
  "$build/bench_ports" --time "$PORTS_TIME" --repeat "$PORTS_REPEAT" --max "$PORTS_MAX" \
    --tsv "$out/ports.portstack.tsv" >"$out/ports.portstack.txt" 2>"$out/ports.portstack.err" ||
    { cat "$out/ports.portstack.err" >&2; echo "bench_ports failed (its checks, not a timing)" >&2; return 1; }
  : >"$out/ports.lwip.tsv"
  if [ "$have_lwip" = 1 ]; then
    gcc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
      -I/usr/include/lwip "$root/bench/lwip_ports.c" -o "$build/lwip_ports" -llwip -lpthread
    echo "== port system: $build/lwip_ports (lwIP $(dpkg-query -W -f='${Version}' liblwip-dev)), same options"
    "$build/lwip_ports" --time "$PORTS_TIME" --repeat "$PORTS_REPEAT" --max "$PORTS_MAX" \
      --tsv "$out/ports.lwip.tsv" >"$out/ports.lwip.txt" 2>"$out/ports.lwip.err" ||
      { cat "$out/ports.lwip.err" >&2; echo "lwip_ports failed (its checks, not a timing)" >&2; return 1; }
  fi
  echo
  # Both TSVs: key, median ns, min, max, iterations (ratio.* rows: key, value).
  awk -F'\t' -v ptxt="$out/ports.portstack.txt" '
    FNR == 1 { side++ }
    { v[side == 1 ? "ps" : "lw", $1] = $2 }
    function t(x) {
      if (x == "") return "-"
      if (x >= 1e6) return sprintf("%.2f ms", x / 1e6)
      if (x >= 1e4) return sprintf("%.1f us", x / 1e3)
      return sprintf("%.1f ns", x)
    }
    function ratio(a, b) {
      if (a == "" || b == "" || b + 0 == 0) return "-"
      return (a / b >= 100) ? sprintf("%.0fx", a / b) : sprintf("%.1fx", a / b)
    }
    function demux(title, what,   i, n, lbl) {
      printf "%s\n\n", title
      printf "| endpoints | portstack: ps_ports_lookup alone | portstack: full input path | lwIP: ip4_input (full path) | lwIP / portstack (full paths) |\n"
      printf "|---:|---:|---:|---:|---:|\n"
      for (i = 1; i <= 4; i++) {
        n = sizes[i]
        if (v["ps", "demux.lookup." what "." n] == "" && v["ps", "demux.input." what "." n] == "" &&
            v["lw", "demux.input." what "." n] == "") continue
        printf "| %s | %s | %s | %s | %s |\n", names[i], t(v["ps", "demux.lookup." what "." n]),
          t(v["ps", "demux.input." what "." n]), t(v["lw", "demux.input." what "." n]),
          ratio(v["lw", "demux.input." what "." n], v["ps", "demux.input." what "." n])
      }
      printf "\n"
    }
    function pick(title, what, lwname,   i, p) {
      printf "%s\n\n", title
      printf "| ephemeral range occupied | portstack | lwIP: %s | lwIP / portstack |\n", lwname
      printf "|---:|---:|---:|---:|\n"
      for (i = 1; i <= 5; i++) {
        p = occ[i]
        printf "| %s%% %s| %s | %s | %s |\n", p, (p == 100 ? "(the pick fails) " : ""),
          t(v["ps", "pick." what "." p]), t(v["lw", "pick." what "." p]),
          ratio(v["lw", "pick." what "." p], v["ps", "pick." what "." p])
      }
      printf "\n"
    }
    function r(x) { return x == "" ? "-" : sprintf("%.2fx", x) }
    END {
      split("10 1000 10000 100000", sizes, " "); split("10 1k 10k 100k", names, " ")
      split("0 50 90 99 100", occ, " ")
      demux("demux, a datagram to one of N connected UDP endpoints (random flows), time per datagram", "hit")
      demux("demux, a datagram to a port nobody holds (ICMP port unreachable sent), time per datagram", "miss")
      demux("demux, a datagram to a wildcard listener (0.0.0.0:7) among N connected endpoints", "wild")
      printf "demux, the same lookup alone for 16 hot flows among N (portstack; the algorithm without cache misses)\n\n"
      printf "| endpoints | portstack: ps_ports_lookup |\n|---:|---:|\n"
      for (i = 1; i <= 4; i++) if (v["ps", "demux.lookup.hot." sizes[i]] != "")
        printf "| %s | %s |\n", names[i], t(v["ps", "demux.lookup.hot." sizes[i]])
      printf "\nset-up, connecting N endpoints one after another (one cold pass), time per endpoint\n\n"
      printf "| endpoints | portstack: ps_ports_connect | lwIP: udp_new + udp_bind + udp_connect | lwIP / portstack |\n"
      printf "|---:|---:|---:|---:|\n"
      for (i = 1; i <= 4; i++) if (v["ps", "demux.setup." sizes[i]] != "" || v["lw", "demux.setup." sizes[i]] != "")
        printf "| %s | %s | %s | %s |\n", names[i], t(v["ps", "demux.setup." sizes[i]]),
          t(v["lw", "demux.setup." sizes[i]]), ratio(v["lw", "demux.setup." sizes[i]], v["ps", "demux.setup." sizes[i]])
      printf "\n"
      pick("ephemeral pick for bind(port 0), then release (occupancy constant)", "bind", "udp_bind(pcb, ANY, 0)")
      pick("ephemeral pick for connect() of an unbound socket, then release", "connect", "udp_connect")
      printf "scaling (informational; targets from issue 3)\n\n"
      printf "| ratio | portstack | lwIP | target |\n|---|---:|---:|---:|\n"
      printf "| demux at the largest N / at 10: lookup alone, random flows | %s | - | <= 1.5x |\n", r(v["ps", "ratio.demux.lookup"])
      printf "| demux at the largest N / at 10: lookup alone, 16 hot flows | %s | - | <= 1.5x |\n", r(v["ps", "ratio.demux.hot"])
      printf "| demux at the largest N / at 10: full input path, random flows | %s | %s | <= 1.5x |\n", r(v["ps", "ratio.demux.input"]), r(v["lw", "ratio.demux.input"])
      printf "| bind(0) pick at 99%% / at 0%% | %s | %s | <= 3x |\n", r(v["ps", "ratio.pick.bind"]), r(v["lw", "ratio.pick.bind"])
      printf "| connect() pick at 99%% / at 0%% | %s | %s | <= 3x |\n", r(v["ps", "ratio.pick.connect"]), r(v["lw", "ratio.pick.connect"])
      printf "\n"
      while ((getline line < ptxt) > 0) if (line ~ /target (met|missed)|skipped|memory reference/) print line
    }' "$out/ports.portstack.tsv" "$out/ports.lwip.tsv"
  echo
  echo "Each cell: the median of $PORTS_REPEAT runs of ~$PORTS_TIME s (min and max in $out/ports.*.tsv;"
  echo "each program's own tables in $out/ports.*.txt).  portstack's full input path: an Ethernet + IPv4 +"
  echo "UDP frame into ps_iface_input, the datagram queued and read by the socket's readiness callback;"
  echo "lwIP's: the same IPv4 + UDP packet into a fresh PBUF_RAM pbuf, ip4_input, read in the recv callback."
}

if [ "${PORTS_ONLY:-0}" = 1 ]; then
  ports_bench
  exit
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run.sh: needs root (network namespaces, TAP devices, ping -f); run: sudo $0 $*" >&2
  exit 1
fi
for f in "$build/portstack" "$build/bench_core"; do
  if [ ! -x "$f" ]; then
    echo "bench/run.sh: $f missing; build first:" >&2
    echo "  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2
    exit 1
  fi
done

# ---- what the comparison needs, installed idempotently (Debian 12) ------------
want=(gcc libc6-dev liblwip-dev iproute2 iputils-ping)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ---- the lwIP host, built outside CMake so portstack never depends on lwIP ------
lwip_bin="$build/lwip_tap_echo"
gcc -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
  -I/usr/include/lwip "$root/bench/lwip_tap_echo.c" "$root/bench/lwip_tapnetif.c" -o "$lwip_bin" -llwip -lpthread
lwip_version=$(dpkg-query -W -f='${Version}' liblwip-dev)

logs="$build/bench-logs"
rm -rf "$logs"
mkdir -p "$logs"

# ---- the namespaces -----------------------------------------------------------
ns="psb-$$"
peer="psb-$$-peer"
responder_pid=""
cleanup() {
  if [ -n "$responder_pid" ]; then
    kill -INT "$responder_pid" 2>/dev/null || true
    wait "$responder_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  ip netns del "$peer" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_ns() { ip netns exec "$ns" "$@"; }
in_peer_ns() { ip netns exec "$peer" "$@"; }

ip netns add "$ns"
ip netns add "$peer"
for n in "$ns" "$peer"; do
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$n" ip link set lo up
done
# TAP devices for the user-space stacks.
in_ns ip tuntap add dev psb0 mode tap
in_ns ip addr add 192.0.2.1/24 dev psb0
in_ns ip link set psb0 up
in_ns ip tuntap add dev lwb0 mode tap
in_ns ip addr add 198.51.100.1/24 dev lwb0
in_ns ip link set lwb0 up
# A veth pair from the pinger's namespace into the peer namespace.
ip -n "$ns" link add vpb0 type veth peer name vpb1 netns "$peer"
in_ns ip addr add 203.0.113.1/24 dev vpb0
in_peer_ns ip addr add 203.0.113.2/24 dev vpb1
in_ns ip link set vpb0 up
in_peer_ns ip link set vpb1 up

clk_tck=$(getconf CLK_TCK)

# utime+stime of a process (all its threads), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Time on CPU of all its threads from the scheduler, in nanoseconds.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }

# Wait until `addr` answers a ping (the responder is up and ARP works).
wait_up() {
  local addr=$1 i
  for i in $(seq 1 50); do
    in_ns ping -c 1 -W 1 "$addr" >/dev/null 2>&1 && return 0
    if [ -n "$responder_pid" ] && ! kill -0 "$responder_pid" 2>/dev/null; then return 1; fi
    sleep 0.1
  done
  return 1
}

# One ping run: name, addr, count, size.  Leaves the ping output in
# $logs/<name>.ping and the responder CPU used (if any) in <name>.cpu.
ping_run() {
  local name=$1 addr=$2 count=$3 size=$4 t0=0 t1=0 n0=0 n1=0
  if [ -n "$responder_pid" ]; then t0=$(cpu_ticks "$responder_pid"); n0=$(cpu_ns "$responder_pid"); fi
  in_ns ping -f -q -c "$count" -s "$size" -w "$PING_DEADLINE" "$addr" >"$logs/$name.ping" 2>&1 || true
  if [ -n "$responder_pid" ]; then
    t1=$(cpu_ticks "$responder_pid")
    n1=$(cpu_ns "$responder_pid")
    echo "$((t1 - t0)) $((n1 - n0))" >"$logs/$name.cpu"
  else
    echo "- -" >"$logs/$name.cpu"
  fi
}

# Measure one contender: key, address.  A warm-up, then ROUNDS floods and
# ROUNDS fragmented runs; the table shows the median round.
measure() {
  local key=$1 addr=$2 r
  in_ns ping -f -q -c 500 -w 30 "$addr" >"$logs/$key.warmup.ping" 2>&1 || true
  for r in $(seq 1 "$ROUNDS"); do
    ping_run "$key.flood.r$r" "$addr" "$FLOOD_COUNT" 56
    ping_run "$key.big.r$r" "$addr" "$BIG_COUNT" "$BIG_SIZE"
  done
}

start_responder() {
  local key=$1
  shift
  ip netns exec "$ns" "$@" >"$logs/$key.responder" 2>&1 &
  responder_pid=$!
}

stop_responder() {
  kill -INT "$responder_pid" 2>/dev/null || true
  wait "$responder_pid" 2>/dev/null || true
  responder_pid=""
}

# ---- TCP: stack-only cost (bench_tcp) and bulk throughput over TAP -------------
# bench_tcp (in-process, two stacks on the simulated wire): CPU per MB, the
# connect+accept+close rate with 10 and 10,000 idle connections, memory per
# connection and per TIME_WAIT record; next to it lwIP's sizeof(struct
# tcp_pcb) and sizeof(struct tcp_pcb_listen) from a tiny program compiled
# against lwIP's headers.  Then bulk TCP throughput, the kernel of namespace
# psb-PID as the client of each contender in turn (never two at once):
#   portstack  TAP psb0, `portstack run --serve echo:7,discard:9`, 192.0.2.2
#              (with the TAP offloads; again with TCP_BIG_BUF buffers; again
#              with --no-offload)
#   lwIP 2.1.3 TAP lwb0, bench/lwip_tap_tcp.c (one thread, raw API), 198.51.100.2
#   Linux      veth vpb0/vpb1, bench/tcp_blast.c serve in the peer namespace, 203.0.113.2
# with bench/tcp_blast.c as the client: "discard" sends TCP_MB MB and waits
# for the server's close (kernel -> stack); "echo" sends TCP_MB MB and reads
# them back at the same time, checking every byte (kernel <-> stack; the rate
# is that of the echoed stream).  Each client run is bounded by its own
# timeout (TCP_TIMEOUT s, and `timeout` around it); each server stops by
# itself (--duration) and is stopped with SIGINT by PID.  TCP_ONLY=1 runs
# only this section (root: namespaces).  Tunables: TCP_MB (200), TCP_ROUNDS
# (5, the median shown), TCP_TIMEOUT (120 s a run), TCP_BENCH_MB (100 MB each
# way in bench_tcp), TCP_RATE_TIME (1 s per connection-rate cell),
# TCP_BIG_BUF (262144: --rcvbuf and --sndbuf of the second portstack run).
TCP_MB=${TCP_MB:-200}
TCP_ROUNDS=${TCP_ROUNDS:-5}
TCP_BIG_BUF=${TCP_BIG_BUF:-262144}
TCP_TIMEOUT=${TCP_TIMEOUT:-120}
TCP_BENCH_MB=${TCP_BENCH_MB:-100}
TCP_RATE_TIME=${TCP_RATE_TIME:-1}
tcp_bench() {
  local out="$logs/tcp" k r mode
  local server_max=$(((2 * TCP_ROUNDS + 2) * (TCP_TIMEOUT + 10) + 60))
  mkdir -p "$out"
  if [ ! -x "$build/bench_tcp" ]; then
    echo "bench/run.sh: $build/bench_tcp missing; build first (cmake --build $build)" >&2
    return 1
  fi
  local cflags=(-std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
  gcc "${cflags[@]}" -I/usr/include/lwip "$root/bench/lwip_tap_tcp.c" "$root/bench/lwip_tapnetif.c" \
    -o "$build/lwip_tap_tcp" -llwip -lpthread
  gcc "${cflags[@]}" "$root/bench/tcp_blast.c" -o "$build/tcp_blast"

  echo "== TCP, stack-only: $build/bench_tcp --mb $TCP_BENCH_MB --rate-time $TCP_RATE_TIME"
  echo
  "$build/bench_tcp" --mb "$TCP_BENCH_MB" --rate-time "$TCP_RATE_TIME" --tsv "$out/bench_tcp.tsv" \
    2>"$out/bench_tcp.err" | tee "$out/bench_tcp.txt" ||
    { cat "$out/bench_tcp.err" >&2; echo "bench_tcp failed (its checks, not a timing)" >&2; return 1; }

  # lwIP's control blocks, as its headers declare them: Debian's build
  # (dual-stack, its lwipopts.h; the library's own memp pool sizes printed
  # next to it), the same options with LWIP_IPV6 0, and lwIP's defaults
  # (opt.h alone: IPv4, no window scaling, no keepalive...).
  cat >"$out/lwip_sizes.c" <<'CEOF'
#include <stdio.h>
#include "lwip/tcp.h"
#ifdef WITH_LIB
#include "lwip/memp.h"
#include "lwip/priv/memp_priv.h"
#endif
int main(void)
{
    printf("%zu %zu", sizeof(struct tcp_pcb), sizeof(struct tcp_pcb_listen));
#ifdef WITH_LIB
    printf(" %u %u", (unsigned)memp_pools[MEMP_TCP_PCB]->size, (unsigned)memp_pools[MEMP_TCP_PCB_LISTEN]->size);
#endif
    printf("\n");
    return 0;
}
CEOF
  mkdir -p "$out/lwip-v4" "$out/lwip-defaults"
  printf '#include "/usr/include/lwip/lwipopts.h"\n#undef LWIP_IPV6\n#define LWIP_IPV6 0\n' >"$out/lwip-v4/lwipopts.h"
  printf '#define NO_SYS 1\n#define LWIP_IPV4 1\n#define LWIP_IPV6 0\n#define LWIP_TCP 1\n' >"$out/lwip-defaults/lwipopts.h"
  gcc "${cflags[@]}" -DWITH_LIB -I/usr/include/lwip "$out/lwip_sizes.c" -o "$out/lwip_sizes" -llwip -lpthread
  gcc "${cflags[@]}" -I"$out/lwip-v4" -I/usr/include/lwip "$out/lwip_sizes.c" -o "$out/lwip_sizes_v4"
  gcc "${cflags[@]}" -I"$out/lwip-defaults" -I/usr/include/lwip "$out/lwip_sizes.c" -o "$out/lwip_sizes_def"
  local deb v4 def
  deb=$("$out/lwip_sizes")
  v4=$("$out/lwip_sizes_v4")
  def=$("$out/lwip_sizes_def")
  echo "== TCP memory: portstack (bench_tcp, measured from the heap) and lwIP (sizeof, from its headers)"
  echo
  awk -v deb="$deb" -v v4="$v4" -v def="$def" -F'\t' '
    { v[$1] = $2 }
    END {
      split(deb, d, " "); split(v4, f, " "); split(def, e, " ")
      extra = v["mem.conn_heap_per_end"] - v["mem.conn_rings"]
      printf "| per connection, buffers excluded | portstack | lwIP 2.1.3: Debian build (IPv4+IPv6) | same options, IPv4 only | lwIP defaults, IPv4 only |\n"
      printf "|---|---:|---:|---:|---:|\n"
      printf "| established idle connection | %.0f B (slot %.0f + heap %.0f) | %d B tcp_pcb (library pool: %d) | %d B | %d B |\n",
        v["mem.slot"] + extra, v["mem.slot"], extra, d[1], d[3], f[1], e[1]
      printf "| listening socket | %.0f B (a slot) | %d B tcp_pcb_listen (library pool: %d) | %d B | %d B |\n",
        v["mem.slot"], d[2], d[4], f[2], e[2]
      printf "| TIME_WAIT record | %.0f B (%s) | %d B (a full tcp_pcb) | %d B | %d B |\n",
        v["mem.tw_record"], v["mem.tw_holds_slot"] ? "a full slot + " sprintf("%.0f", v["mem.tw_held_heap"]) " B of heap still held" : "compact record",
        d[1], f[1], e[1]
      printf "\nportstack / lwIP (Debian build) per established connection: %.2fx; target: at or below lwIP (216 B)\n",
        (v["mem.slot"] + extra) / d[1]
    }' "$out/bench_tcp.tsv"
  echo

  # ---- bulk throughput over TAP (and veth for Linux) ----
  # Like cpu_ns, with %.0f: mawk's printf %d stops at 2^31 ns (2.1 s).
  tcp_cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }
  run_client() { # key mode addr round
    local key=$1 mode=$2 addr=$3 r=$4 n0=0 n1=0
    if [ -n "$responder_pid" ]; then n0=$(tcp_cpu_ns "$responder_pid"); fi
    timeout $((TCP_TIMEOUT + 10)) ip netns exec "$ns" "$build/tcp_blast" "$mode" "$addr" \
      "$([ "$mode" = echo ] && echo 7 || echo 9)" "$TCP_MB" "$TCP_TIMEOUT" >"$out/$key.$mode.r$r.txt" 2>&1 || true
    if [ -n "$responder_pid" ] && kill -0 "$responder_pid" 2>/dev/null; then
      n1=$(tcp_cpu_ns "$responder_pid")
      echo "$((n1 - n0))" >"$out/$key.$mode.r$r.cpu"
    else
      echo "-" >"$out/$key.$mode.r$r.cpu"
    fi
    sed 's/^/    /' "$out/$key.$mode.r$r.txt"
  }
  tcp_measure() { # key addr
    local key=$1 addr=$2 r
    # Warm-up: ARP, caches, the server's first connection.
    timeout 60 ip netns exec "$ns" "$build/tcp_blast" discard "$addr" 9 10 50 >"$out/$key.warmup.txt" 2>&1 || true
    for r in $(seq 1 "$TCP_ROUNDS"); do
      run_client "$key" discard "$addr" "$r"
      run_client "$key" echo "$addr" "$r"
    done
  }

  echo "== TCP bulk: portstack over TAP (192.0.2.2), $TCP_MB MB a run, $TCP_ROUNDS rounds"
  start_responder tcp-portstack "$build/portstack" run --tap psb0 --address 192.0.2.2/24 \
    --serve echo:7,discard:9 --duration "$server_max"
  wait_up 192.0.2.2 || { cat "$logs/tcp-portstack.responder"; echo "portstack did not come up" >&2; return 1; }
  tcp_measure portstack 192.0.2.2
  stop_responder
  mv "$logs/tcp-portstack.responder" "$out/portstack.responder"

  # The same with buffers nearer the kernel's: its receive buffer starts at
  # 128 KiB and autotunes up to several MB (net.ipv4.tcp_rmem), where
  # portstack's default is 64 KiB, which caps a 64 KiB super-packet stream
  # at one in flight.
  echo "== TCP bulk: portstack over TAP, $((TCP_BIG_BUF / 1024)) KiB buffers, $TCP_MB MB a run, $TCP_ROUNDS rounds (kernel tcp_rmem: $(cat /proc/sys/net/ipv4/tcp_rmem 2>/dev/null | tr '\t' ' '))"
  start_responder tcp-big "$build/portstack" run --tap psb0 --address 192.0.2.2/24 \
    --rcvbuf "$TCP_BIG_BUF" --sndbuf "$TCP_BIG_BUF" --serve echo:7,discard:9 --duration "$server_max"
  wait_up 192.0.2.2 || { cat "$logs/tcp-big.responder"; echo "portstack did not come up" >&2; return 1; }
  tcp_measure big 192.0.2.2
  stop_responder
  mv "$logs/tcp-big.responder" "$out/big.responder"

  # The same without the TAP device's offloads: one frame per system call.
  echo "== TCP bulk: portstack over TAP, plain frames (--no-offload), $TCP_MB MB a run, $TCP_ROUNDS rounds"
  start_responder tcp-plain "$build/portstack" run --tap psb0 --address 192.0.2.2/24 --no-offload \
    --serve echo:7,discard:9 --duration "$server_max"
  wait_up 192.0.2.2 || { cat "$logs/tcp-plain.responder"; echo "portstack did not come up" >&2; return 1; }
  tcp_measure plain 192.0.2.2
  stop_responder
  mv "$logs/tcp-plain.responder" "$out/plain.responder"

  echo "== TCP bulk: lwIP $lwip_version over TAP (198.51.100.2), $TCP_MB MB a run, $TCP_ROUNDS rounds"
  start_responder tcp-lwip "$build/lwip_tap_tcp" --tap lwb0 --address 198.51.100.2/24 --duration "$server_max"
  wait_up 198.51.100.2 || { cat "$logs/tcp-lwip.responder"; echo "lwIP did not come up" >&2; return 1; }
  tcp_measure lwip 198.51.100.2
  stop_responder
  mv "$logs/tcp-lwip.responder" "$out/lwip.responder"

  echo "== TCP bulk: Linux over veth (203.0.113.2), $TCP_MB MB a run, $TCP_ROUNDS rounds"
  ip netns exec "$peer" "$build/tcp_blast" serve 9 7 "$server_max" >"$out/linux.responder" 2>&1 &
  responder_pid=$!
  wait_up 203.0.113.2 || { echo "the peer namespace does not answer" >&2; return 1; }
  sleep 0.2 # the server's listen()
  tcp_measure linux 203.0.113.2
  stop_responder

  # The table: median round (by MB/s) of each cell.
  echo
  echo "== TCP bulk throughput, $TCP_MB MB a run (MB = 10^6 bytes), median of $TCP_ROUNDS rounds"
  echo
  local lines=""
  for k in portstack big plain lwip linux; do
    for mode in discard echo; do
      local rates="" r rate cpu
      for r in $(seq 1 "$TCP_ROUNDS"); do
        rate=$(awk '/^tcp_blast:/ && / ok$/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "MB/s,") print $i}' "$out/$k.$mode.r$r.txt")
        cpu=$(cat "$out/$k.$mode.r$r.cpu")
        rates+="${rate:-0} $cpu"$'\n'
      done
      lines+="$k $mode $(printf "%s" "$rates" | sort -n | awk -v m=$(((TCP_ROUNDS + 1) / 2)) -v mb="$TCP_MB" '
        { all = all (NR > 1 ? "/" : "") $1 }
        NR == m { med = $1; c = ($2 == "-" ? "-" : sprintf("%.2f", $2 / 1e6 / mb)) }
        END { printf "%s %s %s", med, c, all }')"$'\n'
    done
  done
  printf "%s" "$lines" >"$out/summary.txt"
  awk -v kib="$((TCP_BIG_BUF / 1024))" '
    { rate[$1, $2] = $3; cpu[$1, $2] = $4; all[$1, $2] = $5 }
    function x(a, b) { return (b + 0 > 0 && a + 0 > 0) ? sprintf("%.2fx", a / b) : "-" }
    function met(v, t) { return v == "-" ? "" : (substr(v, 1, length(v) - 1) + 0 >= t ? " (met)" : " (missed)") }
    END {
      printf "| direction | portstack (TAP) | portstack, %d KiB buffers (TAP) | portstack, --no-offload (TAP) | lwIP 2.1.3 (TAP) | Linux (veth) | portstack / lwIP (target >= 2x) | portstack / Linux (target >= 0.5x) | portstack %d KiB / Linux |\n", kib, kib
      printf "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
      split("discard echo", m, " ")
      name["discard"] = "kernel -> stack (discard), MB/s"
      name["echo"] = "kernel <-> stack (echo, the echoed stream), MB/s"
      for (i = 1; i <= 2; i++) {
        d = m[i]
        a = x(rate["portstack", d], rate["lwip", d]); b = x(rate["portstack", d], rate["linux", d])
        c = x(rate["big", d], rate["linux", d])
        printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s%s | %s%s | %s%s |\n", name[d], rate["portstack", d], rate["big", d],
          rate["plain", d], rate["lwip", d], rate["linux", d], a, met(a, 2), b, met(b, 0.5), c, met(c, 0.5)
      }
      for (i = 1; i <= 2; i++) {
        d = m[i]
        printf "| %s: all rounds, MB/s | %s | %s | %s | %s | %s | | | |\n", d, all["portstack", d], all["big", d], all["plain", d], all["lwip", d], all["linux", d]
      }
      for (i = 1; i <= 2; i++) {
        d = m[i]
        printf "| %s: server process CPU per MB (ms) | %s | %s | %s | %s | %s | | | |\n", d, cpu["portstack", d], cpu["big", d], cpu["plain", d], cpu["lwip", d], cpu["linux", d]
      }
    }' "$out/summary.txt"
  echo
  echo "Informational only.  Server CPU: schedstat time of the server process during the run / MB; for"
  echo "the TAP stacks it includes the kernel work of their read()/write() syscalls, for Linux only the"
  echo "server's syscalls (softirq work elsewhere is not attributed).  Raw outputs: $out/"
}

if [ "${TCP_ONLY:-0}" = 1 ]; then
  tcp_bench
  exit
fi

echo "== portstack over TAP (192.0.2.2)"
start_responder portstack "$build/portstack" run --tap psb0 --address 192.0.2.2/24 --duration "$RESPONDER_MAX"
wait_up 192.0.2.2 || { cat "$logs/portstack.responder"; echo "portstack did not come up" >&2; exit 1; }
measure portstack 192.0.2.2
stop_responder

echo "== lwIP $lwip_version over TAP, one thread (198.51.100.2)"
start_responder lwip1 "$lwip_bin" --tap lwb0 --address 198.51.100.2/24 --mode single --duration "$RESPONDER_MAX"
wait_up 198.51.100.2 || { cat "$logs/lwip1.responder"; echo "lwIP did not come up" >&2; exit 1; }
measure lwip1 198.51.100.2
stop_responder

echo "== lwIP $lwip_version over TAP, tcpip thread (198.51.100.2)"
start_responder lwip2 "$lwip_bin" --tap lwb0 --address 198.51.100.2/24 --mode tcpip --duration "$RESPONDER_MAX"
wait_up 198.51.100.2 || { cat "$logs/lwip2.responder"; echo "lwIP did not come up" >&2; exit 1; }
measure lwip2 198.51.100.2
stop_responder

echo "== Linux kernel over veth (203.0.113.2)"
wait_up 203.0.113.2 || { echo "the peer namespace does not answer" >&2; exit 1; }
measure linux 203.0.113.2

# ---- the table ----------------------------------------------------------------
# Fields of a ping summary: sent recv loss time_ms min avg max mdev
ping_fields() {
  awk '
    /packets transmitted/ {
      for (i = 1; i <= NF; i++) {
        if ($(i + 1) ~ /^packets$/) sent = $i
        if ($(i + 1) ~ /^received/) recv = $i
        if ($(i + 1) == "packet" && $(i + 2) ~ /^loss/) loss = $i
        if ($i == "time") { t = $(i + 1); sub(/ms.*/, "", t) }
      }
    }
    /^rtt/ { split($4, r, "/") }
    END {
      printf "%s %s %s %s %s %s %s %s\n", sent ? sent : 0, recv ? recv : 0, loss ? loss : "?", t ? t : 0,
        r[1] ? r[1] : "-", r[2] ? r[2] : "-", r[3] ? r[3] : "-", r[4] ? r[4] : "-"
    }' "$1"
}

keys=(portstack lwip1 lwip2 linux)
heads=("portstack (TAP)" "lwIP single (TAP)" "lwIP tcpip (TAP)" "Linux (veth)")
W=25
row() { # label, then one cell per contender
  printf "| %-34s |" "$1"
  shift
  for c in "$@"; do printf " %-${W}s |" "$c"; done
  printf "\n"
}
rule() {
  local i line="|" dash
  dash=$(printf '%*s' 36 '' | tr ' ' -)
  line+="$dash|"
  dash=$(printf '%*s' $((W + 2)) '' | tr ' ' -)
  for i in "${keys[@]}"; do line+="$dash|"; done
  echo "$line"
}

# echoes/s of one round's ping output ("-" if it has no time).
round_pps() {
  read -r _ recv _ t _ < <(ping_fields "$1")
  if [ "${t:-0}" -gt 0 ] 2>/dev/null; then awk -v r="$recv" -v t="$t" 'BEGIN {printf "%.0f\n", r * 1000 / t}'; else echo 0; fi
}

table_for() { # run name (flood|big), payload size
  local run=$1 size=$2 k r
  local c_sent=() c_loss=() c_rtt=() c_time=() c_pps=() c_all=() c_cpu=() c_cpus=() c_per=()
  for k in "${keys[@]}"; do
    # The median round by echoes/s.
    local list="" best
    for r in $(seq 1 "$ROUNDS"); do list+="$(round_pps "$logs/$k.$run.r$r.ping") $r"$'\n'; done
    best=$(printf "%s" "$list" | sort -n | awk -v m=$(((ROUNDS + 1) / 2)) 'NR == m {print $2}')
    c_all+=("$(printf "%s" "$list" | sort -n | awk '{printf "%s%s", (NR > 1 ? " " : ""), $1}')")
    read -r sent recv loss t min avg max mdev < <(ping_fields "$logs/$k.$run.r$best.ping")
    read -r ticks ns_used <"$logs/$k.$run.r$best.cpu"
    c_sent+=("$sent / $recv")
    c_loss+=("$loss")
    c_rtt+=("$min/$avg/$max/$mdev")
    c_time+=("$t")
    c_pps+=("$(round_pps "$logs/$k.$run.r$best.ping")")
    if [ "$ticks" = "-" ]; then
      c_cpu+=("n/a (kernel softirq)")
      c_cpus+=("n/a (kernel softirq)")
      c_per+=("n/a (kernel softirq)")
    else
      c_cpu+=("$((ticks * 1000 / clk_tck))")
      c_cpus+=("$(awk -v n="$ns_used" 'BEGIN {printf "%.1f", n / 1e6}')")
      if [ "$recv" -gt 0 ]; then
        c_per+=("$(awk -v n="$ns_used" -v r="$recv" 'BEGIN {printf "%.2f", n / 1e3 / r}')")
      else
        c_per+=("-")
      fi
    fi
  done
  row "ping -f -s $size (median of $ROUNDS)" "${heads[@]}"
  rule
  row "sent / received" "${c_sent[@]}"
  row "loss" "${c_loss[@]}"
  row "rtt min/avg/max/mdev (ms)" "${c_rtt[@]}"
  row "total time (ms)" "${c_time[@]}"
  row "echoes/s (received / time)" "${c_pps[@]}"
  row "echoes/s, all rounds" "${c_all[@]}"
  row "responder CPU, utime+stime (ms)" "${c_cpu[@]}"
  row "responder CPU, schedstat (ms)" "${c_cpus[@]}"
  row "responder CPU per echo (us)" "${c_per[@]}"
}

echo
echo "== machine"
echo "nproc $(nproc); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); kernel $(uname -r); lwIP $lwip_version (Debian)"
echo
echo "== ping flood: the kernel pings each responder (ping -f -c $FLOOD_COUNT -s 56), $ROUNDS rounds"
echo
table_for flood 56
echo
echo "== fragmented: ping -f -c $BIG_COUNT -s $BIG_SIZE (3 fragments each way at MTU 1500), $ROUNDS rounds"
echo
table_for big "$BIG_SIZE"
echo
echo "TAP contenders: a user-space process on /dev/net/tun (poll, then one read per frame in and"
echo "one write per frame out; the kernel work of those syscalls - including the pinging kernel's"
echo "receive of each written reply - is the responder's stime unless the kernel has IRQ time"
echo "accounting).  Linux: the peer namespace's kernel answering over veth (no TAP, no user space;"
echo "its CPU is softirq time not attributable to a process).  CPU per echo: the responder's"
echo "schedstat time / received echoes (a $BIG_SIZE-byte echo is 3 frames each way)."
echo "Responders' own counters: $logs/*.responder"

echo
echo "== in-process microbenchmarks: $build/bench_core --time $CORE_TIME"
echo
"$build/bench_core" --time "$CORE_TIME"

echo
tcp_bench

echo
ports_bench
