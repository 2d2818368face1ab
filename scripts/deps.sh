#!/usr/bin/env bash
# Install what portstack needs from Debian 12, idempotently.
#   scripts/deps.sh build   compilers and CMake (enough for the demo)
#   scripts/deps.sh test    everything the whole test suite uses
set -euo pipefail
want=(cmake make gcc libc6-dev libmbedtls-dev)  # mbedTLS: the optional TLS layer (PS_TLS)
if [ "${1:-build}" = test ]; then
  # clang + its runtime: the sanitizer build and libFuzzer; the rest is the
  # real peer side of the interop tests (kernel stack through a TAP device).
  want+=(clang libclang-rt-14-dev iproute2 iputils-ping tshark python3 pkg-config nmap netcat-openbsd dnsmasq-base nftables chrony curl wrk nginx-light python3-scapy openssl man-db)
  # Clients for portstack's own servers (tests/interop/test_servers_tap.sh):
  # dig, busybox's udhcpc, ntpsec's sntp (ntpdig).
  want+=(bind9-dnsutils busybox sntp)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Daemons (chrony, dnsmasq) must never start in the machine's own namespace:
# the tests run them inside their namespaces.  policy-rc.d says so to dpkg.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  guard=1
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
[ -n "$guard" ] && $SUDO rm -f /usr/sbin/policy-rc.d
# ... and stop one that started anyway (an init without policy-rc.d).
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  $SUDO systemctl disable --now chrony dnsmasq >/dev/null 2>&1 || true
fi
