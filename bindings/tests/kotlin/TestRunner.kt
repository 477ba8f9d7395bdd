// A minimal test runner for the JVM tests of scripts/test-bindings: no JUnit (no Maven Central
// here), just kotlin.test's assertions and a list of named cases. Exits 1 when any case fails.
package gridwalk.tests

class Suite(val name: String) {
    private val cases = mutableListOf<Pair<String, () -> Unit>>()

    fun test(name: String, body: () -> Unit) {
        cases += name to body
    }

    /** Runs every case; returns the number of failures. */
    fun run(): Int {
        var failed = 0
        for ((case, body) in cases) {
            try {
                body()
                println("ok   $name: $case")
            } catch (e: Throwable) {
                failed++
                println("FAIL $name: $case\n     $e")
            }
        }
        return failed
    }
}

fun runSuites(vararg suites: Suite) {
    val failed = suites.sumOf { it.run() }
    val total = suites.size
    if (failed > 0) {
        println("$failed case(s) failed in $total suite(s)")
        kotlin.system.exitProcess(1)
    }
    println("all cases passed in $total suite(s)")
}
