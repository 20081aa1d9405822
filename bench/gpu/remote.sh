#!/usr/bin/env bash
# Runs on the GPU machine from the repository root, after pack.sh's payload arrived in bench/out/gpu-pack/:
#   bash bench/gpu/remote.sh [run.ts options, e.g. --dry-run or --providers webgpu]
# Unpacks the payload, picks node (the machine's, else the packed one), points Vulkan at the NVIDIA driver's
# ICD file, runs the benchmark and copies bench/out/gpu.json to $OUT when set.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PACK=bench/out/gpu-pack
rm -rf "$PACK/unpacked" && mkdir -p "$PACK/unpacked"
if command -v zstd >/dev/null; then zstd -dc "$PACK/payload.tar.zst" | tar -C "$PACK/unpacked" -xf -
else tar -C "$PACK/unpacked" --use-compress-program=unzstd -xf "$PACK/payload.tar.zst"; fi
APP=$PACK/unpacked/app

NODE=$(command -v node || true)
if [ -z "$NODE" ] || ! "$NODE" -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)'; then
  [ -x "$APP/node/node" ] || { echo "error: no node >= 18 here and none packed (pack.sh --with-node)"; exit 1; }
  NODE=$APP/node/node
fi
echo "node: $NODE ($("$NODE" --version))"

export LD_LIBRARY_PATH="$ROOT/$APP/vulkan${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; break; fi
  done
  if [ -z "${VK_DRIVER_FILES:-}" ]; then
    f=$(find /usr /etc /opt -name 'nvidia_icd*.json' 2>/dev/null | head -1 || true)
    if [ -n "$f" ]; then export VK_DRIVER_FILES=$f; fi
  fi
fi
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<none found>}"

export CHAT_ORACLE_ROOT=$ROOT CHAT_ORACLE_COMMIT=$(cat "$APP/COMMIT")
"$NODE" "$APP/run.js" "$@"
if [ -n "${OUT:-}" ] && [ -f bench/out/gpu.json ]; then cp bench/out/gpu.json "$OUT/gpu.json"; fi
