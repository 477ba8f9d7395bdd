package gridwalk.tests

fun main() = runSuites(surfaceSuite(), archiveSuite(), layerSuite(), syncSuite())
