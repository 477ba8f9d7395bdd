//! gridwalk-ffi: the core exposed through uniffi (built in the mobile issue; nothing here yet).
