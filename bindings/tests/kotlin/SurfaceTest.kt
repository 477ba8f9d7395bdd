// The gridwalk bindings driven from Kotlin on the JVM (JNA): building codes, the catalog and the
// synthetic district. Compiled with the generated gridwalk.kt by scripts/test-bindings.
package gridwalk.tests

import gridwalk.ffi.Category
import gridwalk.ffi.GeoPoint
import gridwalk.ffi.GridwalkException
import gridwalk.ffi.SyntheticDistrict
import gridwalk.ffi.defaultCatalog
import gridwalk.ffi.distanceM
import gridwalk.ffi.smallDistrictSpec
import gridwalk.ffi.validateBuildingCode
import java.time.Instant
import java.time.LocalDate
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue

fun surfaceSuite() = Suite("surface").apply {
    test("a valid building code comes back unchanged") {
        assertEquals("4403060010010010000000001", validateBuildingCode("4403060010010010000000001"))
    }
    test("a short building code raises InvalidInput naming the length") {
        val e = assertFailsWith<GridwalkException.InvalidInput> { validateBuildingCode("12345") }
        assertTrue("exactly 25 digits, got 5 characters" in e.detail, e.detail)
    }
    test("a latitude out of range raises InvalidInput") {
        val e = assertFailsWith<GridwalkException.InvalidInput> {
            distanceM(GeoPoint(91.0, 113.9), GeoPoint(22.5, 113.9))
        }
        assertTrue("latitude 91" in e.detail, e.detail)
    }
    test("a thousandth of a degree of latitude is about 111 m") {
        val d = distanceM(GeoPoint(22.55, 113.88), GeoPoint(22.551, 113.88))
        assertTrue(d > 110.2 && d < 112.2, "got $d")
    }
    test("the catalog has the 21 micro-event kinds, corridor clutter first") {
        val c = defaultCatalog()
        assertEquals(21, c.microEventKinds.size)
        val first = c.microEventKinds.first()
        assertEquals("me_corridor_clutter", first.id)
        assertEquals("楼道堆放杂物", first.label.zhCn)
        assertEquals(7u, first.deadlineDays)
        assertEquals(21, c.microEventKinds.map { it.id }.toSet().size)
    }
    test("the checklist covers the four categories; the first item is fire extinguishers") {
        val c = defaultCatalog()
        assertEquals(Category.entries.toSet(), c.checklist.map { it.category }.toSet())
        assertEquals("sl_extinguishers", c.checklist.first().id)
        assertEquals(Category.SAFETY_LIVABILITY, c.checklist.first().category)
        assertEquals(3.0, c.checklist.first().weight)
        val departments = c.departments.map { it.id }.toSet()
        assertTrue(c.eventCategories.all { it.department in departments })
    }
    test("the small district spec has the documented counts and day") {
        val s = smallDistrictSpec(7uL)
        assertEquals(listOf(2u, 4u, 12u, 430u), listOf(s.streets, s.communities, s.grids, s.buildings))
        assertEquals(LocalDate.of(2025, 7, 1), s.today)
    }
    test("the synthetic district has ordered unique Bao'an codes, partitioned by grid") {
        SyntheticDistrict(smallDistrictSpec(7uL)).use { d ->
            val buildings = d.buildings()
            assertEquals(430, buildings.size)
            val codes = buildings.map { it.code }
            assertEquals(codes.sorted(), codes)
            assertEquals(430, codes.toSet().size)
            assertTrue(codes.all { it.startsWith("440306") && it.length == 25 })
            val grids = d.grids()
            assertEquals(12, grids.size)
            assertEquals(430, grids.sumOf { g -> d.buildingsInGrid(g.id).also { bs -> assertTrue(bs.all { it.grid == g.id }) }.size })
        }
    }
    test("stars, dates and instants arrive as natural Kotlin types") {
        SyntheticDistrict(smallDistrictSpec(7uL)).use { d ->
            val buildings = d.buildings()
            assertTrue(buildings.all { b -> b.stars.let { it == null || it in 1u..5u } })
            val due: List<LocalDate> = buildings.mapNotNull { it.nextDueOn }
            val seen: List<Instant> = buildings.mapNotNull { it.lastInspectedAt }
            assertTrue(due.isNotEmpty() && seen.isNotEmpty())
            assertTrue(seen.all { it <= Instant.parse("2025-07-01T23:59:59Z") })
        }
    }
    test("the same seed gives the same district, another seed another") {
        val a = SyntheticDistrict(smallDistrictSpec(7uL)).use { it.buildings() }
        val b = SyntheticDistrict(smallDistrictSpec(7uL)).use { it.buildings() }
        val c = SyntheticDistrict(smallDistrictSpec(8uL)).use { it.buildings() }
        assertEquals(a, b)
        assertNotEquals(a.take(20).map { it.location }, c.take(20).map { it.location })
    }
    test("an unknown grid raises NotFound; an impossible spec raises InvalidInput") {
        SyntheticDistrict(smallDistrictSpec(7uL)).use { d ->
            val e = assertFailsWith<GridwalkException.NotFound> { d.buildingsInGrid("G9999") }
            assertTrue("G9999" in e.detail, e.detail)
        }
        assertFailsWith<GridwalkException.InvalidInput> {
            SyntheticDistrict(smallDistrictSpec(7uL).copy(grids = 2u))
        }
    }
}
