// The gridwalk Android library: the uniffi-generated Kotlin bindings, the idiomatic layer
// (src/main/kotlin/gridwalk/android), JNA, and libgridwalk_ffi.so per ABI from cargo-ndk.
// Run ../build-rust.sh first: it fills src/main/jniLibs/ and build/generated/uniffi/.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "gridwalk.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 26 // java.time (LocalDate, Instant) without desugaring
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        java.srcDir("src/main/kotlin")
        java.srcDir(layout.buildDirectory.dir("generated/uniffi"))
        jniLibs.srcDir("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // uniffi's Kotlin calls the Rust library through JNA; the AAR carries libjnidispatch per ABI.
    api("net.java.dev.jna:jna:5.14.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
