//! Security of the socket side: refused tokens and foreign origins on both transports, sockets closed when
//! their token expires, rate-limited events, markup delivered byte for byte.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_host::config::{AllowedOrigins, RateLimit};
use chat_tests::tokens::KeySetup;
use chat_tests::{TestSocket, TestUser, claims_for, sign, spawn_app_with, token_for};
use rust_socketio::TransportType;
use serde_json::json;

/// The two transports, each on its own (no upgrade), with a name for failure messages.
const TRANSPORTS: [(&str, TransportType); 2] =
    [("websocket", TransportType::Websocket), ("polling", TransportType::Polling)];

/// The whole table over WebSocket, in `auth.token` and in the `Authorization` header; over long-polling
/// (the same connect middleware, but each refused polling client takes about 0.3 s to wind down), a
/// sample: each setup's own last case (another key type, key confusion, a wrong audience) and, for the
/// HS256 setup, a forged signature and `alg: none`.
#[tokio::test]
async fn every_refused_token_is_refused_at_the_handshake_on_both_transports() {
    for setup in KeySetup::ALL {
        let app = spawn_app_with(|c| setup.configure(c)).await;
        let user = TestUser::new("alice");
        let cases = setup.refused_tokens(&user);
        for (transport_name, transport) in TRANSPORTS {
            let socket = TestSocket::connect_over(
                transport.clone(),
                &app.base,
                json!({ "token": setup.valid_token(&user) }),
                &[],
            )
            .await
            .unwrap_or_else(|e| panic!("{setup:?} over {transport_name}: the valid token was refused: {e}"));
            socket.close().await;
            let polling = matches!(transport, TransportType::Polling);
            let last = cases[cases.len() - 1].name;
            let sample: &[&str] = match setup {
                KeySetup::Secret => &["signature replaced", "alg none, unsigned", last],
                _ => &[last],
            };
            for case in cases.iter().filter(|c| !polling || sample.contains(&c.name)) {
                let header = format!("Bearer {}", case.token);
                for (place, auth, headers) in [
                    ("auth.token", json!({ "token": case.token }), vec![]),
                    ("header", json!({}), vec![("Authorization", header.as_str())]),
                ] {
                    if polling && place == "header" {
                        continue;
                    }
                    let name = format!("{setup:?} over {transport_name}, in the {place}: {}", case.name);
                    let result = TestSocket::connect_over(transport.clone(), &app.base, auth, &headers).await;
                    let error = result.err().unwrap_or_else(|| panic!("{name}: the socket was accepted"));
                    assert!(error.contains("unauthorized"), "{name}: {error}");
                }
            }
        }
        assert!(app.is_healthy().await);
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_on_both_transports_and_listed_ones_accepted() {
    let app = spawn_app_with(|c| c.allowed_origins = AllowedOrigins::parse("https://app.example")).await;
    let alice = TestUser::new("alice");
    let auth = json!({ "token": token_for(&alice) });
    for (transport_name, transport) in TRANSPORTS {
        for origin in ["https://evil.example", "https://app.example.evil.example", "http://app.example", "null"] {
            let refused =
                TestSocket::connect_over(transport.clone(), &app.base, auth.clone(), &[("Origin", origin)]).await;
            assert!(refused.is_err(), "{transport_name}: {origin} opened a socket");
        }
        for origin in [Some("https://app.example"), Some(app.base.as_str()), None] {
            let headers: Vec<(&str, &str)> = origin.map(|o| ("Origin", o)).into_iter().collect();
            let socket = TestSocket::connect_over(transport.clone(), &app.base, auth.clone(), &headers)
                .await
                .unwrap_or_else(|e| panic!("{transport_name}: {origin:?} was refused: {e}"));
            socket.close().await;
        }
    }

    // Hijacking a session opened without an Origin: every later request of the transport is checked too.
    let handshake = app.http.get(app.url("/socket.io/?EIO=4&transport=polling")).send().await.unwrap();
    assert_eq!(handshake.status(), 200);
    let body = handshake.text().await.unwrap();
    let open: serde_json::Value = serde_json::from_str(body.trim_start_matches('0')).unwrap();
    let sid = open["sid"].as_str().unwrap();
    let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
    let hijack = app.http.get(app.url(&path)).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(hijack.status(), 403);
    let upgrade = app
        .http
        .get(app.url(&format!("/socket.io/?EIO=4&transport=websocket&sid={sid}")))
        .header("origin", "https://evil.example")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(upgrade.status(), 403);
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn a_socket_is_closed_when_its_token_expires_and_catches_up_after_reconnecting() {
    let app = spawn_app_with(|_| {}).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    // `exp` 27 s ago: still accepted (30 s of clock skew are tolerated) for about 3 more seconds.
    let mut claims = claims_for(&alice);
    let exp = unix_now() - 27;
    claims["exp"] = json!(exp);
    let valid_until = UNIX_EPOCH + Duration::from_secs(u64::try_from(exp + 30).unwrap());
    let mut short = app.socket_with_auth(json!({ "token": sign(&claims) })).await.unwrap();
    let mut long = app.socket(&alice).await;
    let seen = short.ready["eventSeq"].as_i64().unwrap();

    let notice = short.next("session.expired").await;
    assert!(SystemTime::now() + Duration::from_millis(50) >= valid_until, "closed before the token expired");
    assert_eq!(notice["reason"], "token_expired", "{notice}");
    assert!(notice["expiredAt"].is_string(), "{notice}");
    short.next("close").await;

    // Sent after the expiry: the live socket receives it, the expired one does not.
    let message = app.send_to(&bob, &alice, "after expiry").await;
    let created = long.next("message.created").await;
    assert_eq!(created["data"]["id"], message["id"]);
    assert!(short.try_next("message.created", Duration::from_millis(300)).await.is_none());
    short.close().await;

    // Reconnecting with a fresh token and the last position seen catches up.
    let mut again = app.socket_with_auth(json!({ "token": token_for(&alice), "afterEventSeq": seen })).await.unwrap();
    let replayed = again.next("message.created").await;
    assert_eq!(replayed["data"]["id"], message["id"]);
    again.close().await;
    long.close().await;
}

#[tokio::test]
async fn a_live_socket_keeps_going_with_a_refreshed_token() {
    let app = spawn_app_with(|_| {}).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let mut claims = claims_for(&alice);
    let exp = unix_now() - 27;
    claims["exp"] = json!(exp);
    let first_deadline = UNIX_EPOCH + Duration::from_secs(u64::try_from(exp + 30).unwrap());
    let mut socket = app.socket_with_auth(json!({ "token": sign(&claims) })).await.unwrap();

    // Refused refreshes leave the expiry as it was.
    for (payload, code) in [
        (json!({}), "chat.validation"),
        (json!({ "token": 42 }), "chat.validation"),
        (json!({ "token": "garbage" }), "chat.unauthorized"),
        (json!({ "token": token_for(&bob) }), "chat.forbidden"),
    ] {
        let ack = socket.ack("session.refresh", payload.clone()).await;
        assert_eq!(ack["ok"], false, "{payload}: {ack}");
        assert_eq!(ack["error"]["code"], code, "{payload}: {ack}");
    }
    let ack = socket.ack("session.refresh", json!({ "token": token_for(&alice) })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    let expires_at: chrono::DateTime<chrono::Utc> = ack["data"]["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(expires_at > chrono::Utc::now() + chrono::Duration::minutes(59), "{ack}");

    // Past the first token's expiry, the socket is still open and receives events.
    let wait = first_deadline.duration_since(SystemTime::now()).unwrap_or_default() + Duration::from_millis(500);
    tokio::time::sleep(wait).await;
    let message = app.send_to(&bob, &alice, "still here").await;
    let created = socket.next("message.created").await;
    assert_eq!(created["data"]["id"], message["id"]);
    assert!(socket.try_next("session.expired", Duration::ZERO).await.is_none());
    assert!(socket.try_next("close", Duration::ZERO).await.is_none());
    let ack = socket.ack("sync", json!({ "afterEventSeq": 0 })).await;
    assert_eq!(ack["ok"], true, "{ack}");
    socket.close().await;
}

#[tokio::test]
async fn socket_events_past_the_rate_limit_get_an_error_ack_and_store_nothing() {
    let app = spawn_app_with(|c| c.rate_limits.send = RateLimit { period: Duration::from_secs(60), burst: 2 }).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let socket = app.socket(&alice).await;
    let mut oks = 0;
    for i in 0..5 {
        let ack = socket
            .ack(
                "message.send",
                json!({ "targetUserId": bob.id, "text": format!("s{i}"), "clientMessageId": uuid::Uuid::new_v4() }),
            )
            .await;
        if ack["ok"] == true {
            oks += 1;
            continue;
        }
        assert_eq!(ack["error"]["code"], "chat.rate_limited", "{ack}");
        let retry = ack["error"]["retryAfterMs"].as_u64().unwrap_or_else(|| panic!("no retryAfterMs: {ack}"));
        assert!(retry > 0 && retry <= 60_000, "{ack}");
    }
    assert_eq!(oks, 2);
    // Typing: one per 3 s by default.
    let conversation = {
        let (_, page) = app.get(&bob, "/api/chat/conversations").await;
        page["items"][0]["id"].as_str().unwrap().to_owned()
    };
    let first = socket.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(first["ok"], true, "{first}");
    let second = socket.ack("typing", json!({ "conversationId": conversation, "isTyping": true })).await;
    assert_eq!(second["error"]["code"], "chat.rate_limited", "{second}");

    let (_, history) = app.get(&bob, &format!("/api/chat/conversations/{conversation}/messages")).await;
    let texts: Vec<&str> = history["items"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.len(), 2, "{history}");
    socket.close().await;
}

#[tokio::test]
async fn markup_reaches_sockets_byte_for_byte() {
    let texts = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "\u{202E}gnp.exe",
        "👩\u{200D}👩\u{200D}👧\u{200D}👦 👍🏽",
        "bell\u{0007} esc\u{001B}[31m\u{2028}\u{FEFF}",
        "  padded  \n",
    ];
    let app = spawn_app_with(|_| {}).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let sender = app.socket(&alice).await;
    let mut receiver = app.socket(&bob).await;
    for text in texts {
        let ack = sender.ack("message.send", json!({ "targetUserId": bob.id, "text": text })).await;
        assert_eq!(ack["ok"], true, "{ack}");
        assert_eq!(ack["data"]["text"].as_str(), Some(text), "the acknowledgement changed {text:?}");
        let event = receiver.next("message.created").await;
        assert_eq!(event["data"]["text"].as_str(), Some(text), "the event changed {text:?}");
    }
    sender.close().await;
    receiver.close().await;
}
