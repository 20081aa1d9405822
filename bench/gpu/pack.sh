#!/usr/bin/env bash
# Packs what the GPU machine needs to run bench/gpu/run.ts without a package registry, into
# bench/out/gpu-pack/payload.tar.zst (gitignored; pass it to the device run with carry=["bench/out/gpu-pack"]):
#   app/run.js                      bench/gpu/run.ts bundled by esbuild (everything but onnxruntime-node)
#   app/node_modules/onnxruntime-*  the native runtime (CPU + WebGPU providers) for linux x64
#   app/vulkan/                     the Vulkan loader libvulkan.so.1 (Debian libvulkan1) that WebGPU needs
#   app/node/node                   only with --with-node: this machine's node binary, for a machine without node
# The tree itself travels with the working tree, so bench/gpu/pytorch_eager.py and remote.sh are there already.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/gpu-pack
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$OUT" "$STAGE/app/node_modules" "$STAGE/app/vulkan"

node_modules/.bin/esbuild bench/gpu/run.ts --bundle --platform=node --target=node18 --log-level=warning \
  --external:onnxruntime-node --outfile="$STAGE/app/run.js"
mkdir -p "$STAGE/app/node_modules/onnxruntime-node/bin/napi-v6/linux"
cp -r node_modules/onnxruntime-node/dist node_modules/onnxruntime-node/package.json "$STAGE/app/node_modules/onnxruntime-node/"
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 "$STAGE/app/node_modules/onnxruntime-node/bin/napi-v6/linux/"
cp -r node_modules/onnxruntime-common "$STAGE/app/node_modules/"

DEB=$(ls /tmp/libvulkan1_*_amd64.deb 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then (cd /tmp && apt-get download libvulkan1 >/dev/null); DEB=$(ls /tmp/libvulkan1_*_amd64.deb | head -1); fi
dpkg-deb -x "$DEB" "$STAGE/deb"
cp -a "$STAGE"/deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1* "$STAGE/app/vulkan/"
rm -rf "$STAGE/deb"

if [ "${1:-}" = "--with-node" ]; then
  mkdir -p "$STAGE/app/node"
  cp "$(readlink -f "$(command -v node)")" "$STAGE/app/node/node"
fi
git rev-parse HEAD > "$STAGE/app/COMMIT"
tar -C "$STAGE" -cf - app | zstd -q -T0 -12 -f -o "$OUT/payload.tar.zst"
ls -la "$OUT/payload.tar.zst"
