//! The address base importer (统一地址库): CSV or GeoJSON in, buildings merged into the archive
//! in one transaction — all rows or none. Bad rows are reported with their line numbers.
//!
//! CSV columns (header row required; order free; unknown columns refused):
//! `code,address,lat,lon,street,community,grid,floors,units,usage,owner_name,owner_phone`
//! and optionally `manager_name,manager_phone,building_head_name,building_head_phone`.
//! GeoJSON: a FeatureCollection of Point features (`[lon, lat]`) whose properties are the same
//! columns without `lat`/`lon`.

use std::collections::HashMap;
use std::path::Path;

use gridwalk_core::{
    Building, BuildingCode, BuildingUse, CommunityId, Contact, GeoPoint, GridId, StreetId,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::db::{Database, DbError, ImportSummary};

/// At most this many bad rows are listed (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot tell the format of {0}: use a .csv, .geojson or .json file, or --format")]
    UnknownFormat(String),
    #[error("line {line}: {message}")]
    Structure { line: u64, message: String },
    #[error("{total} bad rows, nothing imported; first: {}", first_error(.errors))]
    BadRows { errors: Vec<RowError>, total: usize },
    #[error(transparent)]
    Db(#[from] DbError),
}

fn first_error(errors: &[RowError]) -> String {
    errors
        .first()
        .map(|e| format!("line {}: {}", e.line, e.message))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    GeoJson,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "geojson" | "json" => Some(Format::GeoJson),
            _ => None,
        }
    }

    pub fn of_path(p: &Path) -> Option<Format> {
        p.extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
    }
}

const REQUIRED: [&str; 10] = [
    "code",
    "address",
    "street",
    "community",
    "grid",
    "floors",
    "units",
    "usage",
    "owner_name",
    "owner_phone",
];
const OPTIONAL: [&str; 4] = [
    "manager_name",
    "manager_phone",
    "building_head_name",
    "building_head_phone",
];

/// One row's fields by column name.
trait Fields {
    fn get(&self, name: &str) -> Option<&str>;
}

impl Fields for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<&str> {
        HashMap::get(self, name).map(String::as_str)
    }
}

fn required<'a>(f: &'a dyn Fields, name: &str) -> Result<&'a str, String> {
    match f.get(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("'{name}' is empty")),
    }
}

fn number<T: std::str::FromStr>(f: &dyn Fields, name: &str) -> Result<T, String> {
    let v = required(f, name)?;
    v.parse()
        .map_err(|_| format!("'{name}' must be a whole number in range, got '{v}'"))
}

fn usage(v: &str) -> Result<BuildingUse, String> {
    serde_json::from_value(serde_json::Value::String(v.to_owned())).map_err(|_| {
        format!("'usage' must be one of residential, mixed_use, industrial, dormitory, commercial; got '{v}'")
    })
}

fn contact(f: &dyn Fields, prefix: &str) -> Result<Option<Contact>, String> {
    let name = f
        .get(&format!("{prefix}_name"))
        .map(str::trim)
        .unwrap_or("");
    let phone = f
        .get(&format!("{prefix}_phone"))
        .map(str::trim)
        .unwrap_or("");
    match (name.is_empty(), phone.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(Contact {
            name: name.to_owned(),
            phone: phone.to_owned(),
        })),
        _ => Err(format!("'{prefix}_name' and '{prefix}_phone' go together")),
    }
}

/// A building from an address-base row. Archive fields start empty (unrated, no hazards).
fn building(f: &dyn Fields, at: GeoPoint) -> Result<Building, String> {
    let code = BuildingCode::parse(required(f, "code")?).map_err(|e| e.to_string())?;
    let floors: u16 = number(f, "floors")?;
    if floors == 0 {
        return Err("'floors' must be at least 1".into());
    }
    Ok(Building {
        code,
        address: required(f, "address")?.to_owned(),
        location: at,
        street: StreetId(required(f, "street")?.to_owned()),
        community: CommunityId(required(f, "community")?.to_owned()),
        grid: GridId(required(f, "grid")?.to_owned()),
        floors,
        units: number(f, "units")?,
        usage: usage(required(f, "usage")?)?,
        owner: contact(f, "owner")?.ok_or("'owner_name' is empty")?,
        manager: contact(f, "manager")?,
        building_head: contact(f, "building_head")?,
        stars: None,
        scores: None,
        open_hazards: 0,
        blacklisted: false,
        last_inspected_at: None,
        next_due_on: None,
    })
}

fn coordinate(f: &dyn Fields, name: &str) -> Result<f64, String> {
    let v = required(f, name)?;
    v.parse()
        .map_err(|_| format!("'{name}' must be a number, got '{v}'"))
}

/// Parsed rows (with their line numbers) or every bad row.
#[derive(Debug, Default)]
struct Collector {
    rows: Vec<(u64, Building)>,
    errors: Vec<RowError>,
    total_bad: usize,
    seen: HashMap<BuildingCode, u64>,
}

impl Collector {
    fn push(&mut self, line: u64, row: Result<Building, String>) {
        let row = row.and_then(|b| match self.seen.get(&b.code) {
            Some(first) => Err(format!(
                "building {} already appears on line {first}",
                b.code
            )),
            None => Ok(b),
        });
        match row {
            Ok(b) => {
                self.seen.insert(b.code.clone(), line);
                self.rows.push((line, b));
            }
            Err(message) => {
                self.total_bad += 1;
                if self.errors.len() < MAX_REPORTED_ERRORS {
                    self.errors.push(RowError { line, message });
                }
            }
        }
    }

    fn finish(self) -> Result<Vec<Building>, ImportError> {
        if self.total_bad > 0 {
            return Err(ImportError::BadRows {
                errors: self.errors,
                total: self.total_bad,
            });
        }
        Ok(self.rows.into_iter().map(|(_, b)| b).collect())
    }
}

pub fn parse_csv(text: &str) -> Result<Vec<Building>, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ImportError::Structure {
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_owned)
        .collect();
    for h in &headers {
        if !REQUIRED.contains(&h.as_str())
            && !OPTIONAL.contains(&h.as_str())
            && h != "lat"
            && h != "lon"
        {
            return Err(ImportError::Structure {
                line: 1,
                message: format!("unknown column '{h}'"),
            });
        }
    }
    for need in REQUIRED.iter().chain(&["lat", "lon"]) {
        if !headers.iter().any(|h| h == need) {
            return Err(ImportError::Structure {
                line: 1,
                message: format!("missing column '{need}'"),
            });
        }
    }
    let mut out = Collector::default();
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.push(line, Err(e.to_string()));
                continue;
            }
        };
        let line = rec.position().map_or(0, |p| p.line());
        let fields: HashMap<String, String> = headers
            .iter()
            .cloned()
            .zip(rec.iter().map(str::to_owned))
            .collect();
        let row = (|| {
            let at = GeoPoint::new(coordinate(&fields, "lat")?, coordinate(&fields, "lon")?)
                .map_err(|e| e.to_string())?;
            building(&fields, at)
        })();
        out.push(line, row);
    }
    out.finish()
}

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Feature {
    #[serde(rename = "type")]
    kind: String,
    geometry: Option<Geometry>,
    properties: Option<HashMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    coordinates: serde_json::Value,
}

fn line_of(text: &str, part: &str) -> u64 {
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
}

fn feature(raw: &RawValue) -> Result<Building, String> {
    let f: Feature =
        serde_json::from_str(raw.get()).map_err(|e| format!("not a GeoJSON feature: {e}"))?;
    if f.kind != "Feature" {
        return Err(format!("type must be \"Feature\", got \"{}\"", f.kind));
    }
    let g = f.geometry.ok_or("feature has no geometry")?;
    if g.kind != "Point" {
        return Err(format!("geometry must be a Point, got {}", g.kind));
    }
    let c: Vec<f64> = serde_json::from_value(g.coordinates)
        .map_err(|_| "coordinates must be [longitude, latitude]".to_owned())?;
    let [lon, lat] = c[..] else {
        return Err("coordinates must be [longitude, latitude]".into());
    };
    let at = GeoPoint::new(lat, lon).map_err(|e| e.to_string())?;
    let props: HashMap<String, String> = f
        .properties
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, s)
        })
        .collect();
    if let Some(k) = props
        .keys()
        .find(|k| !REQUIRED.contains(&k.as_str()) && !OPTIONAL.contains(&k.as_str()))
    {
        return Err(format!("unknown property '{k}'"));
    }
    building(&props, at)
}

pub fn parse_geojson(text: &str) -> Result<Vec<Building>, ImportError> {
    let c: Collection<'_> = serde_json::from_str(text).map_err(|e| ImportError::Structure {
        line: e.line() as u64,
        message: format!("not a GeoJSON FeatureCollection: {e}"),
    })?;
    if c.kind != "FeatureCollection" {
        return Err(ImportError::Structure {
            line: 1,
            message: format!("type must be \"FeatureCollection\", got \"{}\"", c.kind),
        });
    }
    let mut out = Collector::default();
    for raw in c.features {
        out.push(line_of(text, raw.get()), feature(raw));
    }
    out.finish()
}

pub fn parse(text: &str, format: Format) -> Result<Vec<Building>, ImportError> {
    match format {
        Format::Csv => parse_csv(text),
        Format::GeoJson => parse_geojson(text),
    }
}

/// Reads, checks and imports a file (or, with `dry_run`, reports what it would do).
pub async fn import_file<D: Database>(
    db: &D,
    path: &Path,
    format: Option<Format>,
    dry_run: bool,
) -> Result<ImportSummary, ImportError> {
    let format = format
        .or_else(|| Format::of_path(path))
        .ok_or_else(|| ImportError::UnknownFormat(path.display().to_string()))?;
    let p = path.to_path_buf();
    let text = tokio::fs::read_to_string(&p)
        .await
        .map_err(|source| ImportError::Read {
            path: p.display().to_string(),
            source,
        })?;
    let buildings = tokio::task::spawn_blocking(move || parse(&text, format))
        .await
        .map_err(|e| ImportError::Db(DbError::Task(e.to_string())))??;
    Ok(db.import_buildings(buildings, dry_run).await?)
}

/// Writes buildings as an address-base CSV (for exports, tests and benchmarks).
pub fn write_csv<W: std::io::Write>(out: W, buildings: &[Building]) -> Result<(), csv::Error> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "code",
        "address",
        "lat",
        "lon",
        "street",
        "community",
        "grid",
        "floors",
        "units",
        "usage",
        "owner_name",
        "owner_phone",
        "manager_name",
        "manager_phone",
    ])?;
    for b in buildings {
        let usage = serde_json::to_value(b.usage)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let (mn, mp) = b
            .manager
            .as_ref()
            .map_or((String::new(), String::new()), |m| {
                (m.name.clone(), m.phone.clone())
            });
        w.write_record([
            b.code.as_str(),
            &b.address,
            &b.location.lat.to_string(),
            &b.location.lon.to_string(),
            b.street.as_str(),
            b.community.as_str(),
            b.grid.as_str(),
            &b.floors.to_string(),
            &b.units.to_string(),
            &usage,
            &b.owner.name,
            &b.owner.phone,
            &mn,
            &mp,
        ])?;
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, DistrictShape};

    const HEADER: &str =
        "code,address,lat,lon,street,community,grid,floors,units,usage,owner_name,owner_phone";

    #[test]
    fn csv_round_trips_the_sample_district() {
        let (_, buildings) = fixtures::district(DistrictShape::SMALL);
        let mut out = Vec::new();
        write_csv(&mut out, &buildings).expect("write");
        let back = parse_csv(std::str::from_utf8(&out).expect("utf8")).expect("parse");
        assert_eq!(back, buildings);
    }

    #[test]
    fn bad_csv_rows_are_reported_with_line_numbers() {
        let text = format!(
            "{HEADER}\n\
             4403060000000000000000001,\"Block 1, Xixiang\",22.55,113.88,S1,C1,G1,6,20,residential,Li,138\n\
             12345,Block 2,22.55,113.88,S1,C1,G1,6,20,residential,Li,138\n\
             4403060000000000000000003,Block 3,95.0,113.88,S1,C1,G1,6,20,residential,Li,138\n\
             4403060000000000000000004,Block 4,22.55,113.88,S1,C1,G1,six,20,residential,Li,138\n\
             4403060000000000000000001,Block 1 again,22.55,113.88,S1,C1,G1,6,20,residential,Li,138\n\
             4403060000000000000000006,Block 6,22.55,113.88,S1,C1,G1,6,20,castle,Li,138\n\
             4403060000000000000000007,Block 7,22.55,113.88,S1,C1,G1,6,20,residential,Li\n"
        );
        let Err(ImportError::BadRows { errors, total }) = parse_csv(&text) else {
            panic!("bad rows must be refused");
        };
        assert_eq!(total, 6);
        let lines: Vec<u64> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8]);
        assert!(
            errors[0].message.contains("25 digits"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.contains("latitude"),
            "{}",
            errors[1].message
        );
        assert!(
            errors[2].message.contains("'floors'"),
            "{}",
            errors[2].message
        );
        assert!(
            errors[3].message.contains("line 2"),
            "{}",
            errors[3].message
        );
        assert!(errors[4].message.contains("usage"), "{}", errors[4].message);
        assert!(
            errors[5].message.contains("fields"),
            "{}",
            errors[5].message
        );

        let unknown = parse_csv(&format!("{HEADER},colour\n"));
        assert!(
            matches!(unknown, Err(ImportError::Structure { line: 1, message }) if message.contains("colour"))
        );
        let missing = parse_csv("code,address\n");
        assert!(matches!(
            missing,
            Err(ImportError::Structure { line: 1, .. })
        ));
    }

    #[test]
    fn geojson_features_are_parsed_and_bad_ones_located() {
        let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.88, 22.55]},
   "properties": {"code": "4403060000000000000000001", "address": "Block 1", "street": "S1",
     "community": "C1", "grid": "G1", "floors": 6, "units": 20, "usage": "mixed_use",
     "owner_name": "Li", "owner_phone": "138"}},
  {"type": "Feature", "geometry": {"type": "Point", "coordinates": [22.55, 190.0]},
   "properties": {"code": "4403060000000000000000002"}},
  {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}, "properties": {}}
]}"#;
        let Err(ImportError::BadRows { errors, total }) = parse_geojson(text) else {
            panic!("bad features must be refused");
        };
        assert_eq!(total, 2);
        assert_eq!(errors[0].line, 6);
        assert!(
            errors[0].message.contains("latitude"),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[1].line, 8);
        assert!(errors[1].message.contains("Point"));

        let good: String = text.lines().take(5).collect::<Vec<_>>().join("\n");
        let good = format!("{}]}}", good.trim_end_matches(','));
        let b = parse_geojson(&good).expect("one good feature");
        assert_eq!(b.len(), 1);
        assert_eq!(
            b[0].location,
            GeoPoint {
                lat: 22.55,
                lon: 113.88
            }
        );
        assert_eq!(b[0].usage, BuildingUse::MixedUse);
        assert!(matches!(
            parse_geojson("{\"type\": \"FeatureCollection\",\n \"features\": [}"),
            Err(ImportError::Structure { line: 2, .. })
        ));
    }
}
