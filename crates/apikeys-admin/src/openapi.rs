//! The OpenAPI 3.1 description of the JSON API, served at `{mount}/api/openapi.json`.
//! Written out by hand: a test checks that every route the API answers is described.

use serde_json::{Value, json};

/// Every route of the JSON API, relative to the mount: (path, methods).
#[cfg(test)]
pub(crate) const ROUTES: &[(&str, &[&str])] = &[
    ("/api/keys", &["get", "post"]),
    ("/api/keys/{prefix}", &["get", "patch", "delete"]),
    ("/api/keys/{prefix}/revoke", &["post"]),
    ("/api/keys/{prefix}/roll", &["post"]),
    ("/api/keys/{prefix}/disable", &["post"]),
    ("/api/keys/{prefix}/enable", &["post"]),
    ("/api/keys/{prefix}/history", &["get"]),
];

fn error_responses(codes: &[&str]) -> Value {
    let mut map = serde_json::Map::new();
    for code in codes {
        let description = match *code {
            "400" => "Invalid input",
            "401" => "No admin key, or not a valid one",
            "403" => "The key lacks the admin scope",
            "404" => "No key with this prefix",
            "409" => "Refused by the key's state",
            _ => "Error",
        };
        map.insert(
            (*code).to_owned(),
            json!({
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            }),
        );
    }
    Value::Object(map)
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn record_ok() -> Value {
    json!({"200": {"description": "The record", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Record"}}}}})
}

fn prefix_param() -> Value {
    json!([{"name": "prefix", "in": "path", "required": true, "schema": {"type": "string"}}])
}

/// The document, with the mount as the server URL.
#[allow(
    clippy::too_many_lines,
    reason = "one literal document, read top to bottom"
)]
pub(crate) fn document(mount: &str) -> Value {
    let action = |summary: &str| {
        json!({
            "summary": summary,
            "parameters": prefix_param(),
            "responses": with(record_ok(), error_responses(&["401", "403", "404", "409"])),
        })
    };
    json!({
        "openapi": "3.1.0",
        "info": {"title": "apikeys admin API", "version": env!("CARGO_PKG_VERSION")},
        "servers": [{"url": mount}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/keys": {
                "get": {
                    "summary": "List keys, newest first",
                    "parameters": [
                        {"name": "search", "in": "query", "schema": {"type": "string"}, "description": "Part of a name or prefix"},
                        {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["all", "active", "expiring", "expired", "disabled", "revoked"]}},
                        {"name": "owner", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}, "description": "`next` of the previous page"}
                    ],
                    "responses": with(json!({"200": {"description": "A page of keys", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["keys", "next"],
                        "properties": {"keys": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}, "next": {"type": ["string", "null"]}}
                    }}}}}), error_responses(&["400", "401", "403"]))
                },
                "post": {
                    "summary": "Create a key; the full key is in this answer only",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewKey"}}}},
                    "responses": with(json!({"201": {"description": "Created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreatedKey"}}}}}), error_responses(&["400", "401", "403"]))
                }
            },
            "/api/keys/{prefix}": {
                "get": {"summary": "One key", "parameters": prefix_param(), "responses": with(record_ok(), error_responses(&["401", "403", "404"]))},
                "patch": {
                    "summary": "Edit name, scopes, metadata, expiry, owner, rate limit, credits or refill (null removes each of the last five)",
                    "parameters": prefix_param(),
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Edit"}}}},
                    "responses": with(record_ok(), error_responses(&["400", "401", "403", "404"]))
                },
                "delete": {"summary": "Delete the record (prefer revoking)", "parameters": prefix_param(),
                    "responses": with(json!({"204": {"description": "Deleted"}}), error_responses(&["401", "403", "404"]))}
            },
            "/api/keys/{prefix}/revoke": {"post": {
                "summary": "Revoke for good", "parameters": prefix_param(),
                "responses": with(json!({"200": {"description": "Revoked", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"record": {"$ref": "#/components/schemas/Record"}, "already_revoked": {"type": "boolean"}}
                }}}}}), error_responses(&["401", "403", "404"]))
            }},
            "/api/keys/{prefix}/roll": {"post": {
                "summary": "Replace by a successor; the old key works for the grace period",
                "parameters": prefix_param(),
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["grace"], "properties": {"grace": {"type": "string", "examples": ["24h", "0"]}}
                }}}},
                "responses": with(json!({"201": {"description": "Rolled", "content": {"application/json": {"schema": {"allOf": [
                    {"$ref": "#/components/schemas/CreatedKey"},
                    {"type": "object", "properties": {"old": {"$ref": "#/components/schemas/Record"}}}
                ]}}}}}), error_responses(&["400", "401", "403", "404", "409"]))
            }},
            "/api/keys/{prefix}/disable": {"post": action("Suspend")},
            "/api/keys/{prefix}/enable": {"post": action("Lift a suspension")},
            "/api/keys/{prefix}/history": {"get": {
                "summary": "The key's audit events, oldest first", "parameters": prefix_param(),
                "responses": with(json!({"200": {"description": "Events", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"events": {"type": "array", "items": {"type": "object"}}}
                }}}}}), error_responses(&["401", "403", "404"]))
            }}
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "`Api-Key <key>` with a key holding the admin scope"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "detail"], "properties": {"error": {"type": "string"}, "detail": {"type": "string"}, "field": {"type": "string"}}},
                "Record": {"type": "object", "properties": {
                    "prefix": {"type": "string"}, "name": {"type": "string"},
                    "created": {"type": "string", "format": "date-time"},
                    "expires": {"type": ["string", "null"], "format": "date-time"},
                    "expired": {"type": "boolean"}, "revoked": {"type": "boolean"},
                    "scopes": {"type": "array", "items": {"type": "string"}},
                    "metadata": {"type": "object"},
                    "owner": {"type": ["string", "null"]}, "disabled": {"type": "boolean"},
                    "last_used": {"type": ["string", "null"], "format": "date-time"},
                    "predecessor": {"type": ["string", "null"]}, "successor": {"type": ["string", "null"]},
                    "rate_limit": {"type": ["string", "null"], "examples": ["100/s", "5000/h,burst=200"]},
                    "credits": {"type": ["object", "null"], "properties": {
                        "remaining": {"type": "integer"},
                        "refill": {"type": ["string", "null"], "examples": ["1000/month"]},
                        "next_refill": {"type": ["string", "null"], "format": "date-time"}
                    }}
                }},
                "NewKey": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string", "maxLength": 50},
                    "scopes": {"type": "array", "items": {"type": "string"}},
                    "expires": {"type": "string", "format": "date-time"},
                    "expires_in": {"type": "string", "examples": ["30d"]},
                    "owner": {"type": "string"}, "metadata": {"type": "object"},
                    "rate_limit": {"type": "string", "examples": ["100/s"]},
                    "credits": {"type": "integer", "minimum": 0},
                    "refill": {"type": "string", "examples": ["1000/month", "1000/day", "500/12h"]}
                }},
                "Edit": {"type": "object", "properties": {
                    "name": {"type": "string"}, "scopes": {"type": "array", "items": {"type": "string"}},
                    "metadata": {"type": "object"}, "expires": {"type": ["string", "null"], "format": "date-time"},
                    "owner": {"type": ["string", "null"]},
                    "rate_limit": {"type": ["string", "null"], "examples": ["100/s"]},
                    "credits": {"type": ["integer", "null"], "minimum": 0, "description": "A new count (a new period starts); null removes the credits"},
                    "refill": {"type": ["string", "null"], "examples": ["1000/month"], "description": "null stops refilling"}
                }},
                "CreatedKey": {"type": "object", "required": ["key", "record"], "properties": {
                    "key": {"type": "string", "description": "The full key: shown here only"},
                    "record": {"$ref": "#/components/schemas/Record"}
                }}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{ROUTES, document};

    #[test]
    fn every_route_is_described() {
        let doc = document("/admin");
        for (path, methods) in ROUTES {
            for method in *methods {
                assert!(doc["paths"][path][method].is_object(), "{method} {path}");
            }
        }
        assert_eq!(
            doc["paths"].as_object().map(serde_json::Map::len),
            Some(ROUTES.len())
        );
    }
}
