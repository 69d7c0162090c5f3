#!/usr/bin/env bash
# Java for the Spark engine's tests (pyspark 4 needs Java 17 or later), from Debian's packages, only if missing:
#   openjdk-17-jre-headless   the JVM that runs the Spark driver, master, workers and executors
# pyspark itself comes from PyPI through the dev dependency group (uv). Prints nothing on stdout; works as root
# (CI) or through sudo. The tests start their own cluster on 127.0.0.1 (tests/test_spark.py).
set -euo pipefail
java_ok() {
  command -v java >/dev/null 2>&1 || return 1
  local v
  v="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  [ "${v%%.*}" -ge 17 ] 2>/dev/null
}
java_ok && exit 0
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
echo "[spark.sh] installing openjdk-17-jre-headless" >&2
"${SUDO[@]}" apt-get update -q >&2
"${SUDO[@]}" apt-get install -y -q --no-install-recommends openjdk-17-jre-headless >&2
java_ok || { echo "[spark.sh] java 17+ still not found after installing openjdk-17-jre-headless" >&2; exit 1; }
