#!/usr/bin/env bash
# Builds libgridwalk_ffi.so for the Android ABIs into gridwalk/src/main/jniLibs/ (cargo-ndk) and
# generates the Kotlin bindings into gridwalk/build/generated/uniffi/. Needs: the Android NDK
# (ANDROID_NDK_HOME), `cargo install cargo-ndk`, the rustup targets, perl (OpenSSL is built from
# source for SQLCipher: feature encryption-vendored).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cd "$repo"

abis=(arm64-v8a armeabi-v7a x86_64)
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
cargo ndk --platform 26 $(printf -- '-t %s ' "${abis[@]}") -o "$here/gridwalk/src/main/jniLibs" \
  build --release -p gridwalk-ffi --features encryption-vendored

# Library mode reads the interface from any build of the library; the host build is the quickest.
cargo build -p gridwalk-ffi -p uniffi-bindgen
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
rm -rf "$here/gridwalk/build/generated/uniffi"
"$target_dir/debug/uniffi-bindgen" generate "$target_dir/debug/libgridwalk_ffi.so" \
  --language kotlin --no-format --out-dir "$here/gridwalk/build/generated/uniffi"
ls -l "$here"/gridwalk/src/main/jniLibs/*/libgridwalk_ffi.so
