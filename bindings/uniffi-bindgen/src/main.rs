//! `cargo run -p uniffi-bindgen -- generate <libgridwalk_ffi.so> --language kotlin --out-dir …`
//!
//! A workspace member so the generator is always the same uniffi version as the scaffolding.

fn main() {
    uniffi::uniffi_bindgen_main()
}
