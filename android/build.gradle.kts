// Versions are a starting point chosen on a machine without access to Google's or Maven Central's
// repositories: nothing here was resolved or built (see README.md).
plugins {
    id("com.android.library") version "8.7.3" apply false
    id("com.android.application") version "8.7.3" apply false
    id("org.jetbrains.kotlin.android") version "2.1.0" apply false
}
