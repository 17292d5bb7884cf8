//! The route table and event list the generated tests iterate: every REST operation of the served OpenAPI
//! document (every chat route is registered through it, so the document is the router's table) and every
//! client event the socket handlers register. A test that keeps its own table compares it with these and
//! fails on any route or event it does not cover.

use std::collections::BTreeSet;

use serde_json::Value;

/// The base path the reference server mounts the chat API under.
pub const BASE: &str = "/api/chat";

/// `"METHOD /api/chat/path/{param}"` for every operation of the OpenAPI document.
pub fn documented_routes() -> BTreeSet<String> {
    let doc = serde_json::to_value(chat_host::openapi(BASE)).unwrap();
    let mut routes = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch", "head", "options", "trace"] {
            if item.get(method).is_some_and(Value::is_object) {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(routes.len() > 30, "the OpenAPI document lists too few routes: {routes:?}");
    routes
}

/// The client -> server events the socket handlers register.
pub fn client_events() -> BTreeSet<String> {
    chat_host::socket::CLIENT_EVENTS.iter().map(|e| (*e).to_owned()).collect()
}

/// Fails unless `covered` names exactly the routes (or events) of `actual`.
pub fn assert_covers(what: &str, covered: impl IntoIterator<Item = String>, actual: &BTreeSet<String>) {
    let covered: BTreeSet<String> = covered.into_iter().collect();
    let missing: Vec<_> = actual.difference(&covered).collect();
    let stale: Vec<_> = covered.difference(actual).collect();
    assert!(missing.is_empty(), "{what}: not covered: {missing:?}");
    assert!(stale.is_empty(), "{what}: listed but no longer served: {stale:?}");
}

#[test]
fn the_served_document_is_the_documented_one() {
    // `documented_routes` reads `chat_host::openapi`; the server serves the same document.
    let routes = documented_routes();
    assert!(routes.contains("POST /api/chat/messages"));
    assert!(routes.contains("DELETE /api/chat/groups/{id}/members/{userId}"));
}

#[tokio::test]
async fn the_served_openapi_document_lists_the_same_routes() {
    let app = chat_tests::spawn_app().await;
    let doc: Value = app.http.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let served: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().keys().map(move |m| format!("{} {path}", m.to_uppercase())).collect::<Vec<_>>()
        })
        .filter(|r| !r.starts_with("PARAMETERS "))
        .collect();
    assert_eq!(served, documented_routes());
}
