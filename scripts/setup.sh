#!/usr/bin/env bash
# Set up what simdask needs on a fresh Debian machine: system packages (with --system, when root and
# apt-get are there), a virtualenv in .venv (or $VENV) with simdask installed editable.
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# Compilers and hiredis build the C and Fortran clients, OpenMPI their MPI tests; redis-tools gives redis-benchmark; Slurm (+ munge, and
# its qsub/qstat/qdel wrappers) is the single-node batch system the experiment tests run on (scripts/slurm-up.sh).
SYSTEM_PACKAGES=(gcc gfortran make cmake pkg-config libhiredis-dev redis-tools valgrind openmpi-bin libopenmpi-dev
                 slurmctld slurmd slurm-client munge slurm-wlm-torque)
PIP_EXTRAS="test,onnx,jobqueue"
# Exactly this torch: its CPU wheel is on the CI machine's disk (a newer or unpinned one pulls a multi-GB CUDA build).
TORCH="torch==2.13.0"

say() { echo "simdask setup: $*" >&2; }

install_system_packages() {
  local missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
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

[ "${1:-}" = "--system" ] && install_system_packages

if [ ! -x "$VENV/bin/python" ]; then
  python=$(find_python)
  say "creating $VENV with $($python --version)"
  "$python" -m venv "$VENV"
fi

stamp="$VENV/.simdask-installed"
wanted="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  say "installing simdask[$PIP_EXTRAS] and $TORCH into $VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[$PIP_EXTRAS]" "$TORCH"
  echo "$wanted" > "$stamp"
fi
