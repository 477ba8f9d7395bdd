"""The on-device archive driven from Python through the bindings: open with a key (and a wrong one),
load a synthetic district, plan the day, record an inspection with a photo and a micro-event, read
the building's file and its star explanation, page the officer's list.

Every test opens its own encrypted archive in a temporary directory (real SQLCipher file, real photo
files) and loads the same seeded district into it.
"""

import datetime
import struct
import tempfile
import unittest
import uuid
import zlib

import gridwalk

KEY = "correct horse battery staple"


def png(width, height):
    """A real PNG image (solid grey), built by hand so the test needs no imaging library."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def now():
    return datetime.datetime.now(datetime.timezone.utc)


class ArchiveCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = f"{self.dir.name}/archive.db"
        self.archive = gridwalk.GridwalkArchive.open(self.path, KEY)
        # The district is "as of" the archive's today, so what the worker records now is not in the
        # district's future.
        self.today = self.archive.today()
        spec = gridwalk.small_district_spec(11)
        spec.today = self.today
        self.district = gridwalk.SyntheticDistrict(spec)
        self.assertEqual(self.archive.load_district(self.district), 430)
        self.grid = self.district.grids()[0]
        self.worker = self.grid.worker

    def tearDown(self):
        del self.archive
        self.dir.cleanup()

    def fix_at(self, building, accuracy_m=8.0):
        return gridwalk.GpsFix(
            lat=building.location.lat, lon=building.location.lon, accuracy_m=accuracy_m, taken_at=now()
        )

    def all_pass(self):
        return [
            gridwalk.ChecklistResult(item=i.id, category=i.category, outcome=gridwalk.ItemOutcome.PASS)
            for i in self.archive.catalog().checklist
        ]

    def inspection(self, building, photos=(), accuracy_m=8.0):
        finished = now()
        return gridwalk.InspectionDraft(
            building=building.code,
            worker=self.worker,
            started_at=finished - datetime.timedelta(minutes=12),
            finished_at=finished,
            fix=self.fix_at(building, accuracy_m),
            results=self.all_pass(),
            findings=[],
            photos=list(photos),
            note="stairwell clear",
        )


class OpenTest(ArchiveCase):
    def test_wrong_key_raises_not_readable(self):
        with self.assertRaises(gridwalk.GridwalkError.NotReadable):
            gridwalk.GridwalkArchive.open(self.path, "not the key")

    def test_missing_key_on_an_encrypted_archive_raises_not_readable(self):
        with self.assertRaises(gridwalk.GridwalkError.NotReadable):
            gridwalk.GridwalkArchive.open(self.path, None)

    def test_reopened_with_the_key_the_data_is_there(self):
        building = self.district.buildings_in_grid(self.grid.id)[0]
        recorded = self.archive.record_inspection(self.inspection(building))
        again = gridwalk.GridwalkArchive.open(self.path, KEY)
        self.assertEqual(again.device_id(), self.archive.device_id())
        self.assertEqual(again.building_count(), 430)
        self.assertEqual(again.inspection(recorded.id).building, building.code)
        self.assertEqual(again.outbox_status().pending, 1)


class ReadTest(ArchiveCase):
    def test_buildings_round_trip_through_the_archive_unchanged(self):
        for grid in self.district.grids():
            self.assertEqual(self.archive.buildings_in_grid(grid.id), self.district.buildings_in_grid(grid.id))
        self.assertEqual(self.archive.grid(self.grid.id), self.grid)

    def test_malformed_code_is_invalid_input_and_unknown_code_not_found(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput):
            self.archive.building("44030600")
        with self.assertRaises(gridwalk.GridwalkError.NotFound) as caught:
            self.archive.building("4403069999999999999990000")
        self.assertIn("4403069999999999999990000", caught.exception.detail)
        with self.assertRaises(gridwalk.GridwalkError.NotFound):
            self.archive.grid("G-nowhere")

    def test_officer_list_pages_through_low_star_buildings_riskiest_first(self):
        f = gridwalk.BuildingFilter(
            scope=gridwalk.Scope.DISTRICT(), max_stars=2, include_unrated=False, overdue_on=None,
            with_open_hazards=False, blacklisted_only=False,
        )
        seen, after, pages = [], None, 0
        while True:
            page = self.archive.building_list(f, 25, after)
            seen.extend(page.buildings)
            pages += 1
            after = page.next_after
            if after is None:
                break
        want = sorted(b.code for b in self.district.buildings() if b.stars is not None and b.stars <= 2)
        self.assertEqual(sorted(s.code for s in seen), want)
        self.assertEqual(len(seen), len(set(s.code for s in seen)))
        self.assertEqual(pages, len(want) // 25 + 1)
        stars = [s.stars for s in seen]
        self.assertEqual(stars, sorted(stars))

    def test_officer_list_page_limit_out_of_range_is_invalid_input(self):
        f = gridwalk.BuildingFilter(
            scope=gridwalk.Scope.GRID(id=self.grid.id), max_stars=None, include_unrated=True,
            overdue_on=None, with_open_hazards=False, blacklisted_only=False,
        )
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.building_list(f, 0, None)
        self.assertIn("page limit", caught.exception.detail)


class PatrolDayTest(ArchiveCase):
    def test_a_patrol_day(self):
        start = self.grid.boundary[0]
        plan = self.archive.plan_day(self.grid.id, self.today, start)
        grid_codes = {b.code for b in self.district.buildings_in_grid(self.grid.id)}
        self.assertEqual(plan.grid, self.grid.id)
        self.assertEqual(plan.day, self.today)
        self.assertTrue(plan.stops, "the synthetic grid has due buildings today")
        self.assertLessEqual(len(plan.stops), plan.due_total)
        codes = [s.building for s in plan.stops]
        self.assertEqual(len(codes), len(set(codes)))
        self.assertTrue(set(codes) <= grid_codes)
        for s in plan.stops:
            self.assertLessEqual(s.due_on, self.today)
            self.assertEqual(s.days_overdue, (self.today - s.due_on).days)
            self.assertTrue(s.address)
        self.assertAlmostEqual(sum(s.leg_m for s in plan.stops), plan.walk_m, delta=0.01)
        self.assertLessEqual(plan.walk_m, plan.priority_order_m + 1e-6)

        # First stop: inspect it, with a photo.
        first = self.archive.building(plan.stops[0].building)
        photo = self.archive.add_photo(png(64, 48))
        self.assertEqual((photo.width, photo.height), (64, 48))
        self.assertEqual(len(photo.sha256), 64)
        self.assertEqual(self.archive.add_photo(png(64, 48)), photo, "same bytes, same photo")
        recorded = self.archive.record_inspection(self.inspection(first, photos=[photo]))
        self.assertEqual(uuid.UUID(recorded.id).version, 7)
        self.assertEqual(self.archive.outbox_status(), gridwalk.OutboxStatus(pending=1, in_flight=0, acked=0, rejected=0))

        # The inspected building leaves today's plan at once; the others stay due.
        after = self.archive.plan_day(self.grid.id, self.today, start)
        self.assertNotIn(first.code, [s.building for s in after.stops])
        self.assertEqual(after.due_total, plan.due_total - 1)

        # Its file holds the inspection, and its stars are now scored from that checklist.
        file = self.archive.building_file(first.code, self.today)
        self.assertEqual([i.id for i in file.inspections], [recorded.id])
        self.assertEqual(file.inspections[0].photos, [photo])
        self.assertEqual(file.inspections[0].note, "stairwell clear")
        explanation = file.stars
        self.assertIsInstance(explanation.basis, gridwalk.RatingBasis.INSPECTION)
        self.assertEqual(explanation.basis.id, recorded.id)
        self.assertEqual(explanation.score_stars, 5, "every item passed")
        self.assertEqual(explanation.scores.safety_livability, 100.0)
        scored = [r for r in explanation.rules_fired if r.rule == "score.stars"]
        self.assertEqual(len(scored), 1)
        self.assertEqual(scored[0].effect, gridwalk.Effect.SCORED(stars=5))
        self.assertEqual(explanation.previous_stars, first.stars)
        if first.stars is not None and explanation.stars > first.stars:
            self.assertEqual(explanation.stars, first.stars + 1, "upgrades move one step only")
        self.assertEqual(self.archive.star_explanation(first.code, self.today), explanation)

        # Second stop: corridor clutter, pushed as a micro-event notice to the owner.
        second = self.archive.building(plan.stops[1].building)
        reported = now()
        me = self.archive.record_micro_event(
            gridwalk.MicroEventDraft(
                building=second.code, worker=self.worker, kind="me_corridor_clutter", fix=self.fix_at(second),
                photos=[photo], description="bicycles and boxes on the 3rd floor landing", reported_at=reported,
                recipients=[gridwalk.NoticeRecipient.OWNER, gridwalk.NoticeRecipient.TENANTS],
            )
        )
        event = self.archive.event(me.id)
        kind = next(k for k in self.archive.catalog().micro_event_kinds if k.id == "me_corridor_clutter")
        self.assertEqual(event.kind, gridwalk.EventKind.MICRO_EVENT(kind="me_corridor_clutter"))
        self.assertEqual(event.category, kind.category)
        self.assertEqual(event.status, gridwalk.EventStatus.REPORTED)
        self.assertEqual(event.severity, gridwalk.Severity.LOW)
        local_day = reported.astimezone(datetime.timezone(datetime.timedelta(hours=8))).date()
        self.assertEqual(event.notice.deadline, local_day + datetime.timedelta(days=kind.deadline_days))
        self.assertEqual(event.notice.recipients, [gridwalk.NoticeRecipient.OWNER, gridwalk.NoticeRecipient.TENANTS])
        self.assertGreater(me.outbox_seq, recorded.outbox_seq)
        self.assertEqual(self.archive.outbox_status().pending, 2)
        self.assertIn(me.id, [e.id for e in self.archive.building_file(second.code, self.today).events])


class CaptureRefusedTest(ArchiveCase):
    def setUp(self):
        super().setUp()
        self.building = self.district.buildings_in_grid(self.grid.id)[0]

    def assert_nothing_queued(self):
        self.assertEqual(self.archive.outbox_status().pending, 0)

    def test_inaccurate_gps_fix_is_refused(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.record_inspection(self.inspection(self.building, accuracy_m=500.0))
        self.assertIn("worse than the 100 m limit", caught.exception.detail)
        self.assert_nothing_queued()

    def test_photo_not_in_the_archive_is_refused(self):
        ghost = gridwalk.PhotoRef(sha256="ab" * 32, size_bytes=10, width=1, height=1)
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.record_inspection(self.inspection(self.building, photos=[ghost]))
        self.assertIn("not in the archive", caught.exception.detail)
        self.assert_nothing_queued()

    def test_bytes_that_are_not_an_image_are_refused(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.add_photo(b"definitely not a jpeg")
        self.assertIn("not an image", caught.exception.detail)

    def test_unknown_micro_event_kind_and_missing_recipients_are_refused(self):
        draft = gridwalk.MicroEventDraft(
            building=self.building.code, worker=self.worker, kind="me_no_such_kind", fix=self.fix_at(self.building),
            photos=[], description="", reported_at=now(), recipients=[gridwalk.NoticeRecipient.OWNER],
        )
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.record_micro_event(draft)
        self.assertIn("me_no_such_kind", caught.exception.detail)
        draft.kind = "me_corridor_clutter"
        draft.recipients = []
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            self.archive.record_micro_event(draft)
        self.assertIn("at least one recipient", caught.exception.detail)
        self.assert_nothing_queued()

    def test_malformed_record_id_is_invalid_input_and_unknown_id_not_found(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput):
            self.archive.inspection("not-a-uuid")
        with self.assertRaises(gridwalk.GridwalkError.NotFound):
            self.archive.event(str(uuid.uuid4()))


if __name__ == "__main__":
    unittest.main()
