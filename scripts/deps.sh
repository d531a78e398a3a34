#!/usr/bin/env bash
# Installs the Debian packages PresenceBus needs, only those missing.
#   scripts/deps.sh build   what building and running the stack needs
#   scripts/deps.sh test    that, plus what the test suite needs
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config tzdata ca-certificates
  libmosquitto-dev mosquitto mosquitto-clients libsqlite3-dev
  libcurl4-openssl-dev libical-dev libjansson-dev libmicrohttpd-dev
  libsodium-dev zlib1g-dev libwebsockets-dev python3)
test_pkgs=(python3-paho-mqtt python3-jinja2 docker-compose curl chromium
  clang-format)
# clang and its runtimes run the short libFuzzer pass (ctest fuzz.short).
test_pkgs+=(clang libclang-rt-dev)
# Node.js runs the browser test; npm comes with it from some sources (then
# Debian's npm package would conflict), so it is only added when missing.
command -v node >/dev/null || test_pkgs+=(nodejs)
command -v npm >/dev/null || test_pkgs+=(npm)
# scripts/deps.sh bench: what bench/ needs on top (wrk for the web API).
bench_pkgs=(wrk python3-icalendar python3-recurring-ical-events)

want=("${build_pkgs[@]}")
if [ "${1:-build}" = test ]; then
  want+=("${test_pkgs[@]}")
elif [ "${1:-build}" = bench ]; then
  want+=("${test_pkgs[@]}" "${bench_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
