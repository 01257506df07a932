#!/usr/bin/env bash
# Builds dist/fctarget-exporter_<version>-1_<arch>.deb with dpkg-deb (no debhelper needed).
#
# Layout: a virtualenv in /opt/fctarget-exporter made from the system python3 (Debian's
# python3-rtslib-fb, python3-pyudev and python3-prometheus-client are older than the versions the
# exporter is tested with, so the dependencies are vendored as wheels into the venv at build time:
# installing needs no network). /usr/bin/fctarget-exporter starts it. The venv is tied to the
# python3 minor version it was built with; Depends says so.
#
# Network is needed only to fill the wheel cache (build/deb-cache/, reused while the dependency
# list and python version stay the same).
#
# Usage: packaging/debian/build-deb.sh [OUTDIR]        (PYTHON=/usr/bin/python3 by default)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
OUTDIR=$(mkdir -p "${1:-$REPO/dist}" && cd "${1:-$REPO/dist}" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
PKG=fctarget-exporter
PREFIX=/opt/$PKG
CACHE=$REPO/build/deb-cache

for tool in dpkg-deb dpkg "$PYTHON"; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool not found" >&2; exit 1; }
done
"$PYTHON" -c 'import ensurepip' 2>/dev/null \
  || { echo "build-deb: $PYTHON has no venv/ensurepip (apt-get install python3-venv)" >&2; exit 1; }

VERSION=$(cd "$REPO" && "$PYTHON" -c 'import re; print(re.search(r"__version__ = \"(.+)\"", open("exporter/__init__.py").read()).group(1))')
ARCH=$(dpkg --print-architecture)
PYVER=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
PYNEXT=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')

WORK=$(mktemp -d "${TMPDIR:-/tmp}/$PKG-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
VENV=$ROOT$PREFIX

# Runtime requirements, straight from pyproject.toml.
"$PYTHON" - "$REPO/pyproject.toml" >"$WORK/requirements.txt" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["dependencies"]))
EOF
KEY=$( (cat "$WORK/requirements.txt"; echo "$PYVER $ARCH") | sha256sum | cut -c1-16)
WHEELS=$CACHE/wheels-$KEY

echo "build-deb: venv for python$PYVER in $PREFIX"
"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input --quiet)
if [ ! -f "$WHEELS/.complete" ]; then
  echo "build-deb: filling the wheel cache $WHEELS (network)"
  rm -rf "$WHEELS"
  mkdir -p "$WHEELS"
  "${PIP[@]}" wheel --wheel-dir "$WHEELS" -r "$WORK/requirements.txt"
  touch "$WHEELS/.complete"
fi
# the scsi_latency collector's eBPF object goes into the wheel (package data)
make -C "$REPO" --no-print-directory bpf
"${PIP[@]}" wheel --no-deps --wheel-dir "$WORK/wheel" "$REPO"
"${PIP[@]}" install --no-index --find-links "$WHEELS" "$WORK"/wheel/*.whl
"${PIP[@]}" uninstall --yes pip setuptools >/dev/null 2>&1 || "${PIP[@]}" uninstall --yes pip

# The venv's scripts and activate files carry the build path; the package needs none of them.
find "$VENV/bin" -mindepth 1 ! -name 'python*' -delete
sed -i "s|$ROOT||g" "$VENV/pyvenv.cfg"
# pip records where the wheel was installed from (the build directory): not for the package.
for f in "$VENV"/lib/python*/site-packages/*.dist-info/direct_url.json; do
  [ -e "$f" ] || continue
  sed -i '/direct_url\.json/d' "$(dirname "$f")/RECORD"
  rm -f "$f"
done
find "$VENV" -depth -type d -name __pycache__ -exec rm -rf {} +
# Nothing in the tree may refer to the build directory.
if grep -rlI --exclude=RECORD "$WORK" "$ROOT" >/dev/null; then
  echo "build-deb: build path leaked into:" >&2
  grep -rlI --exclude=RECORD "$WORK" "$ROOT" >&2
  exit 1
fi

# Dashboards and rules: /usr/share/fctarget-exporter, where the venv's share/ points.
install -d "$ROOT/usr/share"
if [ -d "$VENV/share/$PKG" ]; then
  mv "$VENV/share/$PKG" "$ROOT/usr/share/$PKG"
else
  install -d "$ROOT/usr/share/$PKG"
fi
install -d "$VENV/share"
ln -s "/usr/share/$PKG" "$VENV/share/$PKG"

install -D -m 0755 /dev/stdin "$ROOT/usr/bin/$PKG" <<EOF
#!$PREFIX/bin/python -IB
# fctarget-exporter: the exporter in its own virtualenv ($PREFIX).
import sys

from exporter.cli import main

sys.exit(main())
EOF
# Ready-to-use wiring (docs/dashboards.md): a Prometheus scrape job with the rules, Grafana
# data source and dashboard provisioning. Under our own share/, never into /etc of prometheus
# or grafana: the admin copies what they want.
install -D -m 0644 "$REPO/packaging/prometheus/fctarget.yml" \
  "$ROOT/usr/share/$PKG/prometheus/fctarget.yml"
for kind in datasources dashboards; do
  install -D -m 0644 "$REPO/packaging/grafana/provisioning/$kind/fctarget.yml" \
    "$ROOT/usr/share/$PKG/grafana/provisioning/$kind/fctarget.yml"
done
install -D -m 0644 "$REPO/packaging/$PKG.service" "$ROOT/lib/systemd/system/$PKG.service"
install -D -m 0644 "$REPO/packaging/$PKG.sysusers" "$ROOT/usr/lib/sysusers.d/$PKG.conf"
install -D -m 0644 "$REPO/packaging/$PKG.default" "$ROOT/etc/default/$PKG"
install -D -m 0644 "$REPO/packaging/web-config.example.yml" \
  "$ROOT/usr/share/doc/$PKG/examples/web-config.yml"
# Not active: the drop-in that grants the sfp collector CAP_SYS_ADMIN (docs/security.md).
install -D -m 0644 "$REPO/packaging/systemd/$PKG-sfp.conf" \
  "$ROOT/usr/share/doc/$PKG/examples/$PKG-sfp.conf"
install -D -m 0644 "$REPO/packaging/debian/copyright" "$ROOT/usr/share/doc/$PKG/copyright"
# The unit's Documentation= and the alert rules' runbook_url anchors (docs/alerts.md#...) point
# into these pages, installed with the README's relative layout so its links resolve.
install -D -m 0644 "$REPO/README.md" "$ROOT/usr/share/doc/$PKG/README.md"
install -d "$ROOT/usr/share/man/man1"
gzip -9n < "$REPO/packaging/fctarget-exporter.1" > "$ROOT/usr/share/man/man1/fctarget-exporter.1.gz"
install -D -m 0644 "$REPO/CHANGELOG.md" "$ROOT/usr/share/doc/$PKG/CHANGELOG.md"
install -d "$ROOT/usr/share/doc/$PKG/docs/images"
install -m 0644 "$REPO"/docs/*.md "$ROOT/usr/share/doc/$PKG/docs/"
install -m 0644 "$REPO"/docs/images/*.png "$ROOT/usr/share/doc/$PKG/docs/images/"

install -d "$ROOT/DEBIAN"
for script in postinst prerm postrm; do
  install -m 0755 "$REPO/packaging/debian/$script" "$ROOT/DEBIAN/$script"
done
echo "/etc/default/$PKG" >"$ROOT/DEBIAN/conffiles"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
sed -e "s/@VERSION@/$VERSION-1/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
  -e "s/@PYDEPENDS@/python3 (>= $PYVER), python3 (<< $PYNEXT)/" \
  "$REPO/packaging/debian/control.in" >"$ROOT/DEBIAN/control"

# Reproducible-ish: root-owned files, sane modes.
chmod -R u+rwX,go+rX,go-w "$ROOT"
DEB=$OUTDIR/${PKG}_${VERSION}-1_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "build-deb: $DEB"
