#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing.
# As root it runs apt-get; otherwise it names the packages and fails.
set -euo pipefail

need=()
if [ "${1:-}" = venv ]; then
  # `install-system-deps.sh venv PYTHON`: only what `PYTHON -m venv` needs (Debian splits
  # ensurepip into python3-venv), before the Makefile creates .venv.
  "${2:-python3}" -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
else
# prometheus: promtool for the rule tests, the server for the end-to-end test
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || need+=(prometheus)
# amtool check-config for the shipped Alertmanager inhibit rules
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
# node_exporter reads `--once` output through its textfile collector in the CLI tests.
command -v prometheus-node-exporter >/dev/null 2>&1 || need+=(prometheus-node-exporter)
# systemd-analyze (unit verify + security score) ships in Debian's systemd package.
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
# `make deb` builds the package's venv from the system python3.
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
# The real-kernel stage (tests/kernel): QEMU boots Debian's kernel, busybox is the guest's PID 1,
# and the guest runs the host's own targetcli, rtslib-fb and open-iscsi over virtio-9p.
command -v qemu-system-x86_64 >/dev/null 2>&1 || need+=(qemu-system-x86)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
command -v targetcli >/dev/null 2>&1 || need+=(targetcli-fb)
/usr/bin/python3 -c 'import rtslib_fb' >/dev/null 2>&1 || need+=(python3-rtslib-fb)
command -v iscsiadm >/dev/null 2>&1 || need+=(open-iscsi)
command -v dbus-daemon >/dev/null 2>&1 || need+=(dbus)
# depmod and modprobe for the guest's module tree; setpriv drops privileges in the guest.
command -v depmod >/dev/null 2>&1 || need+=(kmod)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
# The scsi_latency collector's proof in the guest: bpftool lists what is attached and reads
# the programs' run time, sg3-utils sends the raw CDBs (sg_raw) and reservations (sg_persist).
command -v bpftool >/dev/null 2>&1 || need+=(bpftool)
command -v sg_raw >/dev/null 2>&1 || need+=(sg3-utils)
# `make bpf` compiles exporter/bpf/scsi_latency.bpf.c; the exporter loads it with libbpf1.
command -v clang >/dev/null 2>&1 || need+=(clang)
command -v llvm-strip >/dev/null 2>&1 || need+=(llvm)
[ -f /usr/include/bpf/bpf_helpers.h ] || need+=(libbpf-dev)
dpkg-query -W -f='${Status}' libbpf1 2>/dev/null | grep -q 'ok installed' || need+=(libbpf1)
fi

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
