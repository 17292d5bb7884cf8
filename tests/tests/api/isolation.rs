//! Isolation (SPEC §3, §9): across every route and socket event, a user of another tenant sees nothing of
//! a tenant, a non-member nothing of a conversation, a removed member nothing after the removal, and each
//! group role may do only what it is allowed to.
//!
//! The matrix below is generated from the route table (the OpenAPI document) and the host's client event
//! list: it fails on a route or event it does not cover. Each cell runs on a fresh [`Fixture`] (so an
//! allowed destructive call does not disturb the next cell) and checks the status (denied calls are
//! `403`/`404` problem documents, or error acknowledgements) and that no response body carries anything
//! the caller may not see.

use chat_tests::{TestApp, TestSocket, TestUser, WAIT, png, spawn_app};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::routes::{assert_covers, client_events, documented_routes};

/// Who calls. The columns of the tables, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The group's owner.
    Owner,
    /// An admin of the group.
    Admin,
    /// A plain member, and the sender of the group's messages.
    Member,
    /// A former member, removed before the latest message.
    Removed,
    /// A user of the same tenant who never was a member.
    Outsider,
    /// A user of another tenant, using the first tenant's ids.
    OtherTenant,
}

const ROLES: [Role; 6] = [Role::Owner, Role::Admin, Role::Member, Role::Removed, Role::Outsider, Role::OtherTenant];

/// Expected status per [`Role`] column for every REST operation. 2xx: allowed; 403/404: denied with a
/// problem document. What each call sends is in [`rest_call`].
const REST: &[(&str, [u16; 6])] = &[
    //                                                    owner admin member removed outsider other-tenant
    ("POST /api/chat/messages", [201, 201, 201, 404, 404, 404]),
    ("GET /api/chat/messages/search", [200, 200, 200, 404, 404, 404]),
    ("GET /api/chat/messages/{id}", [200, 200, 200, 404, 404, 404]),
    ("PATCH /api/chat/messages/{id}", [403, 403, 200, 404, 404, 404]),
    ("DELETE /api/chat/messages/{id}", [204, 204, 204, 404, 404, 404]),
    ("PUT /api/chat/messages/{id}/reactions/{emoji}", [204, 204, 204, 404, 404, 404]),
    ("DELETE /api/chat/messages/{id}/reactions/{emoji}", [204, 204, 204, 404, 404, 404]),
    ("GET /api/chat/messages/{id}/receipts", [200, 200, 200, 404, 404, 404]),
    ("GET /api/chat/conversations", [200, 200, 200, 200, 200, 200]),
    ("POST /api/chat/conversations", [200, 200, 200, 200, 200, 404]),
    ("GET /api/chat/conversations/{id}", [200, 200, 200, 404, 404, 404]),
    ("DELETE /api/chat/conversations/{id}", [204, 204, 204, 404, 404, 404]),
    ("GET /api/chat/conversations/{id}/messages", [200, 200, 200, 404, 404, 404]),
    ("POST /api/chat/conversations/{id}/read", [204, 204, 204, 404, 404, 404]),
    ("POST /api/chat/conversations/{id}/mute", [200, 200, 200, 404, 404, 404]),
    ("POST /api/chat/conversations/{id}/archive", [200, 200, 200, 404, 404, 404]),
    ("GET /api/chat/users/{userId}/conversation", [200, 200, 200, 200, 200, 404]),
    ("POST /api/chat/groups", [201, 201, 201, 201, 201, 404]),
    ("GET /api/chat/groups/{id}", [200, 200, 200, 404, 404, 404]),
    ("PATCH /api/chat/groups/{id}", [200, 200, 403, 404, 404, 404]),
    ("DELETE /api/chat/groups/{id}", [204, 403, 403, 404, 404, 404]),
    ("GET /api/chat/groups/{id}/members", [200, 200, 200, 404, 404, 404]),
    ("POST /api/chat/groups/{id}/members", [200, 200, 403, 404, 404, 404]),
    ("DELETE /api/chat/groups/{id}/members/{userId}", [204, 204, 403, 404, 404, 404]),
    ("PUT /api/chat/groups/{id}/members/{userId}/role", [204, 403, 403, 404, 404, 404]),
    ("POST /api/chat/groups/{id}/owner", [200, 403, 403, 404, 404, 404]),
    ("POST /api/chat/groups/{id}/leave", [204, 204, 204, 404, 404, 404]),
    ("GET /api/chat/contacts", [200, 200, 200, 200, 200, 200]),
    ("GET /api/chat/contacts/unread-count", [200, 200, 200, 200, 200, 200]),
    ("GET /api/chat/contacts/presence", [200, 200, 200, 200, 200, 200]),
    ("GET /api/chat/users/{userId}/presence", [200, 200, 200, 404, 404, 404]),
    ("GET /api/chat/settings", [200, 200, 200, 200, 200, 200]),
    ("PUT /api/chat/settings", [200, 200, 200, 200, 200, 200]),
    ("POST /api/chat/attachments", [201, 201, 201, 201, 201, 201]),
    ("GET /api/chat/attachments/{id}", [200, 200, 200, 404, 404, 404]),
    ("GET /api/chat/sync", [200, 200, 200, 200, 200, 200]),
];

/// Expected acknowledgement per [`Role`] column for every client event: 200 is `{ ok: true }`, 403/404
/// are `{ ok: false }` with `chat.forbidden` / `chat.not_found`. What each event sends is in
/// [`event_payload`].
const EVENTS: &[(&str, [u16; 6])] = &[
    //                            owner admin member removed outsider other-tenant
    ("message.send", [200, 200, 200, 404, 404, 404]),
    ("conversation.read", [200, 200, 200, 404, 404, 404]),
    ("typing", [200, 200, 200, 404, 404, 404]),
    // A batch of receipts: ids the caller cannot see are skipped (checked below: no member hears of a receipt
    // by a non-member, and a non-member added back afterwards has none for the message).
    ("message.delivered", [200, 200, 200, 200, 200, 200]),
    ("sync", [200, 200, 200, 200, 200, 200]),
];

/// One tenant's group with every role, and a user of another tenant.
struct Fixture {
    owner: TestUser,
    admin: TestUser,
    member: TestUser,
    removed: TestUser,
    outsider: TestUser,
    stranger: TestUser,
    /// A plain member the owner acts on (role change, removal, ownership).
    target: TestUser,
    /// A user of the tenant who is not in the group yet (to be added).
    newcomer: TestUser,
    group: String,
    group_name: String,
    /// Sent by `member` while `removed` was still in the group.
    before_id: String,
    before_text: String,
    /// Sent by `member` after `removed` was removed.
    secret_id: String,
    secret_text: String,
    /// An attachment of a message in the group.
    attachment: String,
    /// `removed`'s unread count right after the removal.
    removed_unread: i64,
}

impl Fixture {
    async fn new(app: &TestApp) -> Fixture {
        let tenant = Uuid::new_v4();
        let nonce = Uuid::new_v4().simple().to_string();
        let f = |name: &str| TestUser::in_tenant(name, tenant);
        let (owner, admin, member, removed, outsider, target, newcomer) =
            (f("owner"), f("admin"), f("member"), f("removed"), f("outsider"), f("target"), f("newcomer"));
        let stranger = TestUser::in_tenant("stranger", Uuid::new_v4());
        for u in [&admin, &member, &removed, &outsider, &target, &newcomer, &stranger] {
            app.touch(u).await;
        }
        let group_name = format!("team-{nonce}");
        let (status, group) = app
            .post(
                &owner,
                "/api/chat/groups",
                json!({ "name": group_name, "memberIds": [admin.id, member.id, removed.id, target.id] }),
            )
            .await;
        assert_eq!(status, 201, "{group}");
        let group = group["id"].as_str().unwrap().to_owned();
        let (status, body) = app
            .put(&owner, &format!("/api/chat/groups/{group}/members/{}/role", admin.id), json!({ "role": "admin" }))
            .await;
        assert_eq!(status, 204, "{body}");

        let before_text = format!("before-{nonce}");
        let before_id = post_message(app, &member, json!({ "conversationId": group, "text": before_text })).await;
        let (status, uploaded) = app.upload(&member, "p.png", png(256)).await;
        assert_eq!(status, 201, "{uploaded}");
        let attachment = uploaded["id"].as_str().unwrap().to_owned();
        post_message(app, &member, json!({ "conversationId": group, "text": "file", "attachmentIds": [attachment] }))
            .await;

        let (status, body) = app.delete(&owner, &format!("/api/chat/groups/{group}/members/{}", removed.id)).await;
        assert_eq!(status, 204, "{body}");
        let (_, unread) = app.get(&removed, "/api/chat/contacts/unread-count").await;
        let removed_unread = unread["count"].as_i64().unwrap();

        let secret_text = format!("secret-{nonce}");
        let secret_id = post_message(app, &member, json!({ "conversationId": group, "text": secret_text })).await;
        Fixture {
            owner,
            admin,
            member,
            removed,
            outsider,
            stranger,
            target,
            newcomer,
            group,
            group_name,
            before_id,
            before_text,
            secret_id,
            secret_text,
            attachment,
            removed_unread,
        }
    }

    fn user(&self, role: Role) -> &TestUser {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
            Role::Removed => &self.removed,
            Role::Outsider => &self.outsider,
            Role::OtherTenant => &self.stranger,
        }
    }

    /// What `role` must never find in a response (unless the caller sent it in the request itself).
    fn hidden_from(&self, role: Role) -> Vec<String> {
        let group_content = || {
            vec![
                self.group.clone(),
                self.group_name.clone(),
                self.before_id.clone(),
                self.before_text.clone(),
                self.secret_id.clone(),
                self.secret_text.clone(),
                self.attachment.clone(),
            ]
        };
        match role {
            Role::Owner | Role::Admin | Role::Member => Vec::new(),
            // Removed before the secret was sent.
            Role::Removed => vec![self.secret_id.clone(), self.secret_text.clone()],
            Role::Outsider => group_content(),
            Role::OtherTenant => {
                let mut all = group_content();
                for u in [&self.owner, &self.admin, &self.member, &self.removed, &self.outsider, &self.target] {
                    all.push(u.id.to_string());
                    all.push(u.name.clone());
                }
                all
            }
        }
    }
}

async fn post_message(app: &TestApp, user: &TestUser, body: Value) -> String {
    let (status, message) = app.post(user, "/api/chat/messages", body).await;
    assert_eq!(status, 201, "{message}");
    message["id"].as_str().unwrap().to_owned()
}

/// One REST request: method, path and query, and body.
struct Call {
    method: Method,
    path: String,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    Upload,
}

/// The request each route is called with: the group, its latest (secret) message, its attachment, and
/// users of the group's tenant wherever a route takes ids.
fn rest_call(route: &str, f: &Fixture) -> Call {
    let (g, m, a) = (&f.group, &f.secret_id, &f.attachment);
    let (target, newcomer) = (f.target.id, f.newcomer.id);
    let (method, path, body) = match route {
        "POST /api/chat/messages" => {
            ("POST", "/api/chat/messages".to_owned(), Body::Json(json!({ "conversationId": g, "text": "matrix" })))
        }
        "GET /api/chat/messages/search" => {
            ("GET", format!("/api/chat/messages/search?q={}&conversationId={g}", f.secret_text), Body::None)
        }
        "GET /api/chat/messages/{id}" => ("GET", format!("/api/chat/messages/{m}"), Body::None),
        "PATCH /api/chat/messages/{id}" => {
            ("PATCH", format!("/api/chat/messages/{m}"), Body::Json(json!({ "text": "edited" })))
        }
        "DELETE /api/chat/messages/{id}" => ("DELETE", format!("/api/chat/messages/{m}?scope=everyone"), Body::None),
        "PUT /api/chat/messages/{id}/reactions/{emoji}" => {
            ("PUT", format!("/api/chat/messages/{m}/reactions/%F0%9F%91%8D"), Body::None)
        }
        "DELETE /api/chat/messages/{id}/reactions/{emoji}" => {
            ("DELETE", format!("/api/chat/messages/{m}/reactions/%F0%9F%91%8D"), Body::None)
        }
        "GET /api/chat/messages/{id}/receipts" => ("GET", format!("/api/chat/messages/{m}/receipts"), Body::None),
        "GET /api/chat/conversations" => ("GET", "/api/chat/conversations?includeArchived=true".to_owned(), Body::None),
        "POST /api/chat/conversations" => {
            ("POST", "/api/chat/conversations".to_owned(), Body::Json(json!({ "targetUserId": target })))
        }
        "GET /api/chat/conversations/{id}" => ("GET", format!("/api/chat/conversations/{g}"), Body::None),
        "DELETE /api/chat/conversations/{id}" => ("DELETE", format!("/api/chat/conversations/{g}"), Body::None),
        "GET /api/chat/conversations/{id}/messages" => {
            ("GET", format!("/api/chat/conversations/{g}/messages"), Body::None)
        }
        "POST /api/chat/conversations/{id}/read" => {
            ("POST", format!("/api/chat/conversations/{g}/read"), Body::Json(json!({ "upToMessageId": m })))
        }
        "POST /api/chat/conversations/{id}/mute" => {
            ("POST", format!("/api/chat/conversations/{g}/mute"), Body::Json(json!({ "muted": true })))
        }
        "POST /api/chat/conversations/{id}/archive" => {
            ("POST", format!("/api/chat/conversations/{g}/archive"), Body::Json(json!({ "archived": true })))
        }
        "GET /api/chat/users/{userId}/conversation" => {
            ("GET", format!("/api/chat/users/{target}/conversation"), Body::None)
        }
        "POST /api/chat/groups" => {
            ("POST", "/api/chat/groups".to_owned(), Body::Json(json!({ "name": "mine", "memberIds": [target] })))
        }
        "GET /api/chat/groups/{id}" => ("GET", format!("/api/chat/groups/{g}"), Body::None),
        "PATCH /api/chat/groups/{id}" => ("PATCH", format!("/api/chat/groups/{g}"), Body::Json(json!({ "name": "x" }))),
        "DELETE /api/chat/groups/{id}" => ("DELETE", format!("/api/chat/groups/{g}"), Body::None),
        "GET /api/chat/groups/{id}/members" => ("GET", format!("/api/chat/groups/{g}/members"), Body::None),
        "POST /api/chat/groups/{id}/members" => {
            ("POST", format!("/api/chat/groups/{g}/members"), Body::Json(json!({ "userIds": [newcomer] })))
        }
        "DELETE /api/chat/groups/{id}/members/{userId}" => {
            ("DELETE", format!("/api/chat/groups/{g}/members/{target}"), Body::None)
        }
        "PUT /api/chat/groups/{id}/members/{userId}/role" => {
            ("PUT", format!("/api/chat/groups/{g}/members/{target}/role"), Body::Json(json!({ "role": "admin" })))
        }
        "POST /api/chat/groups/{id}/owner" => {
            ("POST", format!("/api/chat/groups/{g}/owner"), Body::Json(json!({ "userId": target })))
        }
        "POST /api/chat/groups/{id}/leave" => ("POST", format!("/api/chat/groups/{g}/leave"), Body::None),
        "GET /api/chat/contacts" => ("GET", "/api/chat/contacts?includeOtherContacts=true".to_owned(), Body::None),
        "GET /api/chat/contacts/unread-count" => ("GET", "/api/chat/contacts/unread-count".to_owned(), Body::None),
        "GET /api/chat/contacts/presence" => ("GET", "/api/chat/contacts/presence".to_owned(), Body::None),
        "GET /api/chat/users/{userId}/presence" => {
            ("GET", format!("/api/chat/users/{}/presence", f.target.id), Body::None)
        }
        "GET /api/chat/settings" => ("GET", "/api/chat/settings".to_owned(), Body::None),
        "PUT /api/chat/settings" => {
            ("PUT", "/api/chat/settings".to_owned(), Body::Json(json!({ "sendOnEnter": false })))
        }
        "POST /api/chat/attachments" => ("POST", "/api/chat/attachments".to_owned(), Body::Upload),
        "GET /api/chat/attachments/{id}" => ("GET", format!("/api/chat/attachments/{a}"), Body::None),
        "GET /api/chat/sync" => ("GET", "/api/chat/sync?afterEventSeq=0".to_owned(), Body::None),
        other => panic!("no request for {other}"),
    };
    Call { method: Method::from_bytes(method.as_bytes()).unwrap(), path, body }
}

/// The payload each client event is sent with.
fn event_payload(event: &str, f: &Fixture) -> Value {
    match event {
        "message.send" => json!({ "conversationId": f.group, "text": "matrix" }),
        "conversation.read" => json!({ "conversationId": f.group, "upToMessageId": f.secret_id }),
        "typing" => json!({ "conversationId": f.group, "isTyping": true }),
        "message.delivered" => json!({ "messageIds": [f.secret_id] }),
        "sync" => json!({ "afterEventSeq": 0 }),
        other => panic!("no payload for {other}"),
    }
}

fn column(role: Role) -> usize {
    ROLES.iter().position(|r| *r == role).unwrap()
}

/// Checks a body for what `role` must not see; `sent` is what the caller put in the request.
fn leaks(f: &Fixture, role: Role, sent: &str, body: &str) -> Vec<String> {
    f.hidden_from(role).into_iter().filter(|s| !sent.contains(s.as_str()) && body.contains(s.as_str())).collect()
}

#[test]
fn the_matrix_covers_every_route_and_event() {
    assert_covers("isolation matrix (REST)", REST.iter().map(|(r, _)| (*r).to_owned()), &documented_routes());
    assert_covers("isolation matrix (events)", EVENTS.iter().map(|(e, _)| (*e).to_owned()), &client_events());
}

#[tokio::test]
async fn every_route_answers_each_caller_as_the_matrix_says_and_leaks_nothing() {
    let routes = documented_routes();
    assert_covers("isolation matrix (REST)", REST.iter().map(|(r, _)| (*r).to_owned()), &routes);
    let app = spawn_app().await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for (route, expected) in REST {
        for role in ROLES {
            let f = Fixture::new(&app).await;
            let call = rest_call(route, &f);
            let user = f.user(role);
            let mut request = app.req(call.method.clone(), &call.path, user);
            let mut sent = call.path.clone();
            match &call.body {
                Body::None => {}
                Body::Json(v) => {
                    sent.push_str(&v.to_string());
                    request = request.json(v);
                }
                Body::Upload => {
                    let part = Part::bytes(png(256)).file_name("p.png").mime_str("image/png").unwrap();
                    request = request.multipart(Form::new().part("file", part));
                }
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let ct = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
            let body = response.text().await.unwrap();
            cells += 1;
            let want = expected[column(role)];
            let cell = format!("{route} as {role:?}");
            if status != want {
                failures.push(format!("{cell}: expected {want}, got {status} {body}"));
                continue;
            }
            if status >= 400 {
                let problem: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let code = if status == 403 { "chat.forbidden" } else { "chat.not_found" };
                if ct.as_deref() != Some("application/problem+json") || problem["code"] != code {
                    failures.push(format!("{cell}: not a {code} problem document: {ct:?} {body}"));
                }
            }
            let leaked = leaks(&f, role, &sent, &body);
            if !leaked.is_empty() {
                failures.push(format!("{cell}: leaked {leaked:?} in {body}"));
            }
            if *route == "GET /api/chat/contacts/unread-count" && role == Role::Removed {
                let count = serde_json::from_str::<Value>(&body).unwrap()["count"].as_i64();
                if count != Some(f.removed_unread) {
                    failures.push(format!("{cell}: a message sent after the removal was counted: {body}"));
                }
            }
            if *route == "GET /api/chat/contacts/unread-count" && matches!(role, Role::Outsider | Role::OtherTenant) {
                let count = serde_json::from_str::<Value>(&body).unwrap()["count"].as_i64();
                if count != Some(0) {
                    failures.push(format!("{cell}: counts another's messages: {body}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells failed:\n{}", failures.len(), failures.join("\n"));
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn every_event_answers_each_caller_as_the_matrix_says_and_leaks_nothing() {
    assert_covers("isolation matrix (events)", EVENTS.iter().map(|(e, _)| (*e).to_owned()), &client_events());
    let app = spawn_app().await;
    let mut failures = Vec::new();
    for (event, expected) in EVENTS {
        for role in ROLES {
            let f = Fixture::new(&app).await;
            let payload = event_payload(event, &f);
            let cell = format!("{event} as {role:?}");
            let non_member_receipt =
                *event == "message.delivered" && matches!(role, Role::Removed | Role::Outsider | Role::OtherTenant);
            // A member listening from before the call, for the events it may cause.
            let watcher = if non_member_receipt { Some(app.socket(&f.owner).await) } else { None };
            let socket = app.socket(f.user(role)).await;
            let ack = socket.ack(event, payload.clone()).await;
            socket.close().await;
            let want = expected[column(role)];
            let outcome = match (&ack["ok"], ack["error"]["code"].as_str()) {
                (Value::Bool(true), _) => 200,
                (Value::Bool(false), Some("chat.forbidden")) => 403,
                (Value::Bool(false), Some("chat.not_found")) => 404,
                _ => 0,
            };
            if outcome != want {
                failures.push(format!("{cell}: expected {want}, got {ack}"));
                continue;
            }
            let leaked = leaks(&f, role, &payload.to_string(), &ack.to_string());
            if !leaked.is_empty() {
                failures.push(format!("{cell}: leaked {leaked:?} in {ack}"));
            }
            if let Some(mut watcher) = watcher {
                failures.extend(receipt_announced(&app, &f, role, &mut watcher).await.map(|e| format!("{cell}: {e}")));
                watcher.close().await;
                failures.extend(receipt_stored(&app, &f, role).await.map(|e| format!("{cell}: {e}")));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells failed:\n{}", failures.len(), failures.join("\n"));
    assert!(app.is_healthy().await);
}

/// Whether `watcher` (a member's socket, open before `role` sent `message.delivered`) heard of a receipt by
/// the caller: a member then sends a marker, and nothing naming the caller may arrive before it. Events of
/// one member's stream arrive in order, so a receipt announced by the call would be there first.
async fn receipt_announced(app: &TestApp, f: &Fixture, role: Role, watcher: &mut TestSocket) -> Option<String> {
    let marker = format!("marker-{}", Uuid::new_v4().simple());
    post_message(app, &f.member, json!({ "conversationId": f.group, "text": marker })).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match watcher.try_next("message.created", left).await {
            Some(created) if created["data"]["text"] == marker.as_str() => break,
            Some(_) => {}
            None => return Some(format!("the marker {marker} did not reach the owner within {WAIT:?}")),
        }
    }
    let caller = f.user(role).id.to_string();
    let heard: Vec<String> = watcher
        .drain()
        .into_iter()
        .filter(|(name, event)| {
            matches!(name.as_str(), "message.delivered" | "message.read") || event["data"]["userId"] == caller.as_str()
        })
        .map(|(name, event)| format!("{name} {event}"))
        .collect();
    (!heard.is_empty()).then(|| format!("a member heard of a non-member's receipt: {heard:?}"))
}

/// Whether a receipt by `role` for the secret message was stored: the caller (of the group's tenant) is
/// added back to the group, and the receipts of the message must list them with neither delivered nor read.
/// Adding a member records no receipt, so any there came from the refused `message.delivered`.
async fn receipt_stored(app: &TestApp, f: &Fixture, role: Role) -> Option<String> {
    if role == Role::OtherTenant {
        // Another tenant's user cannot be added; the announcement check above covers them.
        return None;
    }
    let caller = f.user(role).id.to_string();
    let (status, body) =
        app.post(&f.owner, &format!("/api/chat/groups/{}/members", f.group), json!({ "userIds": [caller] })).await;
    if status != 200 {
        return Some(format!("could not add the caller back to inspect their receipts: {status} {body}"));
    }
    let (status, receipts) = app.get(&f.owner, &format!("/api/chat/messages/{}/receipts", f.secret_id)).await;
    let mine = receipts["members"].as_array().and_then(|m| m.iter().find(|r| r["userId"] == caller.as_str()));
    match mine {
        None => Some(format!("the re-added caller is not in the receipts: {status} {receipts}")),
        Some(r) if !r["deliveredAt"].is_null() || !r["readAt"].is_null() => {
            Some(format!("a receipt was stored for a non-member: {r}"))
        }
        Some(_) => None,
    }
}

#[tokio::test]
async fn another_tenants_conversation_and_message_are_not_found() {
    let app = spawn_app().await;
    let tenant_a = Uuid::new_v4();
    let tenant_b = Uuid::new_v4();
    let alice = TestUser::in_tenant("alice", tenant_a);
    let bob = TestUser::in_tenant("bob", tenant_a);
    let mallory = TestUser::in_tenant("mallory", tenant_b);
    app.touch(&bob).await;
    app.touch(&mallory).await;

    let message = app.send_to(&alice, &bob, "tenant A only").await;
    let id = message["id"].as_str().unwrap();
    let conversation = message["conversationId"].as_str().unwrap();

    for path in [
        format!("/api/chat/messages/{id}"),
        format!("/api/chat/messages/{id}/receipts"),
        format!("/api/chat/conversations/{conversation}"),
        format!("/api/chat/conversations/{conversation}/messages"),
    ] {
        let (status, problem) = app.get(&mallory, &path).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["code"], "chat.not_found");
    }
    let (status, _) = app.patch(&mallory, &format!("/api/chat/messages/{id}"), json!({ "text": "x" })).await;
    assert_eq!(status, 404);
    let (status, _) =
        app.post(&mallory, "/api/chat/messages", json!({ "conversationId": conversation, "text": "x" })).await;
    assert_eq!(status, 404);
    // A user of another tenant cannot be written to either.
    let (status, _) = app.post(&mallory, "/api/chat/messages", json!({ "targetUserId": alice.id, "text": "x" })).await;
    assert_eq!(status, 404);

    // Nothing leaks into counts, lists or search.
    let (_, unread) = app.get(&mallory, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 0);
    let (_, list) = app.get(&mallory, "/api/chat/conversations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    let (_, found) = app.get(&mallory, "/api/chat/messages/search?q=tenant").await;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(0));
    let (_, contacts) = app.get(&mallory, "/api/chat/contacts?includeOtherContacts=true").await;
    assert!(!contacts.to_string().contains(&alice.id.to_string()), "{contacts}");

    // The same user id in another tenant is another user.
    let alice_elsewhere = TestUser { tenant: Some(tenant_b), ..alice.clone() };
    let (status, _) = app.get(&alice_elsewhere, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn another_tenants_ids_in_request_bodies_are_not_found() {
    let app = spawn_app().await;
    let f = Fixture::new(&app).await;
    let x = &f.stranger;
    let (status, own) = app.post(x, "/api/chat/groups", json!({ "name": "x", "memberIds": [] })).await;
    assert_eq!(status, 201, "{own}");
    let own = own["id"].as_str().unwrap();
    // Each case with the other tenant's id it carries: the answer must be the one for an id that does not
    // exist at all (same status and problem code), so the call tells nothing about the other tenant.
    let member = f.member.id.to_string();
    let cases = [
        ("/api/chat/messages".to_owned(), json!({ "targetUserId": f.member.id, "text": "x" }), &member),
        (
            "/api/chat/messages".to_owned(),
            json!({ "conversationId": own, "text": "x", "replyToId": f.secret_id }),
            &f.secret_id,
        ),
        (
            "/api/chat/messages".to_owned(),
            json!({ "conversationId": own, "text": "x", "attachmentIds": [f.attachment] }),
            &f.attachment,
        ),
        ("/api/chat/conversations".to_owned(), json!({ "targetUserId": f.member.id }), &member),
        ("/api/chat/groups".to_owned(), json!({ "name": "x", "memberIds": [f.member.id] }), &member),
        (format!("/api/chat/groups/{own}/members"), json!({ "userIds": [f.member.id] }), &member),
        (format!("/api/chat/groups/{own}/owner"), json!({ "userId": f.member.id }), &member),
    ];
    for (path, body, foreign) in cases {
        let (status, problem) = app.post(x, &path, body.clone()).await;
        assert!(status == 404 || status == 400, "{path} {body}: {status} {problem}");
        assert!(leaks(&f, Role::OtherTenant, &body.to_string(), &problem.to_string()).is_empty(), "{problem}");
        assert!(body.to_string().contains(foreign.as_str()), "{body} does not carry {foreign}");
        let nowhere: Value =
            serde_json::from_str(&body.to_string().replace(foreign.as_str(), &Uuid::new_v4().to_string())).unwrap();
        let (control_status, control) = app.post(x, &path, nowhere.clone()).await;
        let fields =
            |p: &Value| p["errors"].as_array().map(|e| e.iter().map(|e| e["field"].clone()).collect::<Vec<_>>());
        assert_eq!(
            (status, &problem["code"], fields(&problem)),
            (control_status, &control["code"], fields(&control)),
            "{path}: another tenant's id is answered {problem}, an id of nothing ({nowhere}) {control}"
        );
    }
    // Nothing of the other tenant became part of the stranger's group.
    let (_, members) = app.get(x, &format!("/api/chat/groups/{own}/members")).await;
    assert_eq!(members["items"].as_array().map(Vec::len), Some(1), "{members}");
}
