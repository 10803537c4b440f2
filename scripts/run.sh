#!/usr/bin/env bash
# Runs TimeTracker on http://127.0.0.1:${PORT:-8000} with SQLite under ./data and in-process
# tasks: nothing else to install. Prints the demo login.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_python requirements.txt
# xhtml2pdf needs TrueType fonts that cover Latin, Polish and CJK for the PDF reports.
if [ "$(id -u)" = 0 ]; then ensure_debian_packages fonts-dejavu-core fonts-noto-cjk; fi
# CJK with TrueType outlines for the mileage / per-diem PDFs (Noto CJK's CFF outlines cannot be embedded).
if [ "$(id -u)" = 0 ]; then ensure_debian_packages fonts-droid-fallback; fi
export DATA_DIR=${DATA_DIR:-$PWD/data}
export DEBUG=${DEBUG:-1}
mkdir -p "$DATA_DIR"
.venv/bin/python manage.py migrate --noinput
DEMO_PASSWORD=${DEMO_PASSWORD:-demo-pass-2026}
.venv/bin/python manage.py demo_user --username demo --password "$DEMO_PASSWORD"
echo "Open http://127.0.0.1:${PORT:-8000}/ and log in as demo / $DEMO_PASSWORD"
exec .venv/bin/python manage.py runserver "127.0.0.1:${PORT:-8000}"
