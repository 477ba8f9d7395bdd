//! Officer list exports, written a page at a time: CSV (RFC 4180: a header row, fields quoted when
//! they hold a comma, quote or line break) and GeoJSON (RFC 7946: a FeatureCollection of Points,
//! coordinates in [longitude, latitude] order, WGS-84, no `crs` member).
//!
//! Contacts (personal data) are columns / properties only when the export was asked to carry them.

use gridwalk_core::Contact;
use gridwalk_core::protocol::{ListFormat, ListRow};
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write CSV: {0}")]
    CsvFlush(String),
    #[error("cannot write GeoJSON: {0}")]
    Json(#[from] serde_json::Error),
}

const COLUMNS: [&str; 13] = [
    "code",
    "address",
    "lon",
    "lat",
    "street",
    "community",
    "grid",
    "stars",
    "next_due_on",
    "open_hazards",
    "blacklisted",
    "green_channel",
    "last_inspected_at",
];

const CONTACT_COLUMNS: [&str; 6] = [
    "owner_name",
    "owner_phone",
    "manager_name",
    "manager_phone",
    "building_head_name",
    "building_head_phone",
];

/// RFC 4180 lines of `records`.
fn csv_bytes(records: impl IntoIterator<Item = Vec<String>>) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in records {
        w.write_record(&r)?;
    }
    w.into_inner()
        .map_err(|e| ExportError::CsvFlush(e.error().to_string()))
}

/// Writes one export: [`Exporter::head`], then [`Exporter::rows`] for each page, then
/// [`Exporter::tail`]; each returns the bytes to send.
#[derive(Debug)]
pub struct Exporter {
    format: ListFormat,
    contacts: bool,
    features: usize,
}

impl Exporter {
    /// An exporter for CSV or GeoJSON (a JSON page is not an export).
    pub fn new(format: ListFormat, contacts: bool) -> Self {
        Self {
            format,
            contacts,
            features: 0,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self.format {
            ListFormat::Csv => "text/csv; charset=utf-8",
            ListFormat::Geojson => "application/geo+json",
            ListFormat::Json => "application/json",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self.format {
            ListFormat::Csv => "csv",
            ListFormat::Geojson => "geojson",
            ListFormat::Json => "json",
        }
    }

    pub fn head(&mut self) -> Result<Vec<u8>, ExportError> {
        match self.format {
            ListFormat::Csv => {
                let mut header: Vec<&str> = COLUMNS.to_vec();
                if self.contacts {
                    header.extend(CONTACT_COLUMNS);
                }
                csv_bytes([header.into_iter().map(str::to_owned).collect()])
            }
            ListFormat::Geojson => Ok(br#"{"type":"FeatureCollection","features":["#.to_vec()),
            ListFormat::Json => Ok(Vec::new()),
        }
    }

    pub fn rows(&mut self, rows: &[ListRow]) -> Result<Vec<u8>, ExportError> {
        match self.format {
            ListFormat::Csv => csv_bytes(rows.iter().map(|r| self.csv_record(r))),
            ListFormat::Geojson => {
                let mut out = Vec::new();
                for r in rows {
                    if self.features > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, &self.feature(r)?)?;
                    self.features += 1;
                }
                Ok(out)
            }
            ListFormat::Json => Ok(Vec::new()),
        }
    }

    pub fn tail(&mut self) -> Vec<u8> {
        match self.format {
            ListFormat::Geojson => b"]}".to_vec(),
            ListFormat::Csv | ListFormat::Json => Vec::new(),
        }
    }

    fn csv_record(&self, r: &ListRow) -> Vec<String> {
        let b = &r.building;
        let mut fields = vec![
            b.code.to_string(),
            b.address.clone(),
            b.location.lon.to_string(),
            b.location.lat.to_string(),
            b.street.to_string(),
            b.community.to_string(),
            b.grid.to_string(),
            b.stars.map(|s| s.get().to_string()).unwrap_or_default(),
            b.next_due_on.map(|d| d.to_string()).unwrap_or_default(),
            b.open_hazards.to_string(),
            b.blacklisted.to_string(),
            r.green_channel.to_string(),
            b.last_inspected_at
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default(),
        ];
        if self.contacts {
            let c = r.contacts.as_ref();
            let person = |p: Option<&Contact>| {
                [
                    p.map(|p| p.name.clone()).unwrap_or_default(),
                    p.map(|p| p.phone.clone()).unwrap_or_default(),
                ]
            };
            fields.extend(person(c.map(|c| &c.owner)));
            fields.extend(person(c.and_then(|c| c.manager.as_ref())));
            fields.extend(person(c.and_then(|c| c.building_head.as_ref())));
        }
        fields
    }

    fn feature(&self, r: &ListRow) -> Result<Value, ExportError> {
        let mut properties = match serde_json::to_value(r)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        properties.remove("location");
        if !self.contacts {
            properties.remove("contacts");
        }
        let p = r.building.location;
        Ok(json!({
            "type": "Feature",
            "id": r.building.code.as_str(),
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": properties,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::store::BuildingSummary;
    use gridwalk_core::{BuildingCode, CommunityId, GeoPoint, GridId, Stars, StreetId};

    fn row(n: u32, address: &str) -> ListRow {
        ListRow {
            building: BuildingSummary {
                code: BuildingCode::parse(&format!("44030600100100{n:011}")).expect("code"),
                address: address.into(),
                location: GeoPoint {
                    lat: 22.55,
                    lon: 113.88,
                },
                street: StreetId::from("S01"),
                community: CommunityId::from("C01"),
                grid: GridId::from("G001"),
                stars: Stars::new(2).ok(),
                next_due_on: None,
                open_hazards: 1,
                blacklisted: false,
                last_inspected_at: None,
            },
            green_channel: false,
            contacts: None,
        }
    }

    fn export(format: ListFormat, pages: &[Vec<ListRow>]) -> String {
        let mut e = Exporter::new(format, false);
        let mut out = e.head().expect("head");
        for p in pages {
            out.extend(e.rows(p).expect("rows"));
        }
        out.extend(e.tail());
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn csv_quotes_what_needs_quoting_across_pages() {
        let text = export(
            ListFormat::Csv,
            &[
                vec![row(1, "1 Main St, \"Block A\"")],
                vec![row(2, "2\nSide")],
            ],
        );
        let mut r = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(r.headers().expect("header").len(), COLUMNS.len());
        let recs: Vec<csv::StringRecord> = r.records().map(|r| r.expect("record")).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(&recs[0][1], "1 Main St, \"Block A\"");
        assert_eq!(&recs[1][1], "2\nSide");
        assert_eq!(
            (&recs[0][2], &recs[0][3], &recs[0][7]),
            ("113.88", "22.55", "2")
        );
    }

    #[test]
    fn geojson_is_a_feature_collection_of_lon_lat_points() {
        for pages in [
            vec![],
            vec![vec![row(1, "a"), row(2, "b")], vec![row(3, "c")]],
        ] {
            let text = export(ListFormat::Geojson, &pages);
            let v: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(v["type"], "FeatureCollection");
            let features = v["features"].as_array().expect("features");
            assert_eq!(features.len(), pages.iter().map(Vec::len).sum::<usize>());
            for f in features {
                assert_eq!(f["geometry"]["type"], "Point");
                assert_eq!(f["geometry"]["coordinates"], json!([113.88, 22.55]));
                assert!(f["properties"].get("location").is_none());
                assert_eq!(f["properties"]["stars"], 2);
            }
        }
    }
}
