"""The sync surface driven from Python against a REAL gridwalk-server: the `demo` command (a synthetic
district, one account per role) runs as a subprocess on 127.0.0.1 with a port the OS picks, on a
temporary data directory. A worker's patrol day: log in, pull the grid, plan the day, record an
inspection with a photo, sync, and check on the server over HTTP that it arrived (exactly once) with
its photo; then the supervisor sends it back over HTTP, the phone's next sync shows the comment, the
worker resubmits a correction, and the server's review queue shows it linked to the original.
"""

import datetime
import json
import os
import re
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

import gridwalk
from test_archive import png

DEMO_PASSWORD = "gridwalk-demo"


def server_binary():
    """Set by scripts/test-bindings, which builds it."""
    return os.environ["GRIDWALK_SERVER"]


class DemoServer:
    """`gridwalk-server demo --listen 127.0.0.1:0`; reads the URL it prints."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory()
        self.proc = subprocess.Popen(
            [server_binary(), "demo", "--listen", "127.0.0.1:0", "--data", f"{self.dir.name}/server"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "RUST_LOG": "warn"},
        )
        self.url = None
        self.accounts = {}
        for line in self.proc.stdout:
            m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                self.url = m.group(1)
            m = re.match(r"\s+(demo-\w+)\s+password\s+(\S+)\s+(\w+)\s+(.+)$", line)
            if m:
                self.accounts[m.group(1)] = (m.group(2), m.group(3), m.group(4).strip())
            if line.startswith("Ctrl-C"):
                break
        if self.url is None:
            self.stop()
            raise RuntimeError("the demo server did not print its URL")
        # Keep reading stdout so the server never blocks on a full pipe.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.dir.cleanup()

    def call(self, method, path, token=None, body=None, raw=False):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            payload = r.read()
        return payload if raw else json.loads(payload)

    def login(self, username, device_id):
        return self.call("POST", "/v1/auth/login", body={
            "username": username, "password": DEMO_PASSWORD, "device_id": device_id})


class Recorder(gridwalk.SyncObserver):
    def __init__(self):
        self.progress = []
        self.states = []

    def on_progress(self, progress):
        self.progress.append(progress)

    def on_state(self, state):
        self.states.append(state)


class SyncTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = DemoServer()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.archive = gridwalk.GridwalkArchive.open(f"{self.dir.name}/phone.db", "phone key")
        self.sync = gridwalk.GridwalkSync(self.archive, self.server.url)

    def tearDown(self):
        del self.sync
        del self.archive
        self.dir.cleanup()

    def passing_inspection(self, building, photo, note):
        """A ten-minute visit by the demo worker at the building, every checklist item passed."""
        finished = datetime.datetime.now(datetime.timezone.utc)
        return gridwalk.InspectionDraft(
            building=building.code, worker="demo-worker",
            started_at=finished - datetime.timedelta(minutes=10), finished_at=finished,
            fix=gridwalk.GpsFix(lat=building.location.lat, lon=building.location.lon, accuracy_m=6.0,
                                taken_at=finished),
            results=[gridwalk.ChecklistResult(item=i.id, category=i.category, outcome=gridwalk.ItemOutcome.PASS)
                     for i in self.archive.catalog().checklist],
            findings=[], photos=[photo], note=note,
        )

    def test_wrong_password_raises_wrong_credentials_and_sync_before_login_not_logged_in(self):
        with self.assertRaises(gridwalk.GridwalkError.WrongCredentials):
            self.sync.login("demo-worker", "not the password")
        with self.assertRaises(gridwalk.GridwalkError.NotLoggedIn):
            self.sync.sync_now()
        status = self.sync.sync_status()
        self.assertFalse(status.logged_in)
        self.assertEqual(status.last_error, "not logged in; log in to sync")

    def test_unreachable_server_raises_network(self):
        # Port 9 on loopback: nothing listens there.
        sync = gridwalk.GridwalkSync(self.archive, "http://127.0.0.1:9")
        with self.assertRaises(gridwalk.GridwalkError.Network):
            sync.login("demo-worker", DEMO_PASSWORD)

    def test_bad_url_is_invalid_input(self):
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput):
            gridwalk.GridwalkSync(self.archive, "gridwalk.example")

    def test_a_patrol_day_synced_with_the_server(self):
        recorder = Recorder()
        self.sync.set_observer(recorder)

        # Log in: the demo worker's scope is one grid.
        account = self.sync.login("demo-worker", DEMO_PASSWORD)
        self.assertEqual(account.username, "demo-worker")
        self.assertEqual(account.role, "worker")
        self.assertIsInstance(account.scope, gridwalk.Scope.GRID)
        grid = account.scope.id
        self.assertEqual(self.server.accounts["demo-worker"][2], f"grid:{grid}")
        status = self.sync.sync_status()
        self.assertEqual((status.username, status.logged_in, status.pending_records), ("demo-worker", True, 0))

        # First sync pulls the worker's grid: nothing to push, buildings to pull.
        first = self.sync.sync_now()
        self.assertEqual(first.records_accepted, 0)
        self.assertGreater(first.buildings_pulled, 0)
        self.assertEqual(self.archive.building_count(), first.buildings_pulled)
        buildings = self.archive.buildings_in_grid(grid)
        self.assertEqual(len(buildings), first.buildings_pulled)
        self.assertIsNotNone(self.sync.sync_status().last_success_at)

        # The observer saw the sync run, pull and succeed.
        self.assertIsInstance(recorder.states[0], gridwalk.SyncState.RUNNING)
        self.assertIsInstance(recorder.states[-1], gridwalk.SyncState.SUCCEEDED)
        self.assertEqual(recorder.states[-1].summary, first)
        pulled = [p for p in recorder.progress if p.phase == gridwalk.SyncPhase.PULLING]
        self.assertTrue(pulled)
        self.assertEqual(pulled[-1].changes_pulled, first.buildings_pulled)
        self.assertEqual(recorder.progress[-1].phase, gridwalk.SyncPhase.FINISHING)
        self.assertAlmostEqual(recorder.progress[-1].fraction, 1.0)
        fractions = [p.fraction for p in recorder.progress]
        self.assertEqual(fractions, sorted(fractions), "progress only moves forward")

        # Today's plan from the pulled grid.
        today = self.archive.today()
        start = buildings[0].location
        plan = self.archive.plan_day(grid, today, start)
        self.assertEqual(plan.grid, grid)
        self.assertTrue(plan.stops, "the demo grid has buildings due")
        self.assertTrue({s.building for s in plan.stops} <= {b.code for b in buildings})

        # Inspect the first stop, with a photo.
        building = self.archive.building(plan.stops[0].building)
        photo_bytes = png(40, 30)
        photo = self.archive.add_photo(photo_bytes)
        draft = self.passing_inspection(building, photo, "fire exit clear")
        recorded = self.archive.record_inspection(draft)
        status = self.sync.sync_status()
        self.assertEqual((status.pending_records, status.pending_photos), (1, 1))

        # Sync: the inspection goes once, its photo goes once.
        recorder.progress.clear()
        second = self.sync.sync_now()
        self.assertEqual((second.records_accepted, second.records_duplicate, second.records_rejected), (1, 0, 0))
        self.assertEqual(second.photos_uploaded, 1)
        self.assertEqual(second.photo_bytes_uploaded, len(photo_bytes))
        self.assertEqual(second.photo_failures, [])
        self.assertEqual(self.archive.outbox_status(),
                         gridwalk.OutboxStatus(pending=0, in_flight=0, acked=1, rejected=0))
        pushing = [p for p in recorder.progress if p.phase == gridwalk.SyncPhase.PUSHING]
        self.assertEqual((pushing[-1].records_to_push, pushing[-1].records_pushed), (1, 1))
        uploading = [p for p in recorder.progress if p.phase == gridwalk.SyncPhase.UPLOADING_PHOTOS]
        self.assertEqual(uploading[-1].photo_bytes_uploaded, len(photo_bytes))

        # A third sync sends nothing again.
        third = self.sync.sync_now()
        self.assertEqual((third.records_accepted, third.records_duplicate, third.photos_uploaded), (0, 0, 0))

        # On the server, over HTTP, as this device: exactly one record arrived from it (its last
        # push number), and the photo is stored complete with the very bytes taken.
        login = self.server.login("demo-worker", self.archive.device_id())
        self.assertEqual(login["device_last_seq"], 1)
        token = login["token"]
        st = self.server.call("GET", f"/v1/photos/{photo.sha256}/status", token)
        self.assertEqual((st["complete"], st["received_bytes"]), (True, len(photo_bytes)))
        self.assertEqual(self.server.call("GET", f"/v1/photos/{photo.sha256}", token, raw=True), photo_bytes)
        # The supervisor of the street reads the same building's file on the server.
        sup = self.server.login("demo-supervisor", "supervisor-desk-1")
        on_server = self.server.call("GET", f"/v1/buildings/{building.code}", sup["token"])
        self.assertEqual(on_server["code"], building.code)
        self.assertEqual(self.archive.inspection(recorded.id).building, building.code)

        # The supervisor sends the report back; the phone's next sync brings the comment.
        comment = "the fire exit photo is blurred: take it again"
        decided = self.server.call("POST", f"/v1/review/{recorded.id}", sup["token"],
                                   {"decision": "sent_back", "comment": comment})
        self.assertEqual(decided["state"], "sent_back")
        fourth = self.sync.sync_now()
        self.assertEqual((fourth.reviews_pulled, fourth.records_accepted), (1, 0))
        todo = self.archive.sent_back_uncorrected()
        self.assertEqual([r.record_id for r in todo], [recorded.id])
        self.assertEqual((todo[0].decision, todo[0].comment, todo[0].reviewer, todo[0].kind),
                         (gridwalk.ReviewDecision.SENT_BACK, comment, "demo-supervisor", "inspection"))

        # The worker records the correction, naming the sent-back report, and syncs it.
        corrected = self.archive.record_inspection(gridwalk.InspectionDraft(
            building=draft.building, worker=draft.worker, started_at=draft.started_at,
            finished_at=draft.finished_at, fix=draft.fix, results=draft.results, findings=[],
            photos=[], note="photo retaken", corrects=recorded.id))
        self.assertEqual(self.archive.inspection(corrected.id).corrects, recorded.id)
        self.assertEqual(self.archive.sent_back_uncorrected(), [])
        self.assertEqual([r.corrected_by for r in self.archive.reviews()], [corrected.id])
        fifth = self.sync.sync_now()
        self.assertEqual((fifth.records_accepted, fifth.records_rejected), (1, 0))

        # On the server the original shows as resubmitted, linked both ways.
        queue = self.server.call("GET", f"/v1/review/queue?worker=demo-worker&limit=50", sup["token"])
        items = {i["record"]: i for i in queue["items"]}
        self.assertEqual(items[recorded.id]["state"], "resubmitted")
        self.assertEqual(items[recorded.id]["corrected_by"], corrected.id)
        self.assertEqual(items[corrected.id]["corrects"], recorded.id)
        self.assertEqual(items[corrected.id]["original"], recorded.id)
        self.assertEqual(items[corrected.id]["state"], "pending")

        # A malformed id for the correction link is the mapped InvalidInput error, nothing stored.
        with self.assertRaises(gridwalk.GridwalkError.InvalidInput):
            self.archive.record_inspection(gridwalk.InspectionDraft(
                building=draft.building, worker=draft.worker, started_at=draft.started_at,
                finished_at=draft.finished_at, fix=draft.fix, results=draft.results, findings=[],
                photos=[], note="", corrects="not-a-record-id"))
        self.assertEqual(self.archive.outbox_status().acked, 2)
        self.assertEqual(self.archive.outbox_status().pending, 0)

    def test_cancel_from_the_first_progress_step_stops_the_sync_and_the_next_one_finishes(self):
        self.sync.login("demo-worker", DEMO_PASSWORD)
        sync = self.sync

        class CancelAtOnce(Recorder):
            def on_progress(self, progress):
                super().on_progress(progress)
                if len(self.progress) == 1:
                    sync.cancel_sync()

        observer = CancelAtOnce()
        self.sync.set_observer(observer)
        with self.assertRaises(gridwalk.GridwalkError.SyncCancelled):
            self.sync.sync_now()
        self.assertIsInstance(observer.states[-1], gridwalk.SyncState.FAILED)
        self.assertIsInstance(observer.states[-1].error, gridwalk.GridwalkError.SyncCancelled)
        self.assertEqual(self.archive.building_count(), 0, "cancelled before the pull")
        status = self.sync.sync_status()
        self.assertFalse(status.running)
        self.assertEqual(status.last_error, "the sync was cancelled")
        # Idle: cancelling is a no-op, and the next sync pulls the grid.
        self.sync.cancel_sync()
        self.sync.set_observer(None)
        self.assertGreater(self.sync.sync_now().buildings_pulled, 0)
        self.assertGreater(self.archive.building_count(), 0)

    def test_a_damaged_photo_is_named_in_the_status_until_it_is_restored(self):
        account = self.sync.login("demo-worker", DEMO_PASSWORD)
        self.sync.sync_now()
        building = self.archive.buildings_in_grid(account.scope.id)[0]
        # Not the patrol test's image: the server is shared, and would already hold that one.
        photo_bytes = png(41, 29)
        photo = self.archive.add_photo(photo_bytes)
        self.archive.record_inspection(self.passing_inspection(building, photo, ""))
        path = f"{self.dir.name}/phone.db.photos/{photo.sha256}"
        with open(path, "wb") as f:
            f.write(photo_bytes[:-1] + bytes([photo_bytes[-1] ^ 0xFF]))

        # The record goes; the photo cannot, and the status says which and why.
        summary = self.sync.sync_now()
        self.assertEqual((summary.records_accepted, summary.photos_uploaded), (1, 0))
        self.assertEqual(len(summary.photo_failures), 1)
        status = self.sync.sync_status()
        self.assertEqual((status.pending_records, status.pending_photos), (0, 1))
        self.assertEqual([f.sha256 for f in status.photo_failures], [photo.sha256])
        self.assertIn("damaged", status.photo_failures[0].reason)
        self.assertIsInstance(status.photo_failures[0].failed_at, datetime.datetime)

        # Restored: the next sync sends it and the failure is gone.
        with open(path, "wb") as f:
            f.write(photo_bytes)
        self.assertEqual(self.sync.sync_now().photos_uploaded, 1)
        status = self.sync.sync_status()
        self.assertEqual((status.pending_photos, status.photo_failures), (0, []))

    def test_revoked_token_raises_login_required_and_keeps_the_records(self):
        self.sync.login("demo-worker", DEMO_PASSWORD)
        self.sync.sync_now()
        admin = self.server.login("demo-admin", "admin-desk-1")
        self.server.call("POST", "/v1/admin/users/demo-worker/revoke-tokens", admin["token"], body={})
        with self.assertRaises(gridwalk.GridwalkError.LoginRequired):
            self.sync.sync_now()
        status = self.sync.sync_status()
        self.assertTrue(status.login_required)
        self.assertEqual(status.username, "demo-worker")
        # Logging in again makes syncing work again.
        self.sync.login("demo-worker", DEMO_PASSWORD)
        self.assertEqual(self.sync.sync_now().records_rejected, 0)
        self.assertFalse(self.sync.sync_status().login_required)
