#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing.
# As root it runs apt-get; otherwise it names the packages and fails.
set -euo pipefail

need=()
# prometheus: promtool for the rule tests, the server for the end-to-end test
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || need+=(prometheus)
# systemd-analyze (unit verify + security score) ships in Debian's systemd package.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# `make deb` builds the package's venv from the system python3.
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages for the tests: ${need[*]} (run: sudo apt-get install ${need[*]})" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
