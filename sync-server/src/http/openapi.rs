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
                "description": "Without a cursor: bootstrap from the beginning. Ordered by server sequence. Buildings that leave the scope come as tombstones. `reset: true` means the cursor belonged to another scope: drop held buildings first.",
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
                ok(json!({"type": "array", "items": schema_ref("ConflictView")}), "conflicts, oldest first"), &e(&[]))}
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
            "code": {"type": "string", "description": "stable machine-readable code, e.g. invalid_json, unknown_field, body_too_large, invalid_credentials, unauthenticated, token_expired, token_revoked, forbidden, out_of_scope, device_mismatch, sequence_gap, sequence_replayed, sequence_out_of_order, batch_too_large, bad_cursor, photo_not_referenced, offset_mismatch, hash_mismatch, photo_too_large"},
            "message": string}},
        "Scope": {"type": "object", "required": ["level"], "properties": {
            "level": {"type": "string", "enum": ["grid", "community", "street", "district"]}, "id": string}},
        "UserInfo": {"type": "object", "properties": {
            "username": string, "role": {"type": "string", "enum": ["worker", "officer", "supervisor", "admin"]},
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
            "received_at": {"type": "string", "format": "date-time"}}}
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
