#!/usr/bin/env bash
# OpenHumanoid quick start for a fresh Debian 12 machine (run as root, or with sudo available).
#   scripts/quickstart.sh demo   install what is missing, build, run the main job on the built-in robot
#                                (walks a demo route with the live dashboard on http://127.0.0.1:8080)
#   scripts/quickstart.sh test   install what is missing, build, run every test (CTest)
#   scripts/quickstart.sh build  install what is missing and build only
#   scripts/quickstart.sh serve  install what is missing, build, and open the live dashboard on http://127.0.0.1:8080
#                                (the built-in robot in real time; W/A/S/D in the browser to walk; Ctrl-C to stop)
# Environment: BUILD_DIR (default build), JOBS (default nproc), OH_SKIP_APT=1 to skip the package check.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
mode=${1:-demo}

# Debian 12 (bookworm) packages the build and tests need.
PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libmujoco-dev libeigen3-dev libtinyxml2-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libspdlog-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev libtorch-dev
  libboost-dev chromium
)
# Node.js and npm build the web dashboard; a Node.js installed otherwise (nodesource, nvm) is kept.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)

install_missing() {
  [ "${OH_SKIP_APT:-0}" = 1 ] && return 0
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "[quickstart] installing: ${missing[*]}"
  local SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

web_deps() {
  # The dashboard's npm packages (three, uplot, vite, playwright-core), pinned by web/package-lock.json.
  if command -v npm >/dev/null && [ ! -x web/node_modules/.bin/vite ]; then
    # npm install, not npm ci: with this npm (11) and omit-lockfile-registry-resolved, npm ci rejects a lock file
    # that npm install itself wrote; npm install still follows the lock file.
    (cd web && npm install --no-audit --no-fund)
  fi
}

build() {
  web_deps
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

install_missing
build
case "$mode" in
  build) ;;
  demo)
    # The main job: the built-in robot walks a short demo route in real time under the MPC + whole-body
    # controller, with the live dashboard at http://127.0.0.1:${PORT:-8080} (Ctrl-C stops it).
    echo "[quickstart] dashboard: http://127.0.0.1:${PORT:-8080}  (W/A/S/D, Q/E to drive; Ctrl-C to stop)"
    exec "$BUILD_DIR/apps/humanoid/humanoid" run --serve --port "${PORT:-8080}" --task walk \
      --cmd-schedule "$ROOT/scripts/demo_route.csv"
    ;;
  serve)
    "$BUILD_DIR/apps/humanoid/humanoid" run --serve --port "${PORT:-8080}"
    ;;
  test)
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS"
    ;;
  *) echo "usage: $0 demo|test|build|serve" >&2; exit 2 ;;
esac
