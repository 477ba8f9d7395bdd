//! The checker: proves (or refutes) that every record created on any device exists exactly once
//! on the server, and that every device's archive equals the server's view of its scope.
//!
//! It reads the two sides as they are stored — each device's archive (every inspection and event
//! ever recorded on it, and its outbox) and the server's database, opened read-only (the SQLite
//! file, or the PostgreSQL schema) — and trusts neither the sync client's nor the server's own
//! accounting. [`judge`] is a pure function of what was read, so it is tested on its own.
//!
//! - **lost**: a record in a device's archive that the server does not hold (refused ones
//!   included: the simulation only records valid observations).
//! - **duplicated**: an extra copy on the server — a record id stored twice, or one record's
//!   content (everything but its id) stored under two ids.
//! - **view mismatches**: a device's record stored differently or under another device, a record
//!   on the server from a device that does not have it, records still waiting in an outbox,
//!   photos the server lacks, and buildings of the scope missing, extra or different on the device.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

use gridwalk_core::protocol::Scope;
use gridwalk_core::store::{Archive, ArchiveOptions};
use gridwalk_core::{Building, BuildingCode, GridId, Sha256Hex};
use serde_json::Value;

use super::device::ARCHIVE_FILE;
use super::world::{Engine, ServerData};
use super::{SimError, SimResult};

/// A record reduced to what the checker compares: hashes of its canonical JSON, with and without
/// its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The whole record.
    pub full: Sha256Hex,
    /// Everything but `id`: equal for one observation stored under two ids.
    pub content: Sha256Hex,
}

impl Digest {
    /// Canonical form: serde_json's maps are sorted, so parsing and printing again orders every
    /// object's keys the same way on both sides.
    pub fn of(mut v: Value) -> Self {
        let full = Sha256Hex::of_bytes(v.to_string().as_bytes());
        if let Value::Object(m) = &mut v {
            m.remove("id");
        }
        let content = Sha256Hex::of_bytes(v.to_string().as_bytes());
        Self { full, content }
    }

    pub fn of_json(text: &str) -> SimResult<Self> {
        Ok(Self::of(serde_json::from_str(text)?))
    }
}

fn photos_of(v: &Value) -> Vec<String> {
    v.get("photos")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.get("sha256").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One record as a device holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    pub id: String,
    pub digest: Digest,
    pub photos: Vec<String>,
}

/// What one device's archive holds.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceView {
    /// Where it was read from (for messages).
    pub name: String,
    pub device_id: String,
    /// The account last logged in on it.
    pub username: Option<String>,
    pub records: Vec<DeviceRecord>,
    /// Outbox entries not answered by the server (pending or in flight).
    pub unsent: u64,
    pub buildings: Vec<Building>,
}

/// One record as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecord {
    pub id: String,
    pub device_id: String,
    pub digest: Digest,
}

/// What the server's database holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerView {
    pub records: Vec<ServerRecord>,
    /// (device id, record id) the server refused.
    pub rejections: HashSet<(String, String)>,
    /// Each account's scope.
    pub scopes: HashMap<String, Scope>,
    /// Buildings not removed.
    pub buildings: Vec<Building>,
    /// Photos stored in full.
    pub photos: HashSet<String>,
}

/// The checker's finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub devices: usize,
    pub device_records: u64,
    pub server_records: u64,
    pub lost: u64,
    /// Of the lost, how many the server refused.
    pub refused: u64,
    pub duplicated: u64,
    pub mismatches: u64,
    /// The first mismatches, described.
    pub problems: Vec<String>,
    /// Server records from devices the checker was not given (other clients).
    pub foreign: u64,
}

/// How many problems are described; the rest are only counted.
const MAX_PROBLEMS: usize = 20;

impl Verdict {
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.mismatches == 0
    }

    /// The line every checked run ends with.
    pub fn result_line(&self) -> String {
        format!("result: lost={} duplicated={}", self.lost, self.duplicated)
    }

    fn mismatch(&mut self, what: String) {
        self.mismatches += 1;
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(what);
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "check: {} devices, {} records on the devices, {} on the server ({} from other clients); \
             lost {} (refused {}), duplicated {}, view mismatches {}",
            self.devices,
            self.device_records,
            self.server_records,
            self.foreign,
            self.lost,
            self.refused,
            self.duplicated,
            self.mismatches
        )?;
        for p in &self.problems {
            writeln!(f, "check: {p}")?;
        }
        if self.mismatches as usize > self.problems.len() {
            writeln!(
                f,
                "check: … and {} more",
                self.mismatches as usize - self.problems.len()
            )?;
        }
        write!(f, "{}", self.result_line())
    }
}

/// Compares the devices with the server.
pub fn judge(devices: &[DeviceView], server: &ServerView) -> Verdict {
    let mut v = Verdict {
        devices: devices.len(),
        device_records: devices.iter().map(|d| d.records.len() as u64).sum(),
        server_records: server.records.len() as u64,
        ..Verdict::default()
    };

    // Extra copies: an id stored more than once, then one content under several ids.
    let mut by_id: HashMap<&str, Vec<&ServerRecord>> = HashMap::new();
    for r in &server.records {
        by_id.entry(r.id.as_str()).or_default().push(r);
    }
    let mut ids_by_content: HashMap<&Sha256Hex, HashSet<&str>> = HashMap::new();
    for (id, copies) in &by_id {
        v.duplicated += copies.len() as u64 - 1;
        for c in copies {
            ids_by_content
                .entry(&c.digest.content)
                .or_default()
                .insert(id);
        }
    }
    for ids in ids_by_content.values() {
        v.duplicated += ids.len() as u64 - 1;
    }

    let known_devices: HashSet<&str> = devices.iter().map(|d| d.device_id.as_str()).collect();
    v.foreign = server
        .records
        .iter()
        .filter(|r| !known_devices.contains(r.device_id.as_str()))
        .count() as u64;

    for d in devices {
        let mine: HashSet<&str> = d.records.iter().map(|r| r.id.as_str()).collect();
        for r in &d.records {
            match by_id.get(r.id.as_str()) {
                Some(copies) => {
                    let c = copies[0];
                    if c.device_id != d.device_id {
                        v.mismatch(format!(
                            "{}: record {} is stored as device {}'s",
                            d.name, r.id, c.device_id
                        ));
                    } else if c.digest.full != r.digest.full {
                        v.mismatch(format!(
                            "{}: record {} differs between the device and the server",
                            d.name, r.id
                        ));
                    }
                }
                None => match ids_by_content.get(&r.digest.content) {
                    // The observation is there, under another id: not lost, but not the same.
                    Some(ids) => v.mismatch(format!(
                        "{}: record {} is stored under another id ({})",
                        d.name,
                        r.id,
                        ids.iter().next().copied().unwrap_or("?")
                    )),
                    None => {
                        v.lost += 1;
                        if server
                            .rejections
                            .contains(&(d.device_id.clone(), r.id.clone()))
                        {
                            v.refused += 1;
                        }
                    }
                },
            }
        }
        let contents: HashSet<&Sha256Hex> = d.records.iter().map(|r| &r.digest.content).collect();
        for r in server.records.iter().filter(|r| r.device_id == d.device_id) {
            // A copy of one of the device's records under a new id is counted as duplicated.
            if !mine.contains(r.id.as_str()) && !contents.contains(&r.digest.content) {
                v.mismatch(format!(
                    "{}: the server holds record {} from this device, which does not have it",
                    d.name, r.id
                ));
            }
        }
        if d.unsent > 0 {
            v.mismatch(format!(
                "{}: {} outbox entries were never answered",
                d.name, d.unsent
            ));
        }
        let missing_photos: HashSet<&str> = d
            .records
            .iter()
            .flat_map(|r| r.photos.iter())
            .filter(|p| !server.photos.contains(p.as_str()))
            .map(String::as_str)
            .collect();
        if !missing_photos.is_empty() {
            v.mismatch(format!(
                "{}: the server lacks {} of its photos",
                d.name,
                missing_photos.len()
            ));
        }
        compare_buildings(d, server, &mut v);
    }
    v
}

fn compare_buildings(d: &DeviceView, server: &ServerView, v: &mut Verdict) {
    let Some(scope) = d.username.as_ref().and_then(|u| server.scopes.get(u)) else {
        if !d.buildings.is_empty() {
            v.mismatch(format!(
                "{}: holds buildings but its account is unknown",
                d.name
            ));
        }
        return;
    };
    let expected: BTreeMap<&BuildingCode, &Building> = server
        .buildings
        .iter()
        .filter(|b| scope.contains(b))
        .map(|b| (&b.code, b))
        .collect();
    let held: BTreeMap<&BuildingCode, &Building> =
        d.buildings.iter().map(|b| (&b.code, b)).collect();
    let missing = expected.keys().filter(|c| !held.contains_key(*c)).count();
    let extra = held.keys().filter(|c| !expected.contains_key(*c)).count();
    let differ = held
        .iter()
        .filter(|(c, b)| expected.get(*c).is_some_and(|e| e != *b))
        .count();
    if missing + extra + differ > 0 {
        v.mismatch(format!(
            "{}: buildings of {scope}: {missing} missing, {extra} not in scope, {differ} different",
            d.name
        ));
    }
}

/// Reads one device's archive (opening it as the app would).
pub fn read_device(dir: &Path) -> SimResult<DeviceView> {
    let archive = Archive::open(dir.join(ARCHIVE_FILE), ArchiveOptions::default())?;
    let device_id = archive.device_id().to_string();
    let username = archive.sync_state()?.username;
    let counts = archive.outbox_counts()?;
    let unsent = counts.pending + counts.in_flight;
    let (rows, grids) = archive.read(|c| {
        let mut rows = Vec::new();
        for table in ["inspections", "events"] {
            let mut stmt = c.prepare(&format!("SELECT id, record_json FROM {table}"))?;
            let mut q = stmt.query([])?;
            while let Some(row) = q.next()? {
                rows.push((row.get::<_, String>(0)?, row.get::<_, String>(1)?));
            }
        }
        let mut stmt = c.prepare("SELECT DISTINCT grid FROM buildings")?;
        let grids = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((rows, grids))
    })?;
    let mut records = Vec::with_capacity(rows.len());
    for (id, json) in rows {
        let value: Value = serde_json::from_str(&json)?;
        records.push(DeviceRecord {
            id,
            photos: photos_of(&value),
            digest: Digest::of(value),
        });
    }
    let mut buildings = Vec::new();
    for g in grids {
        buildings.extend(archive.buildings_in_grid(&GridId::from(g.as_str()))?);
    }
    Ok(DeviceView {
        name: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        device_id,
        username,
        records,
        unsent,
        buildings,
    })
}

/// Reads every device directory (one holding an archive) under `devices_dir`, in name order.
pub fn read_devices(devices_dir: &Path) -> SimResult<Vec<DeviceView>> {
    let mut dirs: Vec<_> = std::fs::read_dir(devices_dir)
        .map_err(|e| SimError::io(format!("reading {}", devices_dir.display()), e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(ARCHIVE_FILE).is_file())
        .collect();
    dirs.sort();
    dirs.iter().map(|d| read_device(d)).collect()
}

/// Reads the server's database read-only.
pub async fn read_server(data: &ServerData) -> SimResult<ServerView> {
    match data.engine {
        Engine::Sqlite => {
            let path = data
                .db_url
                .strip_prefix("sqlite://")
                .ok_or_else(|| SimError::Setup(format!("not a SQLite URL: {}", data.db_url)))?
                .to_owned();
            tokio::task::spawn_blocking(move || read_sqlite(Path::new(&path)))
                .await
                .map_err(|e| SimError::Setup(e.to_string()))?
        }
        Engine::Postgres => read_postgres(&data.db_url).await,
    }
}

fn scope_of(level: &str, id: Option<&str>) -> SimResult<Scope> {
    Scope::from_parts(level, id)
        .ok_or_else(|| SimError::Setup(format!("the server stores an unknown scope {level}")))
}

fn read_sqlite(path: &Path) -> SimResult<ServerView> {
    let c = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // One snapshot for every read.
    c.execute_batch("BEGIN")?;
    let mut view = ServerView::default();
    let mut stmt = c.prepare("SELECT record_id, device_id, payload FROM records")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        view.records.push(ServerRecord {
            id: row.get(0)?,
            device_id: row.get(1)?,
            digest: Digest::of_json(&row.get::<_, String>(2)?)?,
        });
    }
    let mut stmt = c.prepare("SELECT device_id, record_id FROM rejections")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        view.rejections.insert((row.get(0)?, row.get(1)?));
    }
    let mut stmt = c.prepare("SELECT username, scope_level, scope_id FROM users")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        let level: String = row.get(1)?;
        let id: Option<String> = row.get(2)?;
        view.scopes
            .insert(row.get(0)?, scope_of(&level, id.as_deref())?);
    }
    let mut stmt = c.prepare("SELECT data FROM buildings WHERE removed = 0")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        view.buildings
            .push(serde_json::from_str(&row.get::<_, String>(0)?)?);
    }
    let mut stmt = c.prepare("SELECT sha256 FROM photos")?;
    let mut q = stmt.query([])?;
    while let Some(row) = q.next()? {
        view.photos.insert(row.get(0)?);
    }
    Ok(view)
}

async fn read_postgres(url: &str) -> SimResult<ServerView> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(conn);
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let mut view = ServerView::default();
    for row in client
        .query("SELECT record_id, device_id, payload FROM records", &[])
        .await?
    {
        view.records.push(ServerRecord {
            id: row.try_get(0)?,
            device_id: row.try_get(1)?,
            digest: Digest::of(row.try_get::<_, Value>(2)?),
        });
    }
    for row in client
        .query("SELECT device_id, record_id FROM rejections", &[])
        .await?
    {
        view.rejections.insert((row.try_get(0)?, row.try_get(1)?));
    }
    for row in client
        .query("SELECT username, scope_level, scope_id FROM users", &[])
        .await?
    {
        let level: String = row.try_get(1)?;
        let id: Option<String> = row.try_get(2)?;
        view.scopes
            .insert(row.try_get(0)?, scope_of(&level, id.as_deref())?);
    }
    for row in client
        .query("SELECT data FROM buildings WHERE NOT removed", &[])
        .await?
    {
        view.buildings
            .push(serde_json::from_value(row.try_get::<_, Value>(0)?)?);
    }
    for row in client.query("SELECT sha256 FROM photos", &[]).await? {
        view.photos.insert(row.try_get(0)?);
    }
    client.batch_execute("COMMIT").await?;
    drop(client);
    let _ = driver.await;
    Ok(view)
}

/// Reads both sides and judges.
pub async fn check(data: &ServerData, devices_dir: &Path) -> SimResult<Verdict> {
    let dir = devices_dir.to_path_buf();
    let devices = tokio::task::spawn_blocking(move || read_devices(&dir))
        .await
        .map_err(|e| SimError::Setup(e.to_string()))??;
    let server = read_server(data).await?;
    Ok(judge(&devices, &server))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(n: u32) -> Value {
        json!({
            "id": format!("0190a000-0000-7000-8000-{n:012}"),
            "building": "4403060010010010000000001",
            "note": format!("sim d0 day0 #{n}"),
            "photos": [],
        })
    }

    fn on_device(v: &Value) -> DeviceRecord {
        DeviceRecord {
            id: v["id"].as_str().expect("id").to_owned(),
            digest: Digest::of(v.clone()),
            photos: photos_of(v),
        }
    }

    fn on_server(v: &Value, device: &str) -> ServerRecord {
        ServerRecord {
            id: v["id"].as_str().expect("id").to_owned(),
            device_id: device.to_owned(),
            digest: Digest::of(v.clone()),
        }
    }

    /// Two devices of three records each, all stored once.
    fn synced() -> (Vec<DeviceView>, ServerView) {
        let mut devices = Vec::new();
        let mut server = ServerView::default();
        for d in 0..2u32 {
            let recs: Vec<Value> = (0..3).map(|k| record(d * 10 + k)).collect();
            let id = format!("dev-{d}");
            server
                .records
                .extend(recs.iter().map(|r| on_server(r, &id)));
            devices.push(DeviceView {
                name: format!("d{d}"),
                device_id: id,
                username: None,
                records: recs.iter().map(on_device).collect(),
                unsent: 0,
                buildings: Vec::new(),
            });
        }
        (devices, server)
    }

    #[test]
    fn sim_checker_passes_when_every_record_is_stored_once() {
        let (devices, server) = synced();
        let v = judge(&devices, &server);
        assert!(v.passed(), "{v}");
        assert_eq!((v.device_records, v.server_records), (6, 6));
        assert_eq!(v.result_line(), "result: lost=0 duplicated=0");
    }

    #[test]
    fn sim_checker_reports_one_lost_and_one_duplicated_record_and_fails() {
        let (devices, mut server) = synced();
        // Lost: the server never got device 0's second record.
        let lost_id = devices[0].records[1].id.clone();
        server.records.retain(|r| r.id != lost_id);
        // Duplicated: device 1's first record stored again under a new id.
        let mut copy = record(10);
        copy["id"] = json!("0190a000-0000-7000-8000-999999999999");
        server.records.push(on_server(&copy, "dev-1"));
        let v = judge(&devices, &server);
        assert_eq!((v.lost, v.duplicated), (1, 1), "{v}");
        assert!(!v.passed());
        assert_eq!(v.result_line(), "result: lost=1 duplicated=1");
        assert_eq!(v.mismatches, 0, "nothing else is wrong: {v}");
    }

    #[test]
    fn sim_checker_counts_one_id_stored_twice_as_duplicated() {
        let (devices, mut server) = synced();
        let again = server.records[0].clone();
        server.records.push(again);
        let v = judge(&devices, &server);
        assert_eq!((v.lost, v.duplicated), (0, 1), "{v}");
    }

    #[test]
    fn sim_checker_fails_on_view_mismatches_without_loss() {
        let (mut devices, mut server) = synced();
        // The device's copy differs from the server's.
        let mut edited = record(0);
        edited["note"] = json!("edited on the phone");
        devices[0].records[0].digest = Digest::of(edited);
        // An outbox entry never answered.
        devices[1].unsent = 2;
        // A record on the server from device 1 that device 1 does not have.
        server.records.push(on_server(&record(77), "dev-1"));
        // A photo the server lacks.
        let mut with_photo = record(55);
        with_photo["photos"] =
            json!([{"sha256": "ab".repeat(32), "size_bytes": 10, "width": 1, "height": 1}]);
        devices[0].records.push(on_device(&with_photo));
        server.records.push(on_server(&with_photo, "dev-0"));
        let v = judge(&devices, &server);
        assert_eq!((v.lost, v.duplicated), (0, 0), "{v}");
        assert_eq!(v.mismatches, 4, "{v}");
        assert!(!v.passed());
        server.photos.insert("ab".repeat(32));
        assert_eq!(judge(&devices, &server).mismatches, 3);
    }

    #[test]
    fn sim_checker_compares_the_buildings_of_the_scope() {
        use gridwalk_server::fixtures::{DistrictShape, Sample};
        let s = Sample::generate(
            DistrictShape {
                streets: 1,
                communities_per_street: 1,
                grids_per_community: 2,
                buildings_per_grid: 3,
            },
            9,
        )
        .expect("district");
        let (mut devices, mut server) = synced();
        let grid = s.grids()[0].id.clone();
        server.buildings = s.buildings().to_vec();
        server.scopes.insert("w".into(), Scope::Grid(grid.clone()));
        devices[0].username = Some("w".into());
        devices[0].buildings = s
            .buildings()
            .iter()
            .filter(|b| b.grid == grid)
            .cloned()
            .collect();
        assert!(judge(&devices, &server).passed());
        devices[0].buildings[0].floors += 1;
        devices[0].buildings.pop();
        devices[0].buildings.push(s.buildings()[5].clone());
        let v = judge(&devices, &server);
        assert_eq!(v.mismatches, 1, "{v}");
        assert!(
            v.problems[0].contains("1 missing, 1 not in scope, 1 different"),
            "{v}"
        );
    }
}
