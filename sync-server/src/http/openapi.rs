//! The OpenAPI 3 document served at `/v1/openapi.json`, written by hand next to the routes
//! (a test checks that every route is described).

use serde_json::{Value, json};

pub(super) fn error_responses(codes: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (status, what) in codes {
        m.insert(
            (*status).to_owned(),
            json!({"description": what, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}}),
        );
    }
    Value::Object(m)
}

pub(super) fn ok(schema: Value, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn op(
    summary: &str,
    secured: bool,
    ok_status: &str,
    ok_body: Value,
    errors: &[(&str, &str)],
) -> Value {
    let mut responses = error_responses(errors);
    if let Value::Object(m) = &mut responses {
        m.insert(ok_status.to_owned(), ok_body);
    }
    let mut o = json!({"summary": summary, "responses": responses});
    if !secured {
        o["security"] = json!([]);
    }
    o
}

pub(super) fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

pub(super) fn path_param(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string"}})
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

/// Error answers plus the success answer under 200.
fn with_ok(errors: &[(&str, &str)], ok_body: Value) -> Value {
    let mut m = match error_responses(errors) {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    m.insert("200".into(), ok_body);
    Value::Object(m)
}

pub(super) const AUTH_ERRORS: [(&str, &str); 2] = [
    (
        "401",
        "missing, unknown, expired (token_expired) or revoked (token_revoked) token",
    ),
    (
        "403",
        "role not allowed (forbidden) or outside the caller's scope (out_of_scope)",
    ),
];

pub fn document() -> Value {
    let e = |extra: &[(&'static str, &'static str)]| -> Vec<(&'static str, &'static str)> {
        let mut v = AUTH_ERRORS.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "gridwalk sync server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Accounts, scoped pull and exactly-once push for grid workers' phones. Every error is a JSON {code, message}. Bodies may be sent gzip-compressed (Content-Encoding: gzip); responses are compressed when the client accepts it."
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {"get": op("Liveness and database check", false, "200",
                ok(json!({"type": "object"}), "server and database are up"), &[("503", "database unavailable")])},
            "/v1/openapi.json": {"get": op("This document", false, "200",
                ok(json!({"type": "object"}), "OpenAPI 3 document"), &[])},
            "/v1/auth/login": {"post": {
                "summary": "Log in; the token is bound to the device id",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("LoginRequest")}}},
                "responses": {
                    "200": ok(schema_ref("LoginResponse"), "token issued"),
                    "400": {"description": "malformed JSON (invalid_json)", "content": {"application/json": {"schema": schema_ref("ApiError")}}},
                    "401": {"description": "wrong username or password (invalid_credentials)", "content": {"application/json": {"schema": schema_ref("ApiError")}}},
                    "422": {"description": "wrong types or unknown fields", "content": {"application/json": {"schema": schema_ref("ApiError")}}}
                }
            }},
            "/v1/auth/logout": {"post": op("Revoke the calling token", true, "204",
                json!({"description": "revoked"}), &e(&[]))},
            "/v1/auth/me": {"get": op("Who the token belongs to", true, "200",
                ok(schema_ref("UserInfo"), "the caller"), &e(&[]))},
            "/v1/admin/users/{username}/revoke-tokens": {"post": {
                "summary": "Revoke every token of a user (admin)",
                "parameters": [path_param("username", "account name")],
                "responses": error_responses(&e(&[]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(json!({"type": "object", "properties": {"username": {"type": "string"}, "revoked": {"type": "integer"}}}), "number of tokens revoked"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }},
            "/v1/sync/push": {"post": {
                "summary": "Push a batch of outbox records (exactly once)",
                "description": "Records carry the device's sequence number (1, 2, … with no gaps) and a client-generated id. The same batch sent twice, or resent after a lost acknowledgement, stores nothing twice. Each record gets an outcome: accepted, duplicate, or rejected with a stable code; one rejection does not block the rest. The answer lists the photos the server still lacks. Acceptance is committed before the answer is sent.",
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("PushRequest")}}},
                "responses": error_responses(&e(&[
                    ("400", "malformed JSON (invalid_json) or sequence numbers not increasing (sequence_out_of_order)"),
                    ("409", "records missing before this batch (sequence_gap) or a used number with another record (sequence_replayed); nothing stored"),
                    ("413", "body or batch too large (body_too_large, batch_too_large)"),
                    ("415", "not application/json, or an unsupported Content-Encoding"),
                    ("422", "wrong types, invalid building code, unknown fields (invalid_json, unknown_field)")
                ])).as_object().cloned().map(|mut m| {
                    m.insert("200".into(), ok(schema_ref("PushResponse"), "per-record outcomes"));
                    Value::Object(m)
                }).unwrap_or(Value::Null)
            }},
            "/v1/sync/pull": {"get": {
                "summary": "Changes in the caller's scope since a cursor (paged)",
                "description": "Without a cursor: bootstrap from the beginning. Ordered by server sequence. Buildings that leave the scope come as tombstones. `reset: true` means the cursor belonged to another scope: drop held buildings first. A page with more after it also carries its `next_cursor` in the `gridwalk-next-cursor` response header, so the next page can be asked for before this body has arrived; the body's `next_cursor` is the one to store.",
                "parameters": [
                    {"name": "cursor", "in": "query", "required": false, "schema": {"type": "string"}, "description": "next_cursor of the previous page"},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1}, "description": "changes per page"}
                ],
                "responses": error_responses(&e(&[("400", "bad cursor (bad_cursor) or limit (invalid_request)")]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(schema_ref("PullResponse"), "one page"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }},
            "/v1/photos/{sha256}": {
                "put": {
                    "summary": "Upload (or resume uploading) a photo a pushed record refers to",
                    "parameters": [
                        path_param("sha256", "lowercase hex SHA-256 of the photo"),
                        {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0}, "description": "byte position this body starts at; must equal received_bytes"}
                    ],
                    "requestBody": {"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                    "responses": error_responses(&e(&[
                        ("404", "no record of the caller refers to this photo (photo_not_referenced)"),
                        ("409", "offset is not where the server's copy ends (offset_mismatch)"),
                        ("413", "more bytes than the record declared (photo_too_large)"),
                        ("422", "bytes do not match the hash (hash_mismatch); the partial upload is discarded")
                    ])).as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(schema_ref("PhotoStatus"), "bytes received so far; complete when stored"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
                },
                "get": {
                    "summary": "Download a stored photo (within the caller's scope)",
                    "parameters": [path_param("sha256", "lowercase hex SHA-256 of the photo")],
                    "responses": error_responses(&e(&[("404", "not uploaded yet (not_found)")]))
                        .as_object().cloned().map(|mut m| {
                            m.insert("200".into(), json!({"description": "the photo", "content": {"image/jpeg": {}, "application/octet-stream": {}}}));
                            Value::Object(m)
                        }).unwrap_or(Value::Null)
                }
            },
            "/v1/photos/{sha256}/status": {"get": {
                "summary": "How much of a photo the server holds (to resume an upload)",
                "parameters": [path_param("sha256", "lowercase hex SHA-256 of the photo")],
                "responses": error_responses(&e(&[("404", "no record of the caller refers to this photo (photo_not_referenced)")]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(schema_ref("PhotoStatus"), "upload state"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }},
            "/v1/buildings/{code}": {"get": {
                "summary": "One building's file (一楼一档); 403 outside the scope whether or not it exists",
                "parameters": [path_param("code", "25-digit unified address code")],
                "responses": error_responses(&e(&[("400", "not a 25-digit code (invalid_request)")]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(schema_ref("Building"), "the building"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }},
            "/v1/conflicts": {"get": op("Field-correction conflicts in the caller's scope (supervisors)", true, "200",
                ok(json!({"type": "array", "items": schema_ref("ConflictView")}), "conflicts, oldest first"), &e(&[]))},
            "/v1/review/queue": {"get": {
                "summary": "Synced inspections and events awaiting or past review, in the caller's scope (supervisors, admins)",
                "description": "Oldest first, paged by server sequence. Each item carries the proof-of-presence check (off_site, distance_m, radius_m: the core supervision rule against the building's location), the resubmission links (corrects, original, corrected_by) and the latest decision. state: pending (no decision), approved, sent_back (awaiting the worker's correction), resubmitted (a correction naming it arrived; it is closed).",
                "parameters": [
                    query_param("kind", "inspection or event", json!({"type": "string", "enum": ["inspection", "event"]})),
                    query_param("grid", "only buildings of this grid", json!({"type": "string"})),
                    query_param("worker", "only this worker's reports", json!({"type": "string"})),
                    query_param("off_site", "only off-site (true) or on-site (false) reports", json!({"type": "boolean"})),
                    query_param("state", "review state", json!({"type": "string", "enum": ["pending", "approved", "sent_back", "resubmitted"]})),
                    query_param("after", "next_after of the previous page", json!({"type": "integer", "minimum": 0})),
                    query_param("limit", "items per page", json!({"type": "integer", "minimum": 1}))
                ],
                "responses": with_ok(&e(&[("400", "bad parameter or limit (invalid_request)")]), ok(schema_ref("ReviewQueuePage"), "one page"))
            }},
            "/v1/review/{record}": {"post": {
                "summary": "Approve or send back a report (supervisors, admins)",
                "description": "A send-back needs a comment; it reaches the worker's phone on its next pull, and the worker's correction (corrects = this record) closes this report as resubmitted. Rules: pending and sent-back reports may be decided (a sent-back one again, to reword or withdraw, until its correction arrives); approved and resubmitted reports are closed (409 review_closed); repeating the latest decision word for word changes nothing (200).",
                "parameters": [path_param("record", "the report's record id (UUID)")],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("ReviewRequest")}}},
                "responses": with_ok(&e(&[
                    ("400", "not a record id (invalid_request) or malformed JSON (invalid_json)"),
                    ("404", "no such record (not_found; district scope only, elsewhere 403 out_of_scope)"),
                    ("409", "the review is closed (review_closed)"),
                    ("422", "send-back without a comment (comment_required), comment too long or a building correction (invalid_request), unknown fields (unknown_field)")
                ]), ok(schema_ref("ReviewItem"), "the report after the decision"))
            }},
            "/v1/review/conflicts": {"get": op("Field-correction conflicts in the caller's scope, oldest first (supervisors, admins); reads of contact fields are audited", true, "200",
                ok(json!({"type": "array", "items": schema_ref("ConflictView")}), "conflicts, oldest first"), &e(&[]))},
            "/v1/assessment/workers/{worker}": {"get": {
                "summary": "A worker's assessment on their grid over a period (supervisors, admins in scope)",
                "description": "Computed by the core's assess_worker from the stored records: visits, due visits (on time, covered by others, missed, pending), coverage, off-site ratio, events reported, follow-ups due and done. Audited as a read of personal data.",
                "parameters": [path_param("worker", "the worker's account name"), query_param("from", "first day (YYYY-MM-DD, local)", json!({"type": "string", "format": "date"})), query_param("to", "last day, included", json!({"type": "string", "format": "date"}))],
                "responses": with_ok(&e(&[("400", "bad or too long period (invalid_request)"), ("404", "no such worker (not_found; district scope only)")]), ok(schema_ref("WorkerAssessment"), "the assessment"))
            }},
            "/v1/assessment/grids/{grid}": {"get": {
                "summary": "A grid's assessment over a period: its assigned worker, then everyone else who worked there (supervisors, admins in scope)",
                "parameters": [path_param("grid", "grid id"), query_param("from", "first day (YYYY-MM-DD, local)", json!({"type": "string", "format": "date"})), query_param("to", "last day, included", json!({"type": "string", "format": "date"}))],
                "responses": with_ok(&e(&[("400", "bad or too long period (invalid_request)"), ("404", "no such grid (not_found; district scope only)")]), ok(schema_ref("GridAssessment"), "the assessments"))
            }},
            "/v1/audit": {"get": {
                "summary": "The append-only audit log (admins), oldest first",
                "description": "One row per write request (route, path, status) and per read of personal data (building files, pulls with building files, contact conflicts, assessments, this query). Ids only.",
                "parameters": [
                    query_param("user", "account name", json!({"type": "string"})),
                    query_param("from", "at or after (RFC 3339)", json!({"type": "string", "format": "date-time"})),
                    query_param("to", "before (RFC 3339)", json!({"type": "string", "format": "date-time"})),
                    query_param("action", "exact action, e.g. POST /v1/sync/push", json!({"type": "string"})),
                    query_param("personal", "only reads of personal data (true) or the rest (false)", json!({"type": "boolean"})),
                    query_param("after", "next_after of the previous page", json!({"type": "integer"})),
                    query_param("limit", "entries per page", json!({"type": "integer", "minimum": 1}))
                ],
                "responses": with_ok(&e(&[("400", "bad parameter or limit (invalid_request)")]), ok(schema_ref("AuditPage"), "one page"))
            }},
            "/v1/departments/{id}/events": {"get": {
                "summary": "A handling department's queue of dispatched events (department users: their own department; admins: any), in the caller's scope, oldest report first",
                "parameters": [
                    path_param("id", "department id from the catalog (fire, police, housing, …)"),
                    {"name": "status", "in": "query", "required": false, "schema": {"type": "string", "enum": ["reported", "dispatched", "noticed", "rectified", "overdue", "closed"]}},
                    {"name": "after", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}, "description": "next_after of the previous page"},
                    {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1}}
                ],
                "responses": error_responses(&e(&[("400", "bad status, after or limit (invalid_request)"), ("404", "no such department in the catalog (not_found)")]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(schema_ref("DepartmentQueuePage"), "one page"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }},
            "/v1/events/{id}/status": {"post": {
                "summary": "Move an event along its lifecycle (its department's users, admins); the building is queued for re-rating",
                "parameters": [path_param("id", "event record id")],
                "requestBody": {"required": true, "content": {"application/json": {"schema": schema_ref("EventStatusUpdate")}}},
                "responses": error_responses(&e(&[
                    ("404", "no such event (district scope only; elsewhere 403 out_of_scope)"),
                    ("409", "the lifecycle does not allow this move (invalid_transition)"),
                    ("422", "unknown status or fields (invalid_json, unknown_field)")
                ])).as_object().cloned().map(|mut m| {
                    m.insert("200".into(), ok(schema_ref("DepartmentEvent"), "the event after the move"));
                    Value::Object(m)
                }).unwrap_or(Value::Null)
            }},
            "/v1/notices": {"get": {
                "summary": "Notices (告知书) of one event or one building in the caller's scope, with delivery state; contacts only for departments and admins",
                "parameters": [
                    {"name": "event", "in": "query", "required": false, "schema": {"type": "string", "format": "uuid"}},
                    {"name": "building", "in": "query", "required": false, "schema": {"type": "string"}, "description": "25-digit code; give exactly one of event or building"}
                ],
                "responses": error_responses(&e(&[("400", "neither or both of event and building, or a bad value (invalid_request)")]))
                    .as_object().cloned().map(|mut m| {
                        m.insert("200".into(), ok(json!({"type": "array", "items": schema_ref("NoticeView")}), "notices, oldest first"));
                        Value::Object(m)
                    }).unwrap_or(Value::Null)
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas()
        }
    });
    super::lists::document_paths(&mut doc);
    doc
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer", "minimum": 0});
    json!({
        "ApiError": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "description": "stable machine-readable code, e.g. invalid_json, unknown_field, body_too_large, invalid_credentials, unauthenticated, token_expired, token_revoked, forbidden, out_of_scope, device_mismatch, sequence_gap, sequence_replayed, sequence_out_of_order, batch_too_large, bad_cursor, photo_not_referenced, offset_mismatch, hash_mismatch, photo_too_large, review_closed, comment_required, invalid_transition"},
            "message": string}},
        "Scope": {"type": "object", "required": ["level"], "properties": {
            "level": {"type": "string", "enum": ["grid", "community", "street", "district"]}, "id": string}},
        "UserInfo": {"type": "object", "properties": {
            "username": string, "role": {"type": "string", "enum": ["worker", "officer", "supervisor", "admin", "department"]},
            "scope": schema_ref("Scope")}},
        "LoginRequest": {"type": "object", "additionalProperties": false, "required": ["username", "password", "device_id"], "properties": {
            "username": string, "password": string, "device_id": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$"}}},
        "LoginResponse": {"type": "object", "properties": {
            "token": string, "expires_at": {"type": "string", "format": "date-time"},
            "user": schema_ref("UserInfo"), "device_last_seq": int}},
        "PushRequest": {"type": "object", "additionalProperties": false, "required": ["device_id", "records"], "properties": {
            "device_id": string,
            "records": {"type": "array", "items": {"type": "object", "additionalProperties": false, "required": ["seq", "record"], "properties": {
                "seq": {"type": "integer", "minimum": 1},
                "record": {"type": "object", "required": ["kind", "payload"], "properties": {
                    "kind": {"type": "string", "enum": ["inspection", "event", "building_correction"]},
                    "payload": {"type": "object", "description": "an Inspection, Event or BuildingCorrection of gridwalk-core"}}}}}}}},
        "PushResponse": {"type": "object", "properties": {
            "results": {"type": "array", "items": {"type": "object", "properties": {
                "seq": int, "id": {"type": "string", "format": "uuid"},
                "outcome": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
                    "conflict": {"type": "boolean"}, "code": string, "message": string}}}}},
            "missing_photos": {"type": "array", "items": string},
            "device_last_seq": int}},
        "PullResponse": {"type": "object", "properties": {
            "changes": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
                "type": {"type": "string", "enum": ["building", "tombstone", "review"]},
                "building": schema_ref("Building"), "code": string,
                "reason": {"type": "string", "enum": ["reassigned", "removed"]},
                "outcome": {"type": "object"}}}},
            "next_cursor": string, "has_more": {"type": "boolean"}, "reset": {"type": "boolean"},
            "catalog_version": int, "policy_version": int,
            "missing_photos": {"type": "array", "items": string}}},
        "PhotoStatus": {"type": "object", "properties": {
            "sha256": string, "size_bytes": int, "received_bytes": int, "complete": {"type": "boolean"}}},
        "Building": {"type": "object", "description": "gridwalk-core Building: code, address, location {lat, lon}, street, community, grid, floors, units, usage, owner, manager, building_head, stars, scores, open_hazards, blacklisted, last_inspected_at, next_due_on"},
        "ConflictView": {"type": "object", "properties": {
            "id": {"type": "integer"}, "record": string, "building": string, "field": string,
            "seen": {}, "proposed": {}, "current": {}, "worker": string, "device": string,
            "received_at": {"type": "string", "format": "date-time"}}},
        "ReviewOutcome": {"type": "object", "properties": {
            "record": {"type": "string", "format": "uuid"},
            "decision": {"type": "string", "enum": ["approved", "sent_back"]},
            "comment": string, "reviewer": string,
            "reviewed_at": {"type": "string", "format": "date-time"}}},
        "ReviewRequest": {"type": "object", "additionalProperties": false, "required": ["decision"], "properties": {
            "decision": {"type": "string", "enum": ["approved", "sent_back"]},
            "comment": {"type": "string", "description": "required (non-blank) for sent_back"}}},
        "ReviewItem": {"type": "object", "properties": {
            "record": {"type": "string", "format": "uuid"},
            "kind": {"type": "string", "enum": ["inspection", "event"]},
            "building": string, "grid": string, "worker": string, "device": string, "seq": int,
            "received_at": {"type": "string", "format": "date-time"},
            "off_site": {"type": "boolean"},
            "distance_m": {"type": "number", "nullable": true},
            "accuracy_m": {"type": "number", "nullable": true},
            "radius_m": {"type": "number"},
            "corrects": {"type": "string", "format": "uuid", "nullable": true},
            "original": {"type": "string", "format": "uuid"},
            "corrected_by": {"type": "string", "format": "uuid", "nullable": true},
            "state": {"type": "string", "enum": ["pending", "approved", "sent_back", "resubmitted"]},
            "decision": {"allOf": [schema_ref("ReviewOutcome")], "nullable": true}}},
        "ReviewQueuePage": {"type": "object", "properties": {
            "items": {"type": "array", "items": schema_ref("ReviewItem")},
            "has_more": {"type": "boolean"}, "next_after": {"type": "integer", "nullable": true}}},
        "Assessment": {"type": "object", "description": "gridwalk-core Assessment: worker, period {from, to}, buildings, visits, due_visits, on_time, covered_by_others, missed, pending, on_time_ratio, buildings_visited, coverage, off_site_visits, off_site_ratio, events_reported {hazards, micro_events, incidents, total}, follow_ups_due, follow_ups_done"},
        "WorkerAssessment": {"type": "object", "properties": {"grid": string, "assessment": schema_ref("Assessment")}},
        "GridAssessment": {"type": "object", "properties": {
            "grid": string,
            "period": {"type": "object", "properties": {"from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"}}},
            "assigned_worker": {"type": "string", "nullable": true},
            "workers": {"type": "array", "items": schema_ref("Assessment")}}},
        "AuditEntry": {"type": "object", "properties": {
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
            "user": {"type": "string", "nullable": true}, "device": {"type": "string", "nullable": true},
            "role": {"type": "string", "nullable": true}, "scope": {"allOf": [schema_ref("Scope")], "nullable": true},
            "action": string, "target": string, "personal_data": {"type": "boolean"}, "status": {"type": "integer"}}},
        "AuditPage": {"type": "object", "properties": {
            "entries": {"type": "array", "items": schema_ref("AuditEntry")},
            "has_more": {"type": "boolean"}, "next_after": {"type": "integer", "nullable": true}}},
        "DepartmentEvent": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "building": string,
            "kind": {"type": "object", "description": "{type: hazard|micro_event|incident, kind: micro-event kind id}"},
            "category": string, "department": string,
            "status": {"type": "string", "enum": ["reported", "dispatched", "noticed", "rectified", "overdue", "closed"]},
            "severity": {"type": "string", "enum": ["low", "medium", "high", "critical"]},
            "description": string, "deadline": {"type": "string", "format": "date"},
            "reported_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}}},
        "DepartmentQueuePage": {"type": "object", "properties": {
            "events": {"type": "array", "items": schema_ref("DepartmentEvent")},
            "next_after": {"type": "string", "format": "uuid", "nullable": true}}},
        "EventStatusUpdate": {"type": "object", "additionalProperties": false, "required": ["status"], "properties": {
            "status": {"type": "string", "enum": ["noticed", "rectified", "overdue", "closed"]}}},
        "NoticeView": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "event": {"type": "string", "format": "uuid"},
            "building": string, "recipient": {"type": "string", "enum": ["owner", "manager", "tenants"]},
            "addressee": {"type": "object", "description": "{type: person, contact: {name, phone}|null} or {type: building, head: {name, phone}|null} (posted at the building; contacts only for departments and admins)"},
            "deadline": {"type": "string", "format": "date"},
            "state": {"type": "string", "enum": ["pending", "sending", "delivered", "failed", "cancelled"]},
            "attempts": int, "last_error": string,
            "created_at": {"type": "string", "format": "date-time"},
            "delivered_at": {"type": "string", "format": "date-time"},
            "overdue_at": {"type": "string", "format": "date-time"}}}
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::ROUTES;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        for (method, path) in ROUTES {
            assert!(
                paths.get(*path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} missing from the OpenAPI document"
            );
        }
        let documented: usize = paths
            .values()
            .map(|p| p.as_object().map_or(0, |m| m.len()))
            .sum();
        assert_eq!(
            documented,
            ROUTES.len(),
            "the document describes routes that do not exist"
        );
        assert_eq!(doc["openapi"], "3.0.3");
    }
}
