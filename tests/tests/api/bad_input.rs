//! Bad input on every route gets a 4xx problem document, and the server stays healthy.

use chat_tests::{TestApp, TestUser, send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// Every route with a JSON body, with ids filled in.
fn body_routes(id: Uuid, user: Uuid) -> Vec<(Method, String)> {
    vec![
        (Method::POST, "/api/chat/messages".into()),
        (Method::POST, "/api/chat/conversations".into()),
        (Method::POST, format!("/api/chat/conversations/{id}/read")),
        (Method::POST, format!("/api/chat/conversations/{id}/mute")),
        (Method::POST, format!("/api/chat/conversations/{id}/archive")),
        (Method::PATCH, format!("/api/chat/messages/{id}")),
        (Method::POST, "/api/chat/groups".into()),
        (Method::PATCH, format!("/api/chat/groups/{id}")),
        (Method::POST, format!("/api/chat/groups/{id}/members")),
        (Method::PUT, format!("/api/chat/groups/{id}/members/{user}/role")),
        (Method::POST, format!("/api/chat/groups/{id}/owner")),
        (Method::PUT, "/api/chat/settings".into()),
    ]
}

/// Every route with an id in its path, the id replaced by `bad`.
fn id_routes(bad: &str) -> Vec<(Method, String)> {
    let ok = Uuid::new_v4();
    vec![
        (Method::GET, format!("/api/chat/conversations/{bad}")),
        (Method::DELETE, format!("/api/chat/conversations/{bad}")),
        (Method::GET, format!("/api/chat/conversations/{bad}/messages")),
        (Method::POST, format!("/api/chat/conversations/{bad}/read")),
        (Method::POST, format!("/api/chat/conversations/{bad}/mute")),
        (Method::POST, format!("/api/chat/conversations/{bad}/archive")),
        (Method::GET, format!("/api/chat/users/{bad}/conversation")),
        (Method::GET, format!("/api/chat/messages/{bad}")),
        (Method::PATCH, format!("/api/chat/messages/{bad}")),
        (Method::DELETE, format!("/api/chat/messages/{bad}")),
        (Method::PUT, format!("/api/chat/messages/{bad}/reactions/x")),
        (Method::DELETE, format!("/api/chat/messages/{bad}/reactions/x")),
        (Method::GET, format!("/api/chat/messages/{bad}/receipts")),
        (Method::GET, format!("/api/chat/groups/{bad}")),
        (Method::PATCH, format!("/api/chat/groups/{bad}")),
        (Method::DELETE, format!("/api/chat/groups/{bad}")),
        (Method::GET, format!("/api/chat/groups/{bad}/members")),
        (Method::POST, format!("/api/chat/groups/{bad}/members")),
        (Method::DELETE, format!("/api/chat/groups/{bad}/members/{ok}")),
        (Method::DELETE, format!("/api/chat/groups/{ok}/members/{bad}")),
        (Method::PUT, format!("/api/chat/groups/{bad}/members/{ok}/role")),
        (Method::POST, format!("/api/chat/groups/{bad}/owner")),
        (Method::POST, format!("/api/chat/groups/{bad}/leave")),
    ]
}

async fn raw(
    app: &TestApp,
    user: &TestUser,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut request = app.req(method, path, user).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let body = response.text().await.unwrap();
    (status, ct, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn assert_problem(what: &str, status: u16, ct: &str, body: &Value, expected: u16) {
    assert_eq!(status, expected, "{what}: {body}");
    assert_eq!(ct, "application/problem+json", "{what}");
    assert_eq!(body["status"], expected, "{what}");
    assert!(body["code"].as_str().is_some_and(|c| c.starts_with("chat.")), "{what}: {body}");
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_content_type_are_4xx_on_every_body_route() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    for (method, path) in body_routes(Uuid::new_v4(), Uuid::new_v4()) {
        let what = format!("{method} {path}");
        for bad in [&b"{\"text\": "[..], b"{not json}", b"\xff\xfe\x00", b"{\"a\":1} trailing"] {
            let (status, ct, body) =
                raw(&app, &user, method.clone(), &path, Some("application/json"), bad.to_vec()).await;
            assert_problem(&format!("{what} with {:?}", String::from_utf8_lossy(bad)), status, &ct, &body, 400);
            assert_eq!(body["code"], "chat.bad_request", "{what}");
        }
        for wrong in [json!([1, 2]), json!("text"), json!(42)] {
            let (status, ct, body) =
                raw(&app, &user, method.clone(), &path, Some("application/json"), wrong.to_string().into_bytes()).await;
            assert_problem(&format!("{what} with {wrong}"), status, &ct, &body, 400);
            assert_eq!(body["code"], "chat.validation", "{what}");
            assert!(body["errors"][0]["field"].is_string(), "{what}: {body}");
        }
        let (status, ct, body) = raw(&app, &user, method.clone(), &path, Some("text/plain"), b"{}".to_vec()).await;
        assert_problem(&format!("{what} as text/plain"), status, &ct, &body, 415);
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn fields_of_the_wrong_type_are_named() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    let cases = [
        ("/api/chat/messages", json!({ "targetUserId": "nope", "text": "x" }), "targetUserId"),
        ("/api/chat/messages", json!({ "targetUserId": Uuid::new_v4(), "text": 5 }), "text"),
        (
            "/api/chat/messages",
            json!({ "targetUserId": Uuid::new_v4(), "text": "x", "attachmentIds": "a" }),
            "attachmentIds",
        ),
        ("/api/chat/groups", json!({ "name": "g", "memberIds": [1] }), "memberIds[0]"),
        ("/api/chat/conversations", json!({}), "body"),
    ];
    for (path, body, field) in cases {
        let (status, problem) = app.post(&user, path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}: {problem}");
        assert_eq!(problem["code"], "chat.validation");
        let errors = problem["errors"].as_array().unwrap();
        assert!(
            errors.iter().any(|e| e["field"] == field || (field == "body" && e["field"].is_string())),
            "{path} {body}: expected field {field} in {problem}"
        );
    }
}

#[tokio::test]
async fn invalid_values_are_validation_problems() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let long = "x".repeat(4001);
    for (body, field) in [
        (json!({ "targetUserId": bob.id, "text": "   " }), "text"),
        (json!({ "targetUserId": bob.id, "text": long }), "text"),
        (json!({ "targetUserId": alice.id, "text": "me" }), "targetUserId"),
        (json!({ "text": "no target" }), ""),
    ] {
        let (status, problem) = app.post(&alice, "/api/chat/messages", body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "chat.validation");
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }
    // Nothing was stored.
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0), "{list}");
}

#[tokio::test]
async fn bad_uuids_in_paths_are_400_on_every_route() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    for bad in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
        for (method, path) in id_routes(bad) {
            let body = if method == Method::GET || method == Method::DELETE { Vec::new() } else { b"{}".to_vec() };
            let (status, ct, problem) = raw(&app, &user, method.clone(), &path, Some("application/json"), body).await;
            assert_problem(&format!("{method} {path}"), status, &ct, &problem, 400);
            assert_eq!(problem["code"], "chat.validation", "{method} {path}");
        }
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app().await;
    let user = TestUser::new("fuzzer");
    let huge = json!({ "targetUserId": Uuid::new_v4(), "text": "x".repeat(70 * 1024) }).to_string().into_bytes();
    for (method, path) in body_routes(Uuid::new_v4(), Uuid::new_v4()) {
        let (status, ct, body) = raw(&app, &user, method.clone(), &path, Some("application/json"), huge.clone()).await;
        assert_problem(&format!("{method} {path}"), status, &ct, &body, 413);
        assert_eq!(body["code"], "chat.payload_too_large");
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn bad_cursors_limits_and_query_values_are_4xx() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "hi").await;
    let conversation = message["conversationId"].as_str().unwrap();
    let group = Uuid::new_v4();
    let paths = [
        "/api/chat/conversations?cursor=garbage".to_owned(),
        "/api/chat/conversations?limit=100000".to_owned(),
        "/api/chat/conversations?limit=-1".to_owned(),
        "/api/chat/conversations?limit=abc".to_owned(),
        "/api/chat/conversations?includeArchived=maybe".to_owned(),
        format!("/api/chat/conversations/{conversation}/messages?before=garbage"),
        format!("/api/chat/conversations/{conversation}/messages?after=-5x"),
        format!("/api/chat/conversations/{conversation}/messages?limit=100000"),
        format!("/api/chat/conversations/{conversation}/messages?limit=0"),
        format!("/api/chat/conversations/{conversation}/messages?from=yesterday"),
        "/api/chat/messages/search?q=hi&cursor=%%%".to_owned(),
        "/api/chat/messages/search?q=hi&limit=100000".to_owned(),
        "/api/chat/messages/search".to_owned(),
        "/api/chat/messages/search?q=hi&conversationId=nope".to_owned(),
        format!("/api/chat/groups/{group}/members?limit=100000"),
        "/api/chat/contacts?limit=100000".to_owned(),
        "/api/chat/sync?afterEventSeq=abc".to_owned(),
        format!("/api/chat/messages/{}?scope=sideways", message["id"].as_str().unwrap()),
    ];
    for path in paths {
        let method = if path.contains("scope=") { Method::DELETE } else { Method::GET };
        let (status, ct, body) = raw(&app, &alice, method, &path, None, Vec::new()).await;
        assert!((400..500).contains(&status), "{path}: {status} {body}");
        assert_eq!(ct, "application/problem+json", "{path}");
        assert!(body["code"].as_str().is_some_and(|c| c.starts_with("chat.")), "{path}: {body}");
    }
    // The good message is intact and the server healthy.
    let (status, still) = app.get(&bob, &format!("/api/chat/messages/{}", message["id"].as_str().unwrap())).await;
    assert_eq!(status, 200);
    assert_eq!(still["text"], "hi");
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn text_is_stored_and_returned_byte_for_byte() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let text = "<script>alert('x')</script> & \"quotes\" \u{1F600} \\n";
    let message = app.send_to(&alice, &bob, text).await;
    let (_, read) = app.get(&bob, &format!("/api/chat/messages/{}", message["id"].as_str().unwrap())).await;
    assert_eq!(read["text"], text);
}

// ---------------------------------------------------------------------------------------------------
// Generated from the route table: every documented operation gets bad path ids, bad query values, and
// (when it takes one) bad bodies. Strict cases must be 4xx problem documents; lenient ones (odd but
// possibly acceptable values: NUL bytes, huge texts, negative positions) may succeed, but never 5xx.
// ---------------------------------------------------------------------------------------------------

/// What every operation is called against: real resources, so that checks deeper than the extractors
/// (cursors, limits) are reached instead of an early 404.
struct Resources {
    user: TestUser,
    peer: TestUser,
    conversation: String,
    group: String,
    message: String,
    attachment: String,
}

impl Resources {
    async fn new(app: &TestApp) -> Resources {
        let user = TestUser::new("fuzzer");
        let peer = TestUser::new("peer");
        app.touch(&peer).await;
        let message = app.send_to(&user, &peer, "hello").await;
        let (status, group) = app.post(&user, "/api/chat/groups", json!({ "name": "g", "memberIds": [peer.id] })).await;
        assert_eq!(status, 201, "{group}");
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(b"%PDF-1.4\n%\xe2\xe3\n".to_vec()).file_name("a.pdf"));
        let (status, uploaded) = send(app.req(Method::POST, "/api/chat/attachments", &user).multipart(form)).await;
        assert_eq!(status, 201, "{uploaded}");
        Resources {
            conversation: message["conversationId"].as_str().unwrap().to_owned(),
            message: message["id"].as_str().unwrap().to_owned(),
            group: group["id"].as_str().unwrap().to_owned(),
            attachment: uploaded["id"].as_str().unwrap().to_owned(),
            user,
            peer,
        }
    }

    /// A real value for a path parameter of `template`.
    fn path_value(&self, template: &str, name: &str) -> String {
        match (name, template) {
            ("emoji", _) => "%F0%9F%91%8D".to_owned(),
            ("userId", t) if t.contains("/groups/") => self.peer.id.to_string(),
            ("userId", _) => self.peer.id.to_string(),
            (_, t) if t.starts_with("/api/chat/groups/") => self.group.clone(),
            (_, t) if t.starts_with("/api/chat/conversations/") => self.conversation.clone(),
            (_, t) if t.starts_with("/api/chat/messages/") => self.message.clone(),
            (_, t) if t.starts_with("/api/chat/attachments/") => self.attachment.clone(),
            _ => panic!("no value for {name} in {template}"),
        }
    }
}

/// One documented operation, read from the OpenAPI document.
struct Operation {
    method: Method,
    template: String,
    /// Path parameters: name, and whether it is a UUID.
    path: Vec<(String, bool)>,
    /// Query parameters: name and schema.
    query: Vec<(String, Value)>,
    /// The request body's media type and resolved schema.
    body: Option<(String, Value)>,
}

fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(chat_host::openapi(crate::routes::BASE)).unwrap();
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(r) => doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")].clone(),
            None => schema.clone(),
        }
    };
    let mut ops = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) else { continue };
            let mut path = Vec::new();
            let mut query = Vec::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap().to_owned();
                match p["in"].as_str() {
                    Some("path") => path.push((name, p["schema"]["format"] == "uuid")),
                    Some("query") => query.push((name, resolve(&p["schema"]))),
                    other => panic!("{template}: parameter in {other:?} is not covered"),
                }
            }
            let body = op["requestBody"]["content"].as_object().map(|content| {
                assert_eq!(content.len(), 1, "{template}: one media type per body");
                let (media, c) = content.iter().next().unwrap();
                (media.clone(), resolve(&c["schema"]))
            });
            ops.push(Operation { method, template: template.clone(), path, query, body });
        }
    }
    ops
}

/// Fills the template's path parameters, `bad` replacing the one named `target`.
fn fill(op: &Operation, res: &Resources, target: Option<(&str, &str)>) -> String {
    let mut path = op.template.clone();
    for (name, _) in &op.path {
        let value = match target {
            Some((t, bad)) if t == name => bad.to_owned(),
            _ => res.path_value(&op.template, name),
        };
        path = path.replace(&format!("{{{name}}}"), &value);
    }
    path
}

/// A case's expectation.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A 4xx problem document (this exact status when given).
    Rejected(Option<u16>),
    /// Anything but a 5xx; a 4xx must be a problem document.
    NoServerError,
}

/// How long [`check`] keeps honouring `429`s for one request before the test fails.
const RATE_LIMIT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Sends one request (honouring `429 Retry-After`, since the cases come fast, for at most
/// [`RATE_LIMIT_DEADLINE`]) and checks it. Returns the final status and response body.
async fn check(
    app: &TestApp,
    user: &TestUser,
    method: &Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
    expect: Expect,
    failures: &mut Vec<String>,
) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + RATE_LIMIT_DEADLINE;
    let (status, ct, text) = loop {
        let mut request = app.req(method.clone(), path, user);
        if let Some((ct, bytes)) = &body {
            request = request.header("content-type", *ct).body(bytes.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_owned());
        let text = response.text().await.unwrap_or_default();
        if status == 429 {
            let wait =
                serde_json::from_str::<Value>(&text).ok().and_then(|p| p["retryAfterMs"].as_u64()).unwrap_or(100);
            let until = tokio::time::Instant::now() + std::time::Duration::from_millis(wait + 10);
            assert!(
                until <= deadline,
                "{method} {}: still rate limited after {RATE_LIMIT_DEADLINE:?} (retry after {wait} ms): {text}",
                path.chars().take(160).collect::<String>()
            );
            tokio::time::sleep_until(until).await;
            continue;
        }
        break (status, ct, text);
    };
    let shown: String =
        String::from_utf8_lossy(body.as_ref().map(|(_, b)| &b[..]).unwrap_or(b"")).chars().take(80).collect();
    let what = format!("{method} {} {shown:?}", path.chars().take(160).collect::<String>());
    if status >= 500 {
        failures.push(format!("{what}: {status} {text}"));
        return (status, text);
    }
    if status >= 400 {
        let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if ct.as_deref() != Some("application/problem+json")
            || problem["status"] != status
            || !problem["code"].as_str().is_some_and(|c| c.starts_with("chat."))
        {
            failures.push(format!("{what}: {status} is not a problem document: {ct:?} {text}"));
        }
    }
    match expect {
        Expect::Rejected(Some(want)) if status != want => {
            failures.push(format!("{what}: expected {want}, got {status} {text}"))
        }
        Expect::Rejected(_) if !(400..500).contains(&status) => {
            failures.push(format!("{what}: expected a 4xx, got {status} {text}"))
        }
        _ => {}
    }
    (status, text)
}

/// Bad values for a path parameter: the UUID ones must be refused.
const BAD_IDS: &[&str] = &[
    "not-a-uuid",
    "123",
    "00000000-0000-0000-0000-00000000000g",
    "%00",
    "%FF%FE",
    "00000000-0000-0000-0000-000000000000%00",
    "' OR 1=1 --",
];

/// Bad values for a query parameter by its schema, with whether they must be refused.
fn bad_query_values(name: &str, schema: &Value) -> Vec<(String, bool)> {
    let long = "x".repeat(4000);
    let mut values = vec![("%00".to_owned(), false), ("%FF%FE".to_owned(), false), (long, false)];
    let strict = |v: &str| (v.to_owned(), true);
    if schema["enum"].is_array() {
        values.extend(["sideways", "ME", "1", ""].map(strict));
        return values;
    }
    match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("integer"), _) => {
            values.extend(["abc", "1.5", "99999999999999999999999", "0x10", ""].map(strict));
            let limit = name == "limit";
            values.extend(["-1", "0", "101", "4294967296", "-9223372036854775808", "9223372036854775807"].map(|v| {
                // A limit outside 1-100 is refused; other integers (positions) may be accepted.
                (v.to_owned(), limit)
            }));
        }
        (Some("boolean"), _) => values.extend(["maybe", "2", ""].map(strict)),
        (Some("string"), Some("uuid")) => values.extend(["nope", "123"].map(strict)),
        (Some("string"), Some("date-time")) => values.extend(["yesterday", "2026-13-45T99:00:00Z"].map(strict)),
        (Some("string"), _) if ["cursor", "before", "after"].contains(&name) => {
            values.extend(["garbage", "-1", "1_", "_", "9999999999999999999999_x", "AAAA"].map(strict));
            // Well-formed but extreme positions: decoded, then simply past the end.
            values.extend(
                [
                    "9223372036854775807",
                    "18446744073709551615",
                    "9223372036854775807_00000000-0000-0000-0000-000000000000",
                ]
                .map(|v| (v.to_owned(), false)),
            );
        }
        (Some("string"), _) => values.push(("".to_owned(), false)),
        other => panic!("query parameter {name}: schema {other:?} is not covered"),
    }
    values
}

/// A body of the schema's shape with `leaf` for every string (UUID fields get a random UUID).
fn shaped(schema: &Value, doc: &Value, leaf: &Value, number: &Value) -> Value {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    if let Some(first) = schema["oneOf"].as_array().and_then(|v| v.first()) {
        return shaped(first, doc, leaf, number);
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|k| *k != "null").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    match kind.as_str() {
        Some("object") => Value::Object(
            schema["properties"]
                .as_object()
                .map(|props| props.iter().map(|(k, s)| (k.clone(), shaped(s, doc, leaf, number))).collect())
                .unwrap_or_default(),
        ),
        Some("array") => json!([shaped(&schema["items"], doc, leaf, number)]),
        Some("string") if schema["format"] == "uuid" => json!(Uuid::new_v4()),
        Some("string") => leaf.clone(),
        Some("integer") | Some("number") => number.clone(),
        Some("boolean") => json!(true),
        _ => leaf.clone(),
    }
}

/// A value of the wrong JSON type for a property schema.
fn wrong_type(schema: &Value, doc: &Value) -> Value {
    let schema = match schema["$ref"].as_str() {
        Some(r) => &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")],
        None => schema,
    };
    let kinds = schema["type"].to_string();
    if kinds.contains("string") || schema["enum"].is_array() { json!({ "nested": [1] }) } else { json!("a string") }
}

#[tokio::test]
async fn every_documented_operation_refuses_bad_ids_queries_and_bodies_without_a_5xx() {
    let app = spawn_app().await;
    let doc = serde_json::to_value(chat_host::openapi(crate::routes::BASE)).unwrap();
    let ops = operations();
    crate::routes::assert_covers(
        "bad input",
        ops.iter().map(|o| format!("{} {}", o.method, o.template)),
        &crate::routes::documented_routes(),
    );
    let mut failures = Vec::new();
    let mut cases = 0usize;
    for op in &ops {
        // A fresh caller and resources per operation: an accepted odd call cannot disturb the others.
        let res = Resources::new(&app).await;
        let user = &res.user;
        let json_ct = "application/json";
        let empty_body = op.body.as_ref().filter(|(m, _)| m == json_ct).map(|_| (json_ct, b"{}".to_vec()));

        for (name, is_uuid) in &op.path {
            for bad in BAD_IDS {
                let path = fill(op, &res, Some((name, bad)));
                let expect = if *is_uuid { Expect::Rejected(Some(400)) } else { Expect::NoServerError };
                check(&app, user, &op.method, &path, empty_body.clone(), expect, &mut failures).await;
                cases += 1;
            }
            let long = "a".repeat(3000);
            let path = fill(op, &res, Some((name, &long)));
            let expect = if *is_uuid { Expect::Rejected(Some(400)) } else { Expect::NoServerError };
            check(&app, user, &op.method, &path, empty_body.clone(), expect, &mut failures).await;
            cases += 1;
        }

        let base = fill(op, &res, None);
        for (name, schema) in &op.query {
            for (value, strict) in bad_query_values(name, schema) {
                let path = format!("{base}?{name}={value}");
                let expect = if strict { Expect::Rejected(Some(400)) } else { Expect::NoServerError };
                check(&app, user, &op.method, &path, empty_body.clone(), expect, &mut failures).await;
                cases += 1;
            }
        }

        let Some((media, schema)) = &op.body else { continue };
        if media == "multipart/form-data" {
            for (ct, body) in [
                ("application/json", b"{}".to_vec()),
                ("multipart/form-data", b"no boundary".to_vec()),
                (
                    "multipart/form-data; boundary=X",
                    b"--X\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nunterminated".to_vec(),
                ),
                (
                    "multipart/form-data; boundary=X",
                    b"--X\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nv\r\n--X--\r\n".to_vec(),
                ),
            ] {
                check(&app, user, &op.method, &base, Some((ct, body)), Expect::Rejected(None), &mut failures).await;
                cases += 1;
            }
            for (ct, body) in [
                ("multipart/form-data; boundary=X", b"--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\0.exe\"\r\n\r\nMZ\0\0\r\n--X--\r\n".to_vec()),
                ("multipart/form-data; boundary=X", b"--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e\"\r\n\r\n\r\n--X--\r\n".to_vec()),
            ] {
                check(&app, user, &op.method, &base, Some((ct, body)), Expect::NoServerError, &mut failures).await;
                cases += 1;
            }
            continue;
        }
        assert_eq!(media, json_ct, "{} {}: body type not covered", op.method, op.template);
        let strict_bodies: Vec<Vec<u8>> = vec![
            b"{\"text\": ".to_vec(),
            b"{not json}".to_vec(),
            b"\xff\xfe\x00".to_vec(),
            b"{\"a\":1} trailing".to_vec(),
            b"{\"text\":\"a\x00b\"}".to_vec(),
            b"{\"text\":\"\xc3\x28\"}".to_vec(),
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            b"[]".to_vec(),
            b"\"string\"".to_vec(),
            b"42".to_vec(),
            b"true".to_vec(),
        ];
        for body in strict_bodies {
            check(&app, user, &op.method, &base, Some((json_ct, body)), Expect::Rejected(Some(400)), &mut failures)
                .await;
            cases += 1;
        }
        let huge = format!("{{\"text\":\"{}\"}}", "x".repeat(70 * 1024)).into_bytes();
        check(&app, user, &op.method, &base, Some((json_ct, huge)), Expect::Rejected(Some(413)), &mut failures).await;
        check(
            &app,
            user,
            &op.method,
            &base,
            Some(("text/plain", b"{}".to_vec())),
            Expect::Rejected(Some(415)),
            &mut failures,
        )
        .await;
        // No body at all: refused where the document says the body is required.
        let required = doc["paths"][&op.template][op.method.as_str().to_lowercase()]["requestBody"]["required"] == true;
        let expect = if required { Expect::Rejected(None) } else { Expect::NoServerError };
        check(&app, user, &op.method, &base, None, expect, &mut failures).await;
        cases += 3;
        // Each property with a value of the wrong type, in an otherwise well-shaped body (so the refusal is
        // for that property, not for a missing one), and the problem names it.
        let valid = shaped(schema, &doc, &json!("x"), &json!(1));
        for (field, prop) in schema["properties"].as_object().into_iter().flatten() {
            let mut body = valid.clone();
            body[field] = wrong_type(prop, &doc);
            let bytes = body.to_string().into_bytes();
            let (status, text) = check(
                &app,
                user,
                &op.method,
                &base,
                Some((json_ct, bytes)),
                Expect::Rejected(Some(400)),
                &mut failures,
            )
            .await;
            let problem: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let named = problem["errors"].as_array().is_some_and(|errors| errors.iter().any(|e| e["field"] == *field));
            if status == 400 && (problem["code"] != "chat.validation" || !named) {
                failures.push(format!(
                    "{} {base} {body}: expected a chat.validation problem naming {field}, got {text}",
                    op.method
                ));
            }
            cases += 1;
        }
        // Well-shaped bodies with odd values: NUL bytes, control and bidi characters, huge texts, a lone
        // surrogate, extreme numbers.
        for (leaf, number) in [
            (json!("a\u{0}b"), json!(-1)),
            (json!("\u{202e}\u{7}\u{1b}[31m\r\n"), json!(0)),
            (json!("x".repeat(60 * 1024)), json!(9_223_372_036_854_775_807i64)),
            (json!("😀".repeat(5000)), json!(1e300)),
            (json!(""), json!(-9_223_372_036_854_775_808i64)),
        ] {
            let body = shaped(schema, &doc, &leaf, &number).to_string().into_bytes();
            check(&app, user, &op.method, &base, Some((json_ct, body)), Expect::NoServerError, &mut failures).await;
            cases += 1;
        }
        let surrogate =
            shaped(schema, &doc, &json!("SURROGATE"), &json!(1)).to_string().replace("\"SURROGATE\"", "\"\\ud800\"");
        check(
            &app,
            user,
            &op.method,
            &base,
            Some((json_ct, surrogate.into_bytes())),
            Expect::NoServerError,
            &mut failures,
        )
        .await;
        cases += 1;
    }
    // The server is healthy, serves normal calls, and counted no internal error.
    assert!(app.is_healthy().await);
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let (alice, bob) = (TestUser::new("alice"), TestUser::new("bob"));
    app.touch(&bob).await;
    app.send_to(&alice, &bob, "still fine").await;
    let metrics = app.metrics().await;
    let errors = metrics.lines().find(|l| l.starts_with("chat_errors_total ")).unwrap_or_default().to_owned();
    println!("bad input: {} operations, {cases} cases", ops.len());
    assert!(failures.is_empty(), "{} of {cases} cases failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(errors, "chat_errors_total 0", "internal errors were counted");
    assert!(!metrics.contains("status=\"5"), "a 5xx was answered:\n{metrics}");
}

#[tokio::test]
async fn operational_routes_survive_bad_input() {
    let app = spawn_app().await;
    let user = TestUser::new("ops");
    let mut failures = Vec::new();
    for path in ["/health/live?x=%00", "/health/ready?%FF=1", "/metrics?limit=-1", "/api/openapi.json?x=%FF"] {
        check(&app, &user, &Method::GET, path, None, Expect::NoServerError, &mut failures).await;
    }
    for body in [&b"{not json"[..], b"\xff", b"{\"userName\": 5}", b"{\"userName\": \"a\\u0000b\"}", b"[]"] {
        check(
            &app,
            &user,
            &Method::POST,
            "/api/dev/login",
            Some(("application/json", body.to_vec())),
            Expect::Rejected(None),
            &mut failures,
        )
        .await;
    }
    // Unknown routes and methods are problem documents too.
    check(&app, &user, &Method::GET, "/api/chat/nope/%00", None, Expect::Rejected(Some(404)), &mut failures).await;
    check(&app, &user, &Method::PATCH, "/api/chat/contacts", None, Expect::Rejected(Some(405)), &mut failures).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn nul_bytes_in_token_names_and_group_texts_are_not_a_server_error() {
    let app = spawn_app().await;
    let user = TestUser::new("nul");
    let mut claims = chat_tests::claims_for(&user);
    claims["preferred_username"] = json!("a\u{0}b");
    claims["name"] = json!("\u{0}");
    let token = chat_tests::sign(&claims);
    let response = app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(&token).send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    // NUL bytes in stored texts other than messages are refused too (PostgreSQL cannot store them).
    let other = TestUser::new("other");
    for body in [
        json!({ "name": "a\u{0}b", "memberIds": [] }),
        json!({ "name": "ok", "description": "\u{0}", "memberIds": [] }),
    ] {
        let (status, problem) = app.post(&other, "/api/chat/groups", body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(problem["code"], "chat.validation");
    }
    assert!(app.is_healthy().await);
}
