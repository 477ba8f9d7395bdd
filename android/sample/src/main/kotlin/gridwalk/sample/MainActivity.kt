// The smallest app on the gridwalk core: today's plan for the demo grid in walking order, and a
// button recording an inspection of the first stop (it then leaves the plan). Not built here.
package gridwalk.sample

import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import gridwalk.android.FieldArchive
import gridwalk.ffi.GpsFix
import gridwalk.ffi.Grid
import gridwalk.ffi.GridwalkException
import gridwalk.ffi.InspectionDraft
import gridwalk.ffi.SyntheticDistrict
import gridwalk.ffi.smallDistrictSpec
import kotlinx.coroutines.launch
import java.time.Instant

class MainActivity : AppCompatActivity() {
    private lateinit var archive: FieldArchive
    private lateinit var grid: Grid
    private val planView by lazy { TextView(this) }
    private val status by lazy { TextView(this) }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val inspect = Button(this).apply { text = "Inspect first stop" }
        setContentView(
            ScrollView(this).apply {
                addView(
                    LinearLayout(this@MainActivity).apply {
                        orientation = LinearLayout.VERTICAL
                        addView(status)
                        addView(inspect)
                        addView(planView)
                    },
                )
            },
        )

        lifecycleScope.launch {
            // Demo only: a real app generates a random key once and keeps it wrapped by the
            // Android Keystore.
            archive = FieldArchive.open(filesDir.resolve("archive.db").path, key = "demo-key")
            val district = SyntheticDistrict(smallDistrictSpec(7uL).copy(today = archive.today()))
            if (archive.buildingList(gridwalk.ffi.BuildingFilter(gridwalk.ffi.Scope.District), 1u).buildings.isEmpty()) {
                archive.loadDemoDistrict(district)
            }
            grid = district.grids().first()
            launch { archive.outbox.collect { status.text = "waiting for sync: ${it.pending}" } }
            showPlan()
        }

        inspect.setOnClickListener {
            lifecycleScope.launch {
                val stop = archive.planToday(grid.id, grid.boundary.first()).stops.firstOrNull() ?: return@launch
                val now = Instant.now()
                try {
                    archive.record(
                        InspectionDraft(
                            building = stop.building, worker = grid.worker ?: "demo",
                            startedAt = now.minusSeconds(600), finishedAt = now,
                            // A real app passes the fused location provider's fix here.
                            fix = GpsFix(stop.location.lat, stop.location.lon, 10.0, now),
                            results = emptyList(), findings = emptyList(), photos = emptyList(), note = "",
                        ),
                    )
                } catch (e: GridwalkException) {
                    status.text = "not recorded: $e"
                }
                showPlan()
            }
        }
    }

    private suspend fun showPlan() {
        val plan = archive.planToday(grid.id, grid.boundary.first())
        planView.text = buildString {
            appendLine("${plan.grid} · ${plan.day} · ${plan.stops.size} of ${plan.dueTotal} due · ${plan.walkM.toInt()} m")
            for ((i, s) in plan.stops.withIndex()) {
                appendLine("${i + 1}. ${s.address}  ${s.stars?.let { "$it★" } ?: "unrated"}  +${s.legM.toInt()} m")
            }
        }
    }

    override fun onDestroy() {
        if (::archive.isInitialized) archive.close()
        super.onDestroy()
    }
}
