#!/usr/bin/env bash
# Makes this machine ready to run the backend and its tests, then exits 0; or says exactly
# what is missing and how to get it, and exits 1. Safe to run again: it only does what is
# not done yet. Used by `make run` and `make test` (and so by CI).
#
# What it needs (ENGINEERING.md "Local stack"):
#   - Python >= 3.11 with venv           -> creates .venv and installs requirements-dev.txt
#   - PostgreSQL 15+ server binaries      -> apt-get install postgresql (when root with apt)
#   - Java 17+                            -> apt-get install openjdk-17-jre-headless
#   - Google Cloud CLI with the Pub/Sub and Firestore emulator components
#   - Chromium and chromedriver             -> apt-get install chromium chromium-driver
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '[bootstrap] %s\n' "$*" >&2; }
missing=()
APT_UPDATED=0
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ $APT_UPDATED = 0 ]; then
      say "apt-get update"; DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true; APT_UPDATED=1
    fi
    say "installing $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    return 1
  fi
}

# 1. Python and the virtualenv
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  say "Python 3.11 or newer is required (found: $("$PY" --version 2>&1 || echo none))."
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv || { apt_install python3-venv && "$PY" -m venv .venv; }
fi
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
have=$(cat .venv/.requirements.sha256 2>/dev/null || true)
if [ "$want" != "$have" ]; then
  say "installing Python packages (requirements-dev.txt: the lock, every version pinned and hashed)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.txt
  echo "$want" > .venv/.requirements.sha256
fi

# `make unit` needs only the Python environment
if [ "${1:-}" = "--python-only" ]; then
  say "ready (Python only)"
  exit 0
fi

# checkov (Terraform checks) lives in its own venv: it pins packaging<24, which pytest 9 cannot
# use, and its bc-python-hcl2 dependency replaces python-hcl2's `hcl2` module.
want_ck=$(sha256sum terraform/requirements-checkov.txt | cut -d' ' -f1)
if [ "$(cat .venv/checkov/.requirements.sha256 2>/dev/null)" != "$want_ck" ]; then
  say "installing checkov into .venv/checkov"
  "$PY" -m venv .venv/checkov
  .venv/checkov/bin/python -m pip install -q --disable-pip-version-check -r terraform/requirements-checkov.txt
  echo "$want_ck" > .venv/checkov/.requirements.sha256
fi

# 2. PostgreSQL server binaries
pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}
if ! pg_bindir >/dev/null; then
  apt_install postgresql || true
  pg_bindir >/dev/null || missing+=("PostgreSQL server binaries (initdb, pg_ctl): apt-get install postgresql")
fi

# 3. Java for the emulators
if ! command -v java >/dev/null 2>&1; then
  apt_install openjdk-17-jre-headless || true
  command -v java >/dev/null 2>&1 || missing+=("Java 17+: apt-get install openjdk-17-jre-headless")
fi

# 4. The official Pub/Sub and Firestore emulators (Google Cloud CLI components)
sdk=""
if command -v gcloud >/dev/null 2>&1; then
  sdk=$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null || true)
fi
[ -n "$sdk" ] || sdk=/usr/lib/google-cloud-sdk
if [ ! -d "$sdk/platform/pubsub-emulator" ]; then
  apt_install google-cloud-cli-pubsub-emulator 2>/dev/null || true
  [ -d "$sdk/platform/pubsub-emulator" ] || missing+=("Pub/Sub emulator: gcloud components install pubsub-emulator (or apt-get install google-cloud-cli-pubsub-emulator)")
fi
if [ ! -d "$sdk/platform/cloud-firestore-emulator" ]; then
  apt_install google-cloud-cli-firestore-emulator 2>/dev/null || true
  [ -d "$sdk/platform/cloud-firestore-emulator" ] || missing+=("Firestore emulator: gcloud components install cloud-firestore-emulator (or apt-get install google-cloud-cli-firestore-emulator)")
fi

# 5. A real browser for the staff console's browser tests: Debian's Chromium and its driver
#    (Selenium is pointed at both binaries; nothing downloads a browser at run time)
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  apt_install chromium chromium-driver || true
  { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; } || missing+=("Chromium and its driver: apt-get install chromium chromium-driver")
fi

if [ ${#missing[@]} -gt 0 ]; then
  say "this machine is missing:"
  for m in "${missing[@]}"; do say "  - $m"; done
  exit 1
fi
say "ready"
