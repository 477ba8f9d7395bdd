// swift-tools-version:5.9
// The gridwalk core for iOS: the Rust library as an XCFramework (built by build-xcframework.sh),
// the uniffi-generated Swift bindings and an async/await layer, in one module `Gridwalk`.
// Never built on the development machine (no Swift toolchain there): see README.md.
import PackageDescription

let package = Package(
    name: "Gridwalk",
    platforms: [.iOS(.v16)],  // NSLock.withLock, NavigationStack
    products: [
        .library(name: "Gridwalk", targets: ["Gridwalk"]),
    ],
    targets: [
        // Static library + gridwalkFFI.h + module.modulemap (module gridwalkFFI) per platform.
        .binaryTarget(name: "gridwalkFFI", path: "gridwalkFFI.xcframework"),
        // Generated/Gridwalk.swift (from build-xcframework.sh) + FieldArchive.swift.
        .target(name: "Gridwalk", dependencies: ["gridwalkFFI"], path: "Sources/Gridwalk"),
    ]
)
