//! Rich chat over REST: reactions, receipts, search, mute/archive/delete of my side, the tenant's deletion
//! settings, and the attachment rules that the other modules leave out (issue #6).
//!
//! Each user has a budget of 20 ordinary calls per second, so the tests spread their calls over users
//! and stay well below it.

use chat_tests::{TestApp, TestUser, png, spawn_app, spawn_app_in, temp_dir};
use serde_json::{Value, json};
use uuid::Uuid;

/// 👍, percent-encoded for a path.
const THUMBS_UP: &str = "%F0%9F%91%8D";
/// ❤, percent-encoded for a path.
const HEART: &str = "%E2%9D%A4";

/// The `items` of a page.
fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap_or_else(|| panic!("not a page: {page}"))
}

/// The texts of a page's items.
fn texts(page: &Value) -> Vec<String> {
    items(page).iter().map(|m| m["text"].as_str().unwrap_or_default().to_owned()).collect()
}

/// The id of a stored resource.
fn id_of(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value}")).to_owned()
}

/// Asserts a problem document with a status and a code.
fn assert_problem(what: &str, status: u16, problem: &Value, expected: u16, code: &str) {
    assert_eq!(status, expected, "{what}: {problem}");
    assert_eq!(problem["status"], expected, "{what}: {problem}");
    assert_eq!(problem["code"], code, "{what}: {problem}");
}

/// The reactions of a message as `user` sees it.
async fn reactions(app: &TestApp, user: &TestUser, message: &str) -> Vec<Value> {
    let (status, body) = app.get(user, &format!("/api/chat/messages/{message}")).await;
    assert_eq!(status, 200, "{body}");
    body["reactions"].as_array().cloned().unwrap_or_else(|| panic!("no reactions in {body}"))
}

/// Changes the tenant's settings as its administrator.
async fn set_tenant(app: &TestApp, admin: &TestUser, tenant: Value) -> Value {
    let (status, body) = app.put(admin, "/api/chat/settings", json!({ "tenant": tenant })).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn reactions_are_idempotent_and_show_who_reacted_in_the_message_and_in_history() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let message = app.send_to(&alice, &bob, "react to me").await;
    let id = id_of(&message);
    let conversation = message["conversationId"].as_str().unwrap().to_owned();

    // Twice the same reaction is one reaction.
    for _ in 0..2 {
        let (status, body) =
            app.put(&bob, &format!("/api/chat/messages/{id}/reactions/{THUMBS_UP}"), json!(null)).await;
        assert_eq!(status, 204, "{body}");
    }
    let seen_by_bob = reactions(&app, &bob, &id).await;
    assert_eq!(seen_by_bob, vec![json!({ "emoji": "👍", "count": 1, "me": true })]);
    let seen_by_alice = reactions(&app, &alice, &id).await;
    assert_eq!(seen_by_alice, vec![json!({ "emoji": "👍", "count": 1, "me": false })]);

    // Alice adds the same emoji and another one: counts add up, `me` is per viewer.
    for emoji in [THUMBS_UP, HEART] {
        let (status, body) = app.put(&alice, &format!("/api/chat/messages/{id}/reactions/{emoji}"), json!(null)).await;
        assert_eq!(status, 204, "{body}");
    }
    let (status, history) = app.get(&bob, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{history}");
    let listed = items(&history)[0]["reactions"].as_array().cloned().unwrap_or_default();
    let find = |list: &[Value], emoji: &str| list.iter().find(|r| r["emoji"] == emoji).cloned();
    assert_eq!(find(&listed, "👍"), Some(json!({ "emoji": "👍", "count": 2, "me": true })), "{history}");
    assert_eq!(find(&listed, "❤"), Some(json!({ "emoji": "❤", "count": 1, "me": false })), "{history}");
    let (_, history) = app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages")).await;
    let listed = items(&history)[0]["reactions"].as_array().cloned().unwrap_or_default();
    assert_eq!(find(&listed, "👍"), Some(json!({ "emoji": "👍", "count": 2, "me": true })), "{history}");
    assert_eq!(find(&listed, "❤"), Some(json!({ "emoji": "❤", "count": 1, "me": true })), "{history}");

    // Removing is idempotent too, and removes only the caller's reaction.
    for _ in 0..2 {
        let (status, body) = app.delete(&bob, &format!("/api/chat/messages/{id}/reactions/{THUMBS_UP}")).await;
        assert_eq!(status, 204, "{body}");
    }
    let seen_by_bob = reactions(&app, &bob, &id).await;
    assert_eq!(find(&seen_by_bob, "👍"), Some(json!({ "emoji": "👍", "count": 1, "me": false })));
    assert_eq!(seen_by_bob.len(), 2, "{seen_by_bob:?}");

    // Removing a reaction nobody gave changes nothing.
    let (status, _) = app.delete(&bob, &format!("/api/chat/messages/{id}/reactions/%F0%9F%8E%89")).await;
    assert_eq!(status, 204);
    assert_eq!(reactions(&app, &alice, &id).await.len(), 2);
}

#[tokio::test]
async fn bad_emoji_are_validation_problems_and_store_nothing() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let id = id_of(&app.send_to(&alice, &bob, "no nonsense").await);

    let hundred = "a".repeat(100);
    for bad in ["abc", "%F0%9F%91%8D%F0%9F%91%8D", hundred.as_str(), "%00", "%20", ":no spaces:"] {
        let path = format!("/api/chat/messages/{id}/reactions/{bad}");
        let (status, problem) = app.put(&alice, &path, json!(null)).await;
        assert_problem(&format!("PUT {bad}"), status, &problem, 400, "chat.validation");
        assert_eq!(problem["errors"][0]["field"], "emoji", "PUT {bad}: {problem}");
        let (status, problem) = app.delete(&alice, &path).await;
        assert_problem(&format!("DELETE {bad}"), status, &problem, 400, "chat.validation");
    }
    assert_eq!(reactions(&app, &bob, &id).await, Vec::<Value>::new());

    // A short name is a valid reaction.
    let (status, body) = app.put(&bob, &format!("/api/chat/messages/{id}/reactions/:thumbsup:"), json!(null)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(reactions(&app, &alice, &id).await, vec![json!({ "emoji": ":thumbsup:", "count": 1, "me": false })]);
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn strangers_and_other_tenants_cannot_react_or_see_receipts() {
    let app = spawn_app().await;
    let tenant = Uuid::new_v4();
    let alice = TestUser::in_tenant("alice", tenant);
    let bob = TestUser::in_tenant("bob", tenant);
    let eve = TestUser::in_tenant("eve", tenant);
    // Bob's id in another tenant is another user.
    let twin = TestUser { tenant: Some(Uuid::new_v4()), ..bob.clone() };
    app.touch(&bob).await;
    app.touch(&eve).await;
    let id = id_of(&app.send_to(&alice, &bob, "just us").await);

    for (who, user) in [("non-member", &eve), ("other tenant", &twin)] {
        let path = format!("/api/chat/messages/{id}/reactions/{THUMBS_UP}");
        let (status, problem) = app.put(user, &path, json!(null)).await;
        assert_problem(&format!("{who} PUT"), status, &problem, 404, "chat.not_found");
        let (status, problem) = app.delete(user, &path).await;
        assert_problem(&format!("{who} DELETE"), status, &problem, 404, "chat.not_found");
        let (status, problem) = app.get(user, &format!("/api/chat/messages/{id}/receipts")).await;
        assert_problem(&format!("{who} receipts"), status, &problem, 404, "chat.not_found");
    }
    assert_eq!(reactions(&app, &alice, &id).await, Vec::<Value>::new());

    // An unknown message is answered the same way.
    let (status, problem) =
        app.put(&alice, &format!("/api/chat/messages/{}/reactions/{THUMBS_UP}", Uuid::new_v4()), json!(null)).await;
    assert_problem("unknown message", status, &problem, 404, "chat.not_found");
}

#[tokio::test]
async fn receipts_show_when_the_receiver_got_and_read_a_message() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let first = app.send_to(&alice, &bob, "one").await;
    let second = app.send_to(&alice, &bob, "two").await;
    let conversation = first["conversationId"].as_str().unwrap().to_owned();

    let bob_receipt = |receipts: &Value| {
        receipts["members"]
            .as_array()
            .and_then(|m| m.iter().find(|r| r["userId"] == bob.id.to_string()).cloned())
            .unwrap_or_else(|| panic!("no receipt for bob in {receipts}"))
    };
    let (status, receipts) = app.get(&alice, &format!("/api/chat/messages/{}/receipts", id_of(&first))).await;
    assert_eq!(status, 200, "{receipts}");
    assert_eq!(receipts["messageId"], first["id"]);
    let before = bob_receipt(&receipts);
    assert!(before["readAt"].is_null(), "{receipts}");

    // Bob reads up to the first message only: the first is read, the second is not.
    let (status, body) = app
        .post(&bob, &format!("/api/chat/conversations/{conversation}/read"), json!({ "upToMessageId": first["id"] }))
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, receipts) = app.get(&alice, &format!("/api/chat/messages/{}/receipts", id_of(&first))).await;
    assert!(bob_receipt(&receipts)["readAt"].is_string(), "{receipts}");
    let (_, receipts) = app.get(&bob, &format!("/api/chat/messages/{}/receipts", id_of(&second))).await;
    assert!(bob_receipt(&receipts)["readAt"].is_null(), "{receipts}");
}

#[tokio::test]
async fn search_finds_words_in_my_conversations_only_and_never_deleted_messages() {
    let app = spawn_app().await;
    let tenant = Uuid::new_v4();
    let alice = TestUser::in_tenant("alice", tenant);
    let bob = TestUser::in_tenant("bob", tenant);
    let carol = TestUser::in_tenant("carol", tenant);
    let elsewhere = Uuid::new_v4();
    let alice_twin = TestUser { tenant: Some(elsewhere), ..alice.clone() };
    let mallory = TestUser::in_tenant("mallory", elsewhere);
    for user in [&bob, &carol, &mallory, &alice_twin] {
        app.touch(user).await;
    }

    let with_bob = app.send_to(&alice, &bob, "the quick brown fox").await;
    let with_bob_id = with_bob["conversationId"].as_str().unwrap().to_owned();
    let gone = app.send_to(&alice, &bob, "this fox is deleted").await;
    let mine_only = app.send_to(&bob, &alice, "a lazy fox hides").await;
    let with_carol = app.send_to(&carol, &alice, "another fox story").await;
    let not_mine = app.send_to(&bob, &carol, "a secret fox").await;
    app.send_to(&mallory, &alice_twin, "a fox from elsewhere").await;

    let (status, _) = app.delete(&alice, &format!("/api/chat/messages/{}?scope=everyone", id_of(&gone))).await;
    assert_eq!(status, 204);
    let (status, _) = app.delete(&alice, &format!("/api/chat/messages/{}?scope=me", id_of(&mine_only))).await;
    assert_eq!(status, 204);

    // Across my conversations: not deleted ones, not others', not another tenant's.
    let (status, found) = app.get(&alice, "/api/chat/messages/search?q=fox").await;
    assert_eq!(status, 200, "{found}");
    let mut got = texts(&found);
    got.sort();
    assert_eq!(got, ["another fox story", "the quick brown fox"], "{found}");
    assert!(items(&found).iter().all(|m| m["conversationId"].is_string()), "{found}");
    assert!(!found.to_string().contains(&id_of(&not_mine)));

    // A message I deleted for myself is still found by the peer, and the deleted-for-everyone one is not.
    let (_, found) = app.get(&bob, "/api/chat/messages/search?q=fox").await;
    let mut got = texts(&found);
    got.sort();
    assert_eq!(got, ["a lazy fox hides", "a secret fox", "the quick brown fox"], "{found}");

    // Scoped to one conversation.
    let (status, found) =
        app.get(&alice, &format!("/api/chat/messages/search?q=fox&conversationId={with_bob_id}")).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(texts(&found), ["the quick brown fox"]);
    assert_eq!(items(&found)[0]["conversationId"], with_bob_id.as_str());

    // Scoped to a conversation I am not in, or of another tenant: not found.
    let theirs = not_mine["conversationId"].as_str().unwrap();
    let (status, problem) = app.get(&alice, &format!("/api/chat/messages/search?q=fox&conversationId={theirs}")).await;
    assert_problem("foreign conversation", status, &problem, 404, "chat.not_found");
    let carol_conversation = with_carol["conversationId"].as_str().unwrap();
    let (status, problem) =
        app.get(&alice_twin, &format!("/api/chat/messages/search?q=fox&conversationId={carol_conversation}")).await;
    assert_problem("other tenant's conversation", status, &problem, 404, "chat.not_found");

    // The other tenant's namesake finds only their own.
    let (_, found) = app.get(&alice_twin, "/api/chat/messages/search?q=fox").await;
    assert_eq!(texts(&found), ["a fox from elsewhere"]);
}

#[tokio::test]
async fn search_is_cursor_paginated() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    for text in ["walrus one", "walrus two", "walrus three", "no match here"] {
        app.send_to(&alice, &bob, text).await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/chat/messages/search?q=walrus&limit=1".to_owned();
    for page_no in 0..3 {
        let (status, page) = app.get(&alice, &path).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(items(&page).len(), 1, "page {page_no}: {page}");
        seen.push(id_of(&items(&page)[0]));
        if page_no < 2 {
            assert_eq!(page["hasMore"], true, "page {page_no}: {page}");
            let cursor = page["nextCursor"].as_str().unwrap_or_else(|| panic!("no cursor: {page}"));
            path = format!("/api/chat/messages/search?q=walrus&limit=1&cursor={cursor}");
        } else {
            assert_eq!(page["hasMore"], false, "{page}");
        }
    }
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "pages repeated a message: {seen:?}");
}

#[tokio::test]
async fn search_treats_query_syntax_as_plain_text() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    for text in ["say \"hi\" OR bye", "50% off today", "snake_case naming", "foxes run", "(brackets) and col:on"] {
        app.send_to(&alice, &bob, text).await;
    }
    // Every query answers 200, and every hit really contains the query text (case aside): no operator
    // widened the match (`%`, `_` and `*` are not wildcards, `OR` is not a disjunction).
    for q in [
        "\"",
        "*",
        "OR",
        "%",
        "_",
        "\"hi\"",
        "50%",
        "snake_case",
        "fox*",
        "fo*",
        "a OR b",
        "NOT",
        "col:on",
        "(",
        "AND (",
    ] {
        let encoded: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
        let (status, found) = app.get(&alice, &format!("/api/chat/messages/search?q={encoded}")).await;
        assert_eq!(status, 200, "q={q}: {found}");
        for text in texts(&found) {
            let text = text.to_lowercase();
            for term in q.split_whitespace() {
                let term = term.to_lowercase().replace('"', "");
                assert!(text.contains(&term), "q={q} matched {text:?}");
            }
        }
    }
    // Plain words with punctuation around them are still found.
    for (q, expected) in [("50%25", "50% off today"), ("snake_case", "snake_case naming"), ("OR", "say \"hi\" OR bye")]
    {
        let (_, found) = app.get(&alice, &format!("/api/chat/messages/search?q={q}")).await;
        assert!(texts(&found).iter().any(|t| t == expected), "q={q}: {found}");
    }
    assert!(app.is_healthy().await);
}

#[tokio::test]
async fn mute_and_archive_show_in_the_list_and_archived_ones_hide_until_asked_for() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let carol = TestUser::new("carol");
    app.touch(&bob).await;
    app.touch(&carol).await;
    let with_bob = app.send_to(&alice, &bob, "hi bob").await["conversationId"].as_str().unwrap().to_owned();
    let with_carol = app.send_to(&alice, &carol, "hi carol").await["conversationId"].as_str().unwrap().to_owned();

    let (status, muted) =
        app.post(&alice, &format!("/api/chat/conversations/{with_bob}/mute"), json!({ "muted": true })).await;
    assert_eq!(status, 200, "{muted}");
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    let entry = |list: &Value, id: &str| items(list).iter().find(|c| c["id"] == id).cloned();
    assert_eq!(entry(&list, &with_bob).map(|c| c["muted"].clone()), Some(json!(true)), "{list}");
    assert_eq!(entry(&list, &with_carol).map(|c| c["muted"].clone()), Some(json!(false)), "{list}");
    // My mute is mine only.
    let (_, peer) = app.get(&bob, &format!("/api/chat/conversations/{with_bob}")).await;
    assert_eq!(peer["muted"], false, "{peer}");

    let (status, _) =
        app.post(&alice, &format!("/api/chat/conversations/{with_carol}/archive"), json!({ "archived": true })).await;
    assert_eq!(status, 200);
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert!(entry(&list, &with_carol).is_none(), "archived shown by default: {list}");
    assert!(entry(&list, &with_bob).is_some(), "{list}");
    let (_, list) = app.get(&alice, "/api/chat/conversations?includeArchived=true").await;
    assert_eq!(entry(&list, &with_carol).map(|c| c["archived"].clone()), Some(json!(true)), "{list}");
    let (_, peer_list) = app.get(&carol, "/api/chat/conversations").await;
    assert!(entry(&peer_list, &with_carol).is_some_and(|c| c["archived"] == false), "{peer_list}");

    // Unarchiving and unmuting bring it back as it was.
    let (status, _) =
        app.post(&alice, &format!("/api/chat/conversations/{with_carol}/archive"), json!({ "archived": false })).await;
    assert_eq!(status, 200);
    let (status, _) =
        app.post(&alice, &format!("/api/chat/conversations/{with_bob}/mute"), json!({ "muted": false })).await;
    assert_eq!(status, 200);
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(items(&list).len(), 2, "{list}");
    assert!(items(&list).iter().all(|c| c["muted"] == false && c["archived"] == false), "{list}");

    // Not mine: not found.
    let eve = TestUser::new("eve");
    let (status, problem) =
        app.post(&eve, &format!("/api/chat/conversations/{with_bob}/mute"), json!({ "muted": true })).await;
    assert_problem("stranger mutes", status, &problem, 404, "chat.not_found");
    let (status, problem) = app.delete(&eve, &format!("/api/chat/conversations/{with_bob}")).await;
    assert_problem("stranger deletes", status, &problem, 404, "chat.not_found");
}

#[tokio::test]
async fn deleting_my_side_clears_my_history_until_the_next_message_but_not_the_peers() {
    let app = spawn_app().await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let old = app.send_to(&alice, &bob, "old news about zebras").await;
    app.send_to(&bob, &alice, "older reply").await;
    let conversation = old["conversationId"].as_str().unwrap().to_owned();

    let (status, body) = app.delete(&alice, &format!("/api/chat/conversations/{conversation}")).await;
    assert_eq!(status, 204, "{body}");

    // Gone for me: list, history, the message itself, search.
    let (_, list) = app.get(&alice, "/api/chat/conversations?includeArchived=true").await;
    assert_eq!(items(&list).len(), 0, "{list}");
    let (status, history) = app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert!(status == 404 || (status == 200 && items(&history).is_empty()), "{status} {history}");
    let (status, _) = app.get(&alice, &format!("/api/chat/messages/{}", id_of(&old))).await;
    assert_eq!(status, 404);
    let (_, found) = app.get(&alice, "/api/chat/messages/search?q=zebras").await;
    assert_eq!(items(&found).len(), 0, "{found}");

    // Still there for Bob.
    let (_, history) = app.get(&bob, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert_eq!(texts(&history), ["old news about zebras", "older reply"]);
    let (_, found) = app.get(&bob, "/api/chat/messages/search?q=zebras").await;
    assert_eq!(items(&found).len(), 1, "{found}");

    // Bob writes again: the conversation is back for me, with only the new message.
    app.send_to(&bob, &alice, "are you there?").await;
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(items(&list).len(), 1, "{list}");
    assert_eq!(items(&list)[0]["id"], conversation.as_str());
    assert_eq!(items(&list)[0]["unreadCount"], 1, "{list}");
    let (status, history) = app.get(&alice, &format!("/api/chat/conversations/{conversation}/messages")).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(texts(&history), ["are you there?"]);
    assert_eq!(items(&history)[0]["seq"], 3);
}

#[tokio::test]
async fn tenant_settings_can_forbid_deleting_conversations_and_messages() {
    let app = spawn_app().await;
    let tenant = Uuid::new_v4();
    let admin = TestUser::in_tenant("admin", tenant).admin();
    let alice = TestUser::in_tenant("alice", tenant);
    let bob = TestUser::in_tenant("bob", tenant);
    app.touch(&bob).await;

    // Only an administrator changes them; a refused change saves nothing.
    let (status, problem) =
        app.put(&alice, "/api/chat/settings", json!({ "tenant": { "deletingConversations": "disabled" } })).await;
    assert_problem("non-admin", status, &problem, 403, "chat.forbidden");
    let (_, settings) = app.get(&alice, "/api/chat/settings").await;
    assert_eq!(settings["tenant"]["deletingConversations"], "enabled", "{settings}");
    assert_eq!(settings["canManageTenant"], false, "{settings}");
    let (status, problem) =
        app.put(&admin, "/api/chat/settings", json!({ "tenant": { "messageDeletionPeriod": -1 } })).await;
    assert_problem("negative period", status, &problem, 400, "chat.validation");

    let message = app.send_to(&alice, &bob, "keep me").await;
    let id = id_of(&message);
    let conversation = message["conversationId"].as_str().unwrap().to_owned();

    // Deleting conversations disabled.
    let changed = set_tenant(&app, &admin, json!({ "deletingConversations": "disabled" })).await;
    assert_eq!(changed["tenant"]["deletingConversations"], "disabled");
    let (status, problem) = app.delete(&alice, &format!("/api/chat/conversations/{conversation}")).await;
    assert_problem("delete side", status, &problem, 403, "chat.forbidden");
    let (_, list) = app.get(&alice, "/api/chat/conversations").await;
    assert_eq!(items(&list).len(), 1, "{list}");

    // Deleting messages disabled.
    set_tenant(&app, &admin, json!({ "deletingMessages": "disabled" })).await;
    let (status, problem) = app.delete(&alice, &format!("/api/chat/messages/{id}?scope=everyone")).await;
    assert_problem("delete for everyone", status, &problem, 403, "chat.forbidden");
    let (_, still) = app.get(&bob, &format!("/api/chat/messages/{id}")).await;
    assert_eq!((&still["text"], &still["deleted"]), (&json!("keep me"), &json!(false)), "{still}");

    // Within a deletion period: allowed while it lasts; a period of 0 s has always passed by the time a
    // second request arrives.
    set_tenant(&app, &admin, json!({ "deletingMessages": "enabledWithDeletionPeriod", "messageDeletionPeriod": 0 }))
        .await;
    let (status, problem) = app.delete(&alice, &format!("/api/chat/messages/{id}?scope=everyone")).await;
    assert_problem("period passed", status, &problem, 403, "chat.forbidden");
    set_tenant(&app, &admin, json!({ "messageDeletionPeriod": 3600 })).await;
    let (status, body) = app.delete(&alice, &format!("/api/chat/messages/{id}?scope=everyone")).await;
    assert_eq!(status, 204, "{body}");
    let (_, gone) = app.get(&bob, &format!("/api/chat/messages/{id}")).await;
    assert_eq!(gone["deleted"], true, "{gone}");

    // The settings are the tenant's: another tenant keeps the defaults.
    let outsider = TestUser::in_tenant("outsider", Uuid::new_v4());
    let (_, theirs) = app.get(&outsider, "/api/chat/settings").await;
    assert_eq!(theirs["tenant"]["deletingConversations"], "enabled", "{theirs}");
    assert_eq!(theirs["tenant"]["deletingMessages"], "enabled", "{theirs}");
}

#[tokio::test]
async fn an_oversized_image_is_refused_and_nothing_is_kept() {
    let dir = temp_dir();
    let app = spawn_app_in(&dir, |_| {}).await;
    let alice = TestUser::new("alice");

    // Over the 10 MB image limit whichever megabyte is meant.
    let (status, problem) = app.upload(&alice, "huge.png", png(10 * 1024 * 1024 + 1)).await;
    assert!(status == 400 || status == 413, "{status} {problem}");
    assert_eq!(problem["status"], status, "{problem}");
    assert!(problem["code"] == "chat.validation" || problem["code"] == "chat.payload_too_large", "{problem}");

    // No bytes were left behind in the blob store.
    let blob_files = || {
        let mut stack = vec![dir.join("blobs")];
        let mut files = Vec::new();
        while let Some(path) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&path) else { continue };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                } else {
                    files.push(entry.path());
                }
            }
        }
        files
    };
    let files = blob_files();
    assert!(files.is_empty(), "a refused upload left files behind: {files:?}");

    // Just under the limit is fine, and its bytes land where the check above looked.
    let (status, uploaded) = app.upload(&alice, "big.png", png(10_000_000)).await;
    assert_eq!(status, 201, "{uploaded}");
    assert!(!blob_files().is_empty(), "an accepted upload stored nothing under {}", dir.join("blobs").display());
    app.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_removed_group_member_can_no_longer_download_the_groups_attachments() {
    let app = spawn_app().await;
    let owner = TestUser::new("owner");
    let ann = TestUser::new("ann");
    let ben = TestUser::new("ben");
    app.touch(&ann).await;
    app.touch(&ben).await;
    let (status, group) =
        app.post(&owner, "/api/chat/groups", json!({ "name": "Photos", "memberIds": [ann.id, ben.id] })).await;
    assert_eq!(status, 201, "{group}");
    let group = id_of(&group);

    let (status, uploaded) = app.upload(&owner, "team.png", png(4096)).await;
    assert_eq!(status, 201, "{uploaded}");
    let attachment = id_of(&uploaded);
    let (status, message) = app
        .post(
            &owner,
            "/api/chat/messages",
            json!({ "conversationId": group, "text": "team", "attachmentIds": [attachment] }),
        )
        .await;
    assert_eq!(status, 201, "{message}");

    let fetch =
        |user: &TestUser| app.req(reqwest::Method::GET, &format!("/api/chat/attachments/{attachment}"), user).send();
    assert_eq!(fetch(&ben).await.unwrap().status(), 200);

    let (status, _) = app.delete(&owner, &format!("/api/chat/groups/{group}/members/{}", ben.id)).await;
    assert_eq!(status, 204);
    let response = fetch(&ben).await.unwrap();
    assert_eq!(response.status(), 404);
    let problem: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(problem["code"], "chat.not_found", "{problem}");

    // A member who leaves loses access the same way; the others keep it.
    let (status, _) = app.post(&ann, &format!("/api/chat/groups/{group}/leave"), json!(null)).await;
    assert_eq!(status, 204);
    assert_eq!(fetch(&ann).await.unwrap().status(), 404);
    assert_eq!(fetch(&owner).await.unwrap().status(), 200);
}
