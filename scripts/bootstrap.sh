#!/usr/bin/env bash
# Creates .venv and installs the pinned Python packages. Sourced by run.sh and test.sh.
# Usage: bootstrap_python requirements.txt|requirements-dev.txt
bootstrap_python() {
  local requirements=$1
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if ! command -v python3.11 >/dev/null 2>&1 && ! python3 -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
    echo "TimeTracker needs Python 3.11." >&2
    return 1
  fi
  local python=python3
  command -v python3.11 >/dev/null 2>&1 && python=python3.11
  if [ ! -x "$root/.venv/bin/python" ]; then
    "$python" -m venv "$root/.venv"
  fi
  # Skip pip when the requirements have not changed since the last install.
  local stamp="$root/.venv/.installed-$(basename "$requirements")"
  local digest
  digest=$(cat "$root/requirements.txt" "$root/$requirements" | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
    "$root/.venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$root/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$root/$requirements" 2>&1 | { grep -v "^WARNING: Location" || true; }
    echo "$digest" > "$stamp"
  fi
}

# Installs Debian packages that are missing (needs root; runs apt-get update once).
ensure_debian_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
