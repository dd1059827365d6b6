#!/usr/bin/env bash
# Set up what simdask needs on a fresh Debian machine: system packages (when root and apt-get are there), a
# virtualenv in .venv (or $VENV) with simdask installed editable. Safe to run again: it only does what is missing.
#
#   scripts/setup.sh --system   everything `make test` needs (compilers, MPI, Slurm, chromium; every extra)
#   scripts/setup.sh --demo     what `make demo` needs (the compilers and MPI of its C and Fortran simulation)
#   scripts/setup.sh            the virtualenv only, with every extra
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# Compilers and hiredis build the C and Fortran clients (g++: the SmartRedis C++ layer, compat/smartredis), OpenMPI
# their MPI tests; redis-tools gives redis-benchmark; chromium takes the dashboard page's screenshot; Slurm (+ munge,
# and its qsub/qstat/qdel wrappers) is the single-node batch system the experiment tests run on (scripts/slurm-up.sh).
SYSTEM_PACKAGES=(gcc g++ gfortran make cmake pkg-config libhiredis-dev redis-tools valgrind openmpi-bin libopenmpi-dev
                 chromium slurmctld slurmd slurm-client munge slurm-wlm-torque)
DEMO_PACKAGES=(gcc gfortran make cmake pkg-config libhiredis-dev openmpi-bin libopenmpi-dev)
ALL_EXTRAS="test,onnx,jobqueue,dashboard,demo,docs,convert,notebooks"
DEMO_EXTRAS="onnx,dashboard,demo"
# Exactly this torch: its CPU wheel is on the CI machine's disk (a newer or unpinned one pulls a multi-GB CUDA build).
TORCH="torch==2.13.0"

say() { echo "simdask setup: $*" >&2; }

install_system_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "missing system packages: ${missing[*]}"
    say "install them with: sudo apt-get install ${missing[*]}  (tests that need them are skipped until then)"
    return 0
  fi
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  for attempt in 1 2 3; do  # a boot-time apt run may hold the lock on a fresh machine
    apt-get -o DPkg::Lock::Timeout=300 update -qq && break
    say "apt-get update failed (attempt $attempt), retrying"; sleep 10
  done
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
}

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  say "needs Python >= 3.10 with the venv module (Debian: apt-get install python3 python3-venv)"
  exit 1
}

case "${1:-}" in
  --system) install_system_packages "${SYSTEM_PACKAGES[@]}"; PIP_EXTRAS=$ALL_EXTRAS ;;
  --demo) install_system_packages "${DEMO_PACKAGES[@]}"; PIP_EXTRAS=$DEMO_EXTRAS ;;
  "") PIP_EXTRAS=$ALL_EXTRAS ;;
  *) say "unknown option ${1} (--system, --demo or none)"; exit 2 ;;
esac

if [ ! -x "$VENV/bin/python" ]; then
  python=$(find_python)
  say "creating $VENV with $($python --version)"
  "$python" -m venv "$VENV"
fi

stamp="$VENV/.simdask-installed"
wanted="$( (cat pyproject.toml compat/python/pyproject.toml scripts/setup.sh; echo "$PIP_EXTRAS") | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "installing simdask[$PIP_EXTRAS] and $TORCH into $VENV (the first time: about 1 GB of downloads, a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # not quiet: pip's lines and download bars are the progress of the large downloads (torch, tensorflow)
  "$VENV/bin/python" -m pip install --progress-bar on -e ".[$PIP_EXTRAS]" "$TORCH"
  # SmartRedis's Python API over simdask (docs/smartredis.md): the second distribution of this repository
  "$VENV/bin/python" -m pip install -q --no-deps -e compat/python
  echo "$wanted" > "$stamp"
fi
