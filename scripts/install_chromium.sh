#!/usr/bin/env bash
# The browser of the report and docs-site checks (python_checks/test_report.py): Debian's chromium,
# installed once when missing, where this machine can (root and apt-get). `make test` runs it.
set -euo pipefail
if [ -n "${CLV_CHROMIUM:-}" ] || [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (Debian package, apt-get) for the browser checks"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "chromium not found and not installable here (needs root and apt-get): the browser checks skip" \
        "(and fail with CI=true). Install Debian's chromium, or set CLV_CHROMIUM to a Chromium binary." >&2
fi
