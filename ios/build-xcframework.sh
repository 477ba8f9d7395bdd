#!/usr/bin/env bash
# Builds ios/gridwalkFFI.xcframework (device + simulator static libraries, header, modulemap) and
# generates ios/Sources/Gridwalk/Generated/Gridwalk.swift. Run on a Mac with Xcode, rustup and perl
# (OpenSSL is compiled from source for SQLCipher: feature encryption-vendored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build --release -p gridwalk-ffi --features encryption-vendored --target "$t"
done
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
lib=libgridwalk_ffi.a
mkdir -p "$target_dir/ios-sim"
lipo -create "$target_dir/aarch64-apple-ios-sim/release/$lib" "$target_dir/x86_64-apple-ios/release/$lib" \
  -output "$target_dir/ios-sim/$lib"

# Library mode reads the interface from the built library itself.
cargo build -p uniffi-bindgen
gen="$target_dir/uniffi-swift"
rm -rf "$gen" && mkdir -p "$gen/headers"
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/aarch64-apple-ios/release/$lib" \
  --language swift --no-format --out-dir "$gen"
cp "$gen/gridwalkFFI.h" "$gen/headers/"
cp "$gen/gridwalkFFI.modulemap" "$gen/headers/module.modulemap"

rm -rf "$here/gridwalkFFI.xcframework"
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/release/$lib" -headers "$gen/headers" \
  -library "$target_dir/ios-sim/$lib" -headers "$gen/headers" \
  -output "$here/gridwalkFFI.xcframework"
mkdir -p "$here/Sources/Gridwalk/Generated"
cp "$gen/Gridwalk.swift" "$here/Sources/Gridwalk/Generated/Gridwalk.swift"
echo "built $here/gridwalkFFI.xcframework"
