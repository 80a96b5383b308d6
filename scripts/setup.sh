#!/usr/bin/env bash
# One-command set-up on Debian 12 (as root): installs the Debian packages tinyc needs and builds
# build/tinyc in Release. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build git
  libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev libspdlog-dev libfmt-dev libeigen3-dev
  catch2 nlohmann-json3-dev
  gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm
  python3-onnx python3-torch python3-numpy
  chromium
  clang-14 libfuzzer-14-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime for the tests' oracle (never a dependency of tinyc): the machine's Node 20 when
# it has one, else Debian's.
if ! command -v npm > /dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
[ -d tests/oracle/node_modules/onnxruntime-node ] || (cd tests/oracle && npm ci --ignore-scripts --no-audit --no-fund)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build
echo "tinyc is at build/tinyc"
