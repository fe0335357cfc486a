#!/usr/bin/env bash
# Debian's `chromium` (the audit report's browser test, tests/e2e/test_report_browser.py), `graphviz`
# (the `--graph dot` layout test) and the DejaVu fonts both measure text with. From apt, on a fresh
# machine; does nothing when they are installed. Needs root or sudo. Called by .ci/run.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
if [ "${#need[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || { echo "install.sh: no apt-get; install ${need[*]} yourself" >&2; exit 1; }
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install.sh: not root and no sudo to install ${need[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "installing ${need[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# (Debian's launcher script prints a harmless shell warning on some machines: keep only the version)
echo "$(chromium --version 2>/dev/null), graphviz $(dot -V 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p')"
