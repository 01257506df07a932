# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit kernel bench golden docs system-deps clean deb dist fuzz soak bpf

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@scripts/install-system-deps.sh venv $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

## The scsi_latency collector's eBPF object (CO-RE: relocated by libbpf at load time, so one
## build serves every kernel with BTF). Needs clang and libbpf-dev (make system-deps).
BPF_OBJ   := exporter/bpf/scsi_latency.bpf.o
MULTIARCH ?= $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo $$(uname -m)-linux-gnu)
bpf: $(BPF_OBJ)
$(BPF_OBJ): exporter/bpf/scsi_latency.bpf.c
	clang -target bpf -O2 -g -Wall -Werror -I/usr/include/$(MULTIARCH) -c $< -o $@

## Run the exporter on the built-in simulated FC target host (Ctrl-C to stop).
demo: $(STAMP)
	$(VENV)/bin/fctarget-exporter --demo --web.listen-address=127.0.0.1:19181

## Everything: install what the tests need, then lint, type-check and run the whole suite.
test: $(STAMP) system-deps bpf
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m pytest -q

system-deps:
	@scripts/install-system-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -q -m 'not kernel'

## The real-kernel stage alone: Debian's 6.1 kernel in QEMU, LIO configured by targetcli.
kernel: $(STAMP) system-deps bpf
	$(PY) -m pytest -q -m kernel tests/kernel

## Rewrite the golden exposition files (tests/golden/*.prom) after an intended output change.
golden: $(STAMP)
	$(PY) -m tests.golden

## Regenerate docs/metrics.md from the metric catalogue and the man page from the flags.
docs: $(STAMP)
	$(PY) -m exporter.catalogue.docs
	$(PY) -m exporter.manpage

## Benchmarks: read strategy; large simulated host (latency, CPU, RSS, read floor); kmsg parse rate and flood.
bench: $(STAMP)
	$(PY) bench/bench_io.py
	$(PY) bench/bench.py
	$(PY) bench/bench_kmsg.py

## Long fuzz run (not in `make test`): ~1M inputs per parser module, random seeds; prints counts.
fuzz: $(STAMP)
	rm -f .fuzz-counts
	FCTARGET_FUZZ=1 FUZZ_REPORT=.fuzz-counts $(PY) -m pytest -q tests/test_fuzz_*.py
	@awk '{split($$1, a, "."); n[a[1]] += $$2} END {for (m in n) printf "%-14s %9d inputs\n", m, n[m]}' .fuzz-counts | sort
	@rm -f .fuzz-counts

## Soak (not in `make test`): MINUTES of scrapes with a moving host and a kmsg flood; flat RSS/fds/threads.
MINUTES ?= 30
soak: $(STAMP)
	$(PY) scripts/soak.py --minutes $(MINUTES)

## Debian package (dist/fctarget-exporter_<version>-1_<arch>.deb): venv in /opt, systemd unit.
deb: system-deps bpf
	packaging/debian/build-deb.sh dist

## Wheel and sdist in dist/ (include the dashboards and rules).
dist: $(STAMP) bpf
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
