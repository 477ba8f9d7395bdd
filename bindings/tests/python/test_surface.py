"""The gridwalk bindings driven from Python: building codes, the catalog, the synthetic district.

Run by scripts/test-bindings with PYTHONPATH pointing at the generated `gridwalk.py` (and the built
libgridwalk_ffi.so beside it) and GRIDWALK_REPO at the repository root.
"""

import datetime
import json
import os
import pathlib
import unittest

import gridwalk

REPO = pathlib.Path(os.environ.get("GRIDWALK_REPO", pathlib.Path(__file__).resolve().parents[3]))


class BuildingCodeTest(unittest.TestCase):
    def test_valid_code_comes_back_unchanged(self):
        self.assertEqual(
            gridwalk.validate_building_code("4403060010010010000000001"),
            "4403060010010010000000001",
        )

    def test_short_code_raises_invalid_input_naming_the_length(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            gridwalk.validate_building_code("12345")
        self.assertIn("exactly 25 digits, got 5 characters", caught.exception.detail)

    def test_letter_in_code_names_its_position(self):
        with self.assertRaises(gridwalk.GridwalkError) as caught:
            gridwalk.validate_building_code("440306001001001000000000A")
        self.assertIsInstance(caught.exception, gridwalk.GridwalkError.InvalidInput)
        self.assertIn("character 25 is not a digit", caught.exception.detail)


class GeoTest(unittest.TestCase):
    def test_distance_of_a_thousandth_degree_of_latitude(self):
        d = gridwalk.distance_m(gridwalk.GeoPoint(lat=22.55, lon=113.88), gridwalk.GeoPoint(lat=22.551, lon=113.88))
        self.assertAlmostEqual(d, 111.2, delta=1.0)

    def test_latitude_out_of_range_is_refused(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            gridwalk.distance_m(gridwalk.GeoPoint(lat=91.0, lon=113.9), gridwalk.GeoPoint(lat=22.5, lon=113.9))
        self.assertIn("latitude 91", caught.exception.detail)


class CatalogTest(unittest.TestCase):
    """The catalog through the bindings equals the shipped JSON file, field by field."""

    @classmethod
    def setUpClass(cls):
        cls.catalog = gridwalk.default_catalog()
        cls.shipped = json.loads((REPO / "core" / "data" / "catalog.json").read_text(encoding="utf-8"))

    def test_has_the_21_micro_event_kinds_of_the_source(self):
        self.assertEqual(len(self.catalog.micro_event_kinds), 21)

    def test_micro_event_kinds_match_the_shipped_file(self):
        got = [(k.id, k.label.zh_cn, k.label.en, k.category, k.deadline_days) for k in self.catalog.micro_event_kinds]
        want = [
            (k["id"], k["label"]["zh_cn"], k["label"]["en"], k["category"], k["deadline_days"])
            for k in self.shipped["micro_event_kinds"]
        ]
        self.assertEqual(got, want)

    def test_first_kind_is_corridor_clutter_with_a_week_to_fix(self):
        first = self.catalog.micro_event_kinds[0]
        self.assertEqual(first.id, "me_corridor_clutter")
        self.assertEqual(first.label.zh_cn, "楼道堆放杂物")
        self.assertEqual(first.deadline_days, 7)

    def test_checklist_categories_map_to_the_enum(self):
        names = {
            "safety_livability": gridwalk.Category.SAFETY_LIVABILITY,
            "management": gridwalk.Category.MANAGEMENT,
            "honesty_credit": gridwalk.Category.HONESTY_CREDIT,
            "civility_hygiene": gridwalk.Category.CIVILITY_HYGIENE,
        }
        got = [(i.id, i.category, i.weight) for i in self.catalog.checklist]
        want = [(i["id"], names[i["category"]], float(i["weight"])) for i in self.shipped["checklist"]]
        self.assertEqual(got, want)
        self.assertEqual(self.catalog.version, self.shipped["version"])

    def test_every_event_category_has_a_known_department(self):
        departments = {d.id for d in self.catalog.departments}
        self.assertEqual(len(self.catalog.departments), len(self.shipped["departments"]))
        for c in self.catalog.event_categories:
            self.assertIn(c.department, departments)


class SyntheticDistrictTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = gridwalk.small_district_spec(7)
        cls.district = gridwalk.SyntheticDistrict(cls.spec)

    def test_small_spec_has_the_documented_counts_and_day(self):
        s = self.spec
        self.assertEqual((s.seed, s.streets, s.communities, s.grids, s.buildings), (7, 2, 4, 12, 430))
        self.assertEqual(s.today, datetime.date(2025, 7, 1))

    def test_counts_follow_the_spec(self):
        self.assertEqual(len(self.district.streets()), 2)
        self.assertEqual(len(self.district.communities()), 4)
        self.assertEqual(len(self.district.grids()), 12)
        self.assertEqual(len(self.district.buildings()), 430)
        self.assertGreater(self.district.inspection_count(), 0)

    def test_codes_are_baoan_codes_in_order_and_unique(self):
        codes = [b.code for b in self.district.buildings()]
        self.assertEqual(codes, sorted(codes))
        self.assertEqual(len(set(codes)), 430)
        for code in codes:
            self.assertTrue(code.startswith("440306"), code)
            self.assertEqual(gridwalk.validate_building_code(code), code)

    def test_grids_partition_the_buildings(self):
        per_grid = {g.id: self.district.buildings_in_grid(g.id) for g in self.district.grids()}
        self.assertEqual(sum(len(v) for v in per_grid.values()), 430)
        for grid_id, buildings in per_grid.items():
            self.assertTrue(buildings, grid_id)
            self.assertTrue(all(b.grid == grid_id for b in buildings))

    def test_natural_types_for_stars_dates_and_places(self):
        buildings = self.district.buildings()
        for b in buildings:
            self.assertTrue(b.stars is None or 1 <= b.stars <= 5)
            self.assertTrue(22.0 < b.location.lat < 23.0 and 113.0 < b.location.lon < 114.5)
            if b.next_due_on is not None:
                self.assertIsInstance(b.next_due_on, datetime.date)
            if b.last_inspected_at is not None:
                self.assertIsInstance(b.last_inspected_at, datetime.datetime)
                # Nothing in the district happens after the end of its "today".
                self.assertLessEqual(
                    b.last_inspected_at, datetime.datetime(2025, 7, 1, 23, 59, 59, tzinfo=datetime.timezone.utc)
                )
        self.assertTrue(any(b.next_due_on is not None for b in buildings))
        self.assertTrue(any(b.last_inspected_at is not None for b in buildings))

    def test_same_seed_same_district_other_seed_other_district(self):
        again = gridwalk.SyntheticDistrict(gridwalk.small_district_spec(7))
        self.assertEqual(again.buildings(), self.district.buildings())
        other = gridwalk.SyntheticDistrict(gridwalk.small_district_spec(8))
        self.assertNotEqual(
            [b.location for b in other.buildings()[:20]],
            [b.location for b in self.district.buildings()[:20]],
        )

    def test_unknown_grid_raises_not_found(self):
        with self.assertRaises(gridwalk.GridwalkError.NotFound) as caught:
            self.district.buildings_in_grid("G9999")
        self.assertIn("G9999", caught.exception.detail)

    def test_impossible_spec_raises_invalid_input(self):
        spec = gridwalk.small_district_spec(7)
        spec.grids = 2  # fewer grids than the 4 communities
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput) as caught:
            gridwalk.SyntheticDistrict(spec)
        self.assertIn("grid", caught.exception.detail)


if __name__ == "__main__":
    unittest.main()
