//! The application, served on 127.0.0.1:0 and driven as a browser would: its own login, the chat's REST
//! API under `/chat` with the session cookie, and a Socket.IO client at `/chat/socket.io`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::Payload;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::app::{self, ChatStorage};

const WAIT: Duration = Duration::from_secs(10);

/// The application on a free port, over a fresh SQLite file in a directory the caller removes.
async fn spawn() -> (String, Arc<Accounts>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("embedded-app-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("chat.db").display());
    let accounts = Arc::new(Accounts::seeded(Uuid::new_v4(), crate::PEOPLE));
    let router = app::build(accounts.clone(), ChatStorage::Database(url)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, accounts, dir)
}

/// Logs in through the application's own form; returns the `Cookie` header value.
async fn log_in(http: &reqwest::Client, base: &str, login: &str) -> String {
    let response = http
        .post(format!("{base}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("login={login}&password=secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let set_cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    set_cookie.split(';').next().unwrap().to_owned()
}

async fn call(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// A Socket.IO client on the chat's path, presenting `cookie` (if any) on the handshake. Returns the
/// client and its events, once `ready` arrived, or the connect error.
async fn socket(base: &str, cookie: Option<&str>) -> Result<(Client, mpsc::UnboundedReceiver<(String, Value)>), Value> {
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
    let (any, err) = (tx.clone(), tx);
    let mut builder = ClientBuilder::new(format!("{base}/chat/socket.io/"))
        .reconnect(false)
        .on_any(move |event, payload, _| {
            let tx = any.clone();
            async move {
                let _ = tx.send((String::from(event), first(payload)));
            }
            .boxed()
        })
        .on("error", move |payload, _| {
            let tx = err.clone();
            async move {
                let _ = tx.send(("error".to_owned(), first(payload)));
            }
            .boxed()
        });
    if let Some(cookie) = cookie {
        builder = builder.opening_header("Cookie", cookie);
    }
    let client = builder.connect().await.unwrap();
    // `connect()` returns before the namespace CONNECT (or CONNECT_ERROR) arrives.
    loop {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some((name, _))) if name == "ready" => return Ok((client, rx)),
            Ok(Some((name, value))) if name == "error" => {
                let _ = client.disconnect().await;
                return Err(value);
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("neither ready nor a connect error in time"),
        }
    }
}

fn first(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if !values.is_empty() => values.remove(0),
        _ => Value::Null,
    }
}

/// Waits for the next event named `name`.
async fn next(events: &mut mpsc::UnboundedReceiver<(String, Value)>, name: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some((n, v))) if n == name => return v,
            Ok(Some(_)) => {}
            _ => panic!("no `{name}` event in time"),
        }
    }
}

#[tokio::test]
async fn the_chat_runs_inside_the_application_with_its_login_users_and_store() {
    let (base, accounts, dir) = spawn().await;
    let http = reqwest::Client::new();

    // The application's own routes work, with or without a session.
    let (status, home) = call(http.get(format!("{base}/"))).await;
    assert_eq!(status, 200);
    assert!(home.as_str().unwrap_or_default().contains("Acme intranet"));
    assert_eq!(call(http.get(format!("{base}/me"))).await.0, 401);

    // Without the application's session the chat refuses, REST and sockets alike.
    let (status, problem) = call(http.get(format!("{base}/chat/conversations"))).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("chat.unauthorized")));
    let (status, _) = call(http.get(format!("{base}/chat/conversations")).header("cookie", "sid=forged")).await;
    assert_eq!(status, 401);
    assert!(socket(&base, None).await.is_err(), "a socket without a session is refused at connect");
    assert!(socket(&base, Some("sid=forged")).await.is_err(), "and so is a forged session");

    // Logged in through the application, the same cookie opens the chat.
    let alice = log_in(&http, &base, "alice").await;
    let bob = log_in(&http, &base, "bob").await;
    let (status, me) = call(http.get(format!("{base}/me")).header("cookie", &alice)).await;
    assert_eq!((status, me["login"].as_str()), (200, Some("alice")));
    let (bob_socket, mut bob_events) = socket(&base, Some(&bob)).await.unwrap();

    // Alice writes to Bob; Bob's socket gets it in real time.
    let bob_id = accounts.by_login("bob").unwrap().id;
    let (status, sent) = call(
        http.post(format!("{base}/chat/messages"))
            .header("cookie", &alice)
            .json(&json!({ "targetUserId": bob_id, "text": "lunch at noon?" })),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    let created = next(&mut bob_events, "message.created").await;
    assert_eq!(
        (created["data"]["id"].clone(), created["data"]["text"].as_str()),
        (sent["id"].clone(), Some("lunch at noon?"))
    );
    let (status, unread) = call(http.get(format!("{base}/chat/contacts/unread-count")).header("cookie", &bob)).await;
    assert_eq!((status, unread["count"].as_i64()), (200, Some(1)));

    // Carol never opened the chat: the application's user directory introduces her.
    let carol_id = accounts.by_login("carol").unwrap().id;
    let (status, opened) = call(
        http.post(format!("{base}/chat/conversations"))
            .header("cookie", &alice)
            .json(&json!({ "targetUserId": carol_id })),
    )
    .await;
    assert!(status == 200 || status == 201, "{status} {opened}");
    let (status, direct) =
        call(http.get(format!("{base}/chat/users/{carol_id}/conversation")).header("cookie", &alice)).await;
    assert_eq!(status, 200, "{direct}");
    assert_eq!(direct["targetUser"]["name"], "Carol Danvers");

    // Logging out of the application closes the chat to that cookie too.
    let (status, _) = call(http.post(format!("{base}/logout")).header("cookie", &alice)).await;
    assert_eq!(status, 204);
    assert_eq!(call(http.get(format!("{base}/chat/conversations")).header("cookie", &alice)).await.0, 401);
    let _ = bob_socket.disconnect().await;
    let _ = std::fs::remove_dir_all(dir);
}
