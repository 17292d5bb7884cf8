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
    routes_of(&serde_json::to_value(chat_host::openapi(BASE)).unwrap())
}

/// `"METHOD /path/{param}"` for every operation of an OpenAPI document.
fn routes_of(doc: &Value) -> BTreeSet<String> {
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

#[tokio::test]
async fn the_served_openapi_document_lists_the_same_routes() {
    // `documented_routes` reads `chat_host::openapi`; the server must serve that same route table.
    let app = chat_tests::spawn_app().await;
    let response = app.http.get(app.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    let served = routes_of(&doc);
    assert!(served.contains("POST /api/chat/messages"), "{served:?}");
    assert!(served.contains("DELETE /api/chat/groups/{id}/members/{userId}"), "{served:?}");
    assert_eq!(served, documented_routes());
}
