//! Security of the REST side: refused tokens, CORS, rate limits, markup kept as text, tokens kept out of
//! the logs. The socket side of the same guarantees is in the `realtime` binary's `security` module.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use chat_host::config::{AllowedOrigins, RateLimit};
use chat_tests::tokens::KeySetup;
use chat_tests::{TestSocket, TestUser, send, spawn_app_with, token_for};
use serde_json::{Value, json};

/// Texts that would run or mislead if a client rendered them as HTML or trusted them as plain words.
pub const HOSTILE_TEXTS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "</textarea><svg/onload=alert(1)>",
    "javascript:alert(document.cookie)",
    "{{constructor.constructor('alert(1)')()}}",
    "&lt;b&gt;not decoded&lt;/b&gt; &amp; &#x3C;",
    "\u{202E}gnp.exe (right-to-left override)",
    "\u{200B}zero\u{200C}width\u{200D}joiners\u{2060}\u{FEFF}",
    "👩\u{200D}👩\u{200D}👧\u{200D}👦 🏳\u{FE0F}\u{200D}🌈 👍🏽 🇫🇷",
    "e\u{0301} a\u{0308} Z\u{0335}\u{0336}\u{0337}",
    "bell\u{0007} escape\u{001B}[31m delete\u{007F} c1\u{0085}",
    "line\u{2028}separator\u{2029}paragraph\r\nwindows\ttab",
    "  padded on both sides  \n",
    "\\u003cscript\\u003e \" ' ` \\",
];

async fn unread_with(app: &chat_tests::TestApp, authorization: Option<&str>) -> reqwest::Response {
    let mut request = app.http.get(app.url("/api/chat/contacts/unread-count"));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

async fn assert_unauthorized(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/problem+json", "{case}");
    assert_eq!(headers["www-authenticate"], "Bearer", "{case}");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "chat.unauthorized", "{case}: {problem}");
    assert_eq!(problem["status"], 401, "{case}");
}

#[tokio::test]
async fn every_refused_token_gets_a_401_problem_document() {
    for setup in KeySetup::ALL {
        let app = spawn_app_with(|c| setup.configure(c)).await;
        let user = TestUser::new("alice");
        let valid = setup.valid_token(&user);
        let response = unread_with(&app, Some(&format!("Bearer {valid}"))).await;
        assert_eq!(response.status(), 200, "{setup:?}: the valid token was refused");

        for case in setup.refused_tokens(&user) {
            let response = unread_with(&app, Some(&format!("Bearer {}", case.token))).await;
            assert_unauthorized(response, &format!("{setup:?}: {}", case.name)).await;
        }
        // Credentials anywhere but the `Authorization: Bearer` header do not count.
        let token = &valid;
        for (case, header) in [
            ("no header", None),
            ("empty bearer", Some("Bearer ".to_owned())),
            ("scheme only", Some("Bearer".to_owned())),
            ("basic scheme", Some("Basic YWxpY2U6cHc=".to_owned())),
            ("token without scheme", Some(token.clone())),
        ] {
            assert_unauthorized(unread_with(&app, header.as_deref()).await, &format!("{setup:?}: {case}")).await;
        }
        for query in [format!("token={token}"), format!("access_token={token}")] {
            let response =
                app.http.get(app.url(&format!("/api/chat/contacts/unread-count?{query}"))).send().await.unwrap();
            assert_unauthorized(response, &format!("{setup:?}: token in the query string")).await;
        }
        assert!(app.is_healthy().await);
    }
}

#[tokio::test]
async fn cors_preflight_answers_listed_origins_only() {
    let app = spawn_app_with(|c| c.allowed_origins = AllowedOrigins::parse("https://app.example")).await;
    let preflight = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/api/chat/messages"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type")
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example");
    let methods = allowed.headers()["access-control-allow-methods"].to_str().unwrap().to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(headers.contains("authorization"), "{headers}");
    assert!(allowed.headers().get("access-control-allow-credentials").is_none(), "no cookies are ever needed");

    for foreign in ["https://evil.example", "https://app.example.evil.example", "null"] {
        let refused = preflight(foreign).await.unwrap();
        assert!(refused.headers().get("access-control-allow-origin").is_none(), "{foreign} was allowed");
    }

    // An actual call: the listed origin may read the answer (and `Retry-After`); a foreign one may not.
    let user = TestUser::new("alice");
    let call = |origin: &'static str| {
        app.http
            .get(app.url("/api/chat/contacts/unread-count"))
            .bearer_auth(token_for(&user))
            .header("origin", origin)
            .send()
    };
    let listed = call("https://app.example").await.unwrap();
    assert_eq!(listed.headers()["access-control-allow-origin"], "https://app.example");
    let exposed = listed.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
    let foreign = call("https://evil.example").await.unwrap();
    assert!(foreign.headers().get("access-control-allow-origin").is_none());

    // Same origin only (the default): no cross-origin reader at all.
    let default = spawn_app_with(|_| {}).await;
    let response = default
        .http
        .request(reqwest::Method::OPTIONS, default.url("/api/chat/messages"))
        .header("origin", "https://app.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

/// Admission control. With a write-queue limit of one microsecond, any write that would queue behind
/// another is refused once the writer has measured a batch, so a burst of concurrent sends over REST and a
/// socket gets some `503 chat.overloaded` answers (`Retry-After`, `retryAfterMs`; the acknowledgement error
/// on the socket). Refused sends store nothing: retried one at a time with the same `clientMessageId`, each
/// is stored exactly once, and the history holds every text once.
#[tokio::test]
async fn writes_past_the_write_queue_limit_get_503_with_retry_after_and_store_nothing() {
    const SOCKETS: usize = 24;
    let app = spawn_app_with(|c| {
        c.write_queue_limit = Some(Duration::from_micros(1));
        c.rate_limits.send = RateLimit::per_second(10_000, 10_000);
    })
    .await;
    if chat_host::config::is_memory_url(&chat_tests::test_config(std::path::Path::new(".")).database.url) {
        eprintln!("skipped: the in-memory store has no write queue");
        return;
    }
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    // Socket acknowledgements are awaited one at a time per socket (the test client's ack ids are random
    // within 0..999 and may collide), so the socket half runs over several sockets of Alice's. Opened at
    // once, those whose refresh of Alice is refused are told to come back; opened again, one at a time.
    let auth = json!({ "token": token_for(&alice) });
    let opened = futures_util::future::join_all((0..SOCKETS).map(|_| app.socket_with_auth(auth.clone()))).await;
    let mut sockets = Vec::with_capacity(SOCKETS);
    for socket in opened {
        match socket {
            Ok(socket) => sockets.push(socket),
            Err(refused) => {
                assert!(refused.contains("server overloaded; retry after"), "{refused}");
                sockets.push(app.socket(&alice).await);
            }
        }
    }
    let sends: Vec<(String, uuid::Uuid)> = (0..240).map(|i| (format!("burst {i}"), uuid::Uuid::new_v4())).collect();
    let body =
        |(text, key): &(String, uuid::Uuid)| json!({ "targetUserId": bob.id, "text": text, "clientMessageId": key });

    // Half over REST, all at once; half over the sockets, each socket sending its share in turn.
    let (rest, socket) = sends.split_at(sends.len() / 2);
    let rest_answers = futures_util::future::join_all(rest.iter().map(|send| {
        let request = app.req(reqwest::Method::POST, "/api/chat/messages", &alice).json(&body(send));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let problem: Value = response.json().await.unwrap();
            match status {
                201 => true,
                503 => {
                    assert_eq!(problem["code"], "chat.overloaded", "{problem}");
                    let ms = problem["retryAfterMs"].as_u64().unwrap_or_else(|| panic!("{problem}"));
                    assert!((100..=10_000).contains(&ms), "{problem}");
                    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
                    assert_eq!(seconds, ms.div_ceil(1000), "Retry-After is retryAfterMs rounded up");
                    false
                }
                other => panic!("unexpected {other}: {problem}"),
            }
        }
    }));
    let socket_answers = futures_util::future::join_all(sockets.iter().enumerate().map(|(n, s)| {
        let share: Vec<&(String, uuid::Uuid)> = socket.iter().skip(n).step_by(SOCKETS).collect();
        async move {
            let mut stored = Vec::new();
            for send in share {
                let ack = s.ack("message.send", body(send)).await;
                if ack["ok"] != true {
                    assert_eq!(ack["error"]["code"], "chat.overloaded", "{ack}");
                    let ms = ack["error"]["retryAfterMs"].as_u64().unwrap_or_else(|| panic!("no retryAfterMs: {ack}"));
                    assert!((100..=10_000).contains(&ms), "{ack}");
                }
                stored.push((send, ack["ok"] == true));
            }
            stored
        }
    }));
    let (rest_answers, socket_answers) = tokio::join!(rest_answers, socket_answers);
    let mut answers: Vec<(&(String, uuid::Uuid), bool)> = rest.iter().zip(rest_answers).collect();
    answers.extend(socket_answers.into_iter().flatten());
    assert_eq!(answers.len(), sends.len());
    let refused: Vec<&(String, uuid::Uuid)> =
        answers.iter().filter(|(_, stored)| !*stored).map(|(send, _)| *send).collect();
    let (over_rest, over_sockets) = answers.split_at(rest.len());
    for (half, answers) in [("REST", over_rest), ("sockets", over_sockets)] {
        assert!(answers.iter().any(|(_, stored)| !stored), "no send over {half} was refused");
    }

    // Operators see the refusals, and a 503 is not counted as an internal error.
    assert!(app.metric("chat_writes_refused_total").await >= refused.len() as u64);
    assert_eq!(app.metric("chat_errors_total").await, 0);

    // One at a time, the queue is empty when each arrives: every retry is admitted and stored once.
    for send in &refused {
        let (status, answer) = app.post(&alice, "/api/chat/messages", body(send)).await;
        assert_eq!(status, 201, "retry of {}: {answer}", send.0);
    }
    let (_, conversations) = app.get(&bob, "/api/chat/conversations").await;
    let id = conversations["items"][0]["id"].as_str().expect("the conversation").to_owned();
    let mut texts = Vec::new();
    let mut path = format!("/api/chat/conversations/{id}/messages?limit=100");
    loop {
        let (status, page) = app.get(&bob, &path).await;
        assert_eq!(status, 200, "{page}");
        texts.extend(page["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()));
        match page["nextCursor"].as_str() {
            Some(cursor) if page["hasMore"] == true => {
                path = format!("/api/chat/conversations/{id}/messages?limit=100&before={cursor}");
            }
            _ => break,
        }
    }
    texts.sort();
    let mut expected: Vec<String> = sends.iter().map(|(text, _)| text.clone()).collect();
    expected.sort();
    assert_eq!(texts, expected, "every send stored exactly once");
    for s in sockets {
        s.close().await;
    }
}

#[tokio::test]
async fn calls_past_the_rate_limit_get_429_with_retry_after_and_store_nothing() {
    let app = spawn_app_with(|c| {
        c.rate_limits.send = RateLimit { period: Duration::from_secs(60), burst: 3 };
        c.rate_limits.other = RateLimit { period: Duration::from_secs(60), burst: 5 };
    })
    .await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;

    // Sends: three fit the burst, the rest are refused until a token is earned back (a minute).
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = app
            .req(reqwest::Method::POST, "/api/chat/messages", &alice)
            .json(&json!({ "targetUserId": bob.id, "text": format!("m{i}"), "clientMessageId": uuid::Uuid::new_v4() }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        statuses.push(status);
        if status == 429 {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&retry_after), "Retry-After: {retry_after}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], "chat.rate_limited", "{problem}");
            assert_eq!(problem["status"], 429);
            let ms = problem["retryAfterMs"].as_u64().unwrap();
            assert!(ms > 0 && ms <= 60_000, "{problem}");
            assert_eq!(retry_after, ms.div_ceil(1000), "Retry-After is retryAfterMs rounded up");
        }
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429]);

    // Other calls: group creation past the burst is refused and creates nothing. (Alice's earlier calls
    // may have drawn from the same budget, so count what was answered rather than assume.)
    let mut created = 0;
    let mut refused = 0;
    for i in 0..7 {
        let (status, body) =
            app.post(&alice, "/api/chat/groups", json!({ "name": format!("g{i}"), "memberIds": [bob.id] })).await;
        match status {
            201 => created += 1,
            429 => {
                refused += 1;
                assert_eq!(body["code"], "chat.rate_limited");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused > 0, "no group creation was refused");

    // What was stored, read by Bob (four calls, within his own budget): exactly the admitted calls.
    let (status, conversations) = app.get(&bob, "/api/chat/conversations").await;
    assert_eq!(status, 200, "{conversations}");
    let items = conversations["items"].as_array().unwrap();
    let groups = items.iter().filter(|c| c["type"] == "group").count();
    assert_eq!(groups, created, "{conversations}");
    let direct = items.iter().find(|c| c["type"] == "direct").expect("the direct conversation");
    let (status, history) =
        app.get(&bob, &format!("/api/chat/conversations/{}/messages", direct["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "{history}");
    let mut texts: Vec<&str> = history["items"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["m0", "m1", "m2"]);
    let (_, unread) = app.get(&bob, "/api/chat/contacts/unread-count").await;
    assert_eq!(unread["count"], 3);
}

#[tokio::test]
async fn markup_and_unusual_unicode_are_stored_and_returned_byte_for_byte() {
    // More sends than the default burst, at once.
    let app = spawn_app_with(|c| c.rate_limits.send = RateLimit::per_second(100, 100)).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    app.touch(&bob).await;
    let mut conversation = String::new();
    for text in HOSTILE_TEXTS {
        let response = app
            .req(reqwest::Method::POST, "/api/chat/messages", &alice)
            .json(&json!({ "targetUserId": bob.id, "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{text:?}");
        assert_json_and_nosniff(&response);
        let message: Value = response.json().await.unwrap();
        assert_eq!(message["text"].as_str(), Some(*text), "the send answer changed {text:?}");
        conversation = message["conversationId"].as_str().unwrap().to_owned();

        let id = message["id"].as_str().unwrap();
        let response = app.req(reqwest::Method::GET, &format!("/api/chat/messages/{id}"), &bob).send().await.unwrap();
        assert_json_and_nosniff(&response);
        // Compare the raw bytes of the JSON string too: no HTML escaping (`\u003c`) of any kind.
        let raw = response.text().await.unwrap();
        let read: Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(read["text"].as_str(), Some(*text), "reading changed {text:?}");
        let encoded = serde_json::to_string(text).unwrap();
        assert!(raw.contains(&encoded), "{text:?} is not in the body as plain JSON: {raw}");
    }
    let (status, history) = app.get(&bob, &format!("/api/chat/conversations/{conversation}/messages?limit=100")).await;
    assert_eq!(status, 200);
    let mut texts: Vec<String> =
        history["items"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    let mut expected: Vec<String> = HOSTILE_TEXTS.iter().map(|t| (*t).to_owned()).collect();
    texts.sort();
    expected.sort();
    assert_eq!(texts, expected);

    // Every kind of answer says what it is and forbids sniffing: problems, the page, the socket transport.
    let problem = app.http.get(app.url("/api/chat/conversations")).send().await.unwrap();
    assert_eq!(problem.headers()["content-type"], "application/problem+json");
    assert_eq!(problem.headers()["x-content-type-options"], "nosniff");
    for path in ["/", "/js/app.js", "/health/live", "/socket.io/?EIO=4&transport=polling"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

fn assert_json_and_nosniff(response: &reqwest::Response) {
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
}

/// Follows the page's module graph from `/js/app.js` (every `from "./x.js"`), so a new script is checked too.
#[tokio::test]
async fn the_web_page_never_parses_strings_as_html() {
    let app = spawn_app_with(|_| {}).await;
    let page = app.http.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("/js/app.js"), "{page}");
    let mut queue = vec!["app.js".to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let response = app.http.get(app.url(&format!("/js/{name}"))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{name} is not served");
        let source = response.text().await.unwrap();
        for sink in
            ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc"]
        {
            assert!(!source.contains(sink), "{name} uses `{sink}`: user text must only reach the page as text");
        }
        for quote in ['"', '\''] {
            let marker = format!("{quote}./");
            for rest in source.split(marker.as_str()).skip(1) {
                if let Some(end) = rest.find(quote).filter(|end| rest[..*end].ends_with(".js")) {
                    queue.push(rest[..end].to_owned());
                }
            }
        }
    }
    assert!(seen.len() >= 5 && seen.contains("dom.js"), "the module graph was not followed: {seen:?}");
    // The page's own helper sets text, never markup.
    let dom = app.http.get(app.url("/js/dom.js")).send().await.unwrap().text().await.unwrap();
    assert!(dom.contains("textContent") && dom.contains("createTextNode"));
}

thread_local! {
    /// Whether this thread's log events are captured (see [`capture_this_thread`]).
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// What the capturing threads logged.
static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct CapturedWriter;

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs, once, a global subscriber that logs everything at `trace` (as `RUST_LOG=trace` would) through
/// the server's own filter for transport details, but only for threads that asked for it; returns `false`
/// when another global subscriber is already installed (`TEST_LOG`).
///
/// Global rather than scoped: a scoped subscriber races with the other tests' threads registering the same
/// callsites, and then misses events now and then.
fn capture_this_thread() -> bool {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter, fmt};

    static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let installed = *INSTALLED.get_or_init(|| {
        tracing_subscriber::registry()
            .with(
                fmt::layer()
                    .with_ansi(false)
                    .with_writer(|| CapturedWriter)
                    .with_filter(filter::LevelFilter::TRACE)
                    .with_filter(chat_host::telemetry::transport_details_filter())
                    // Decided per event (a thread's choice), never cached per callsite.
                    .with_filter(filter::dynamic_filter_fn(|_, _| CAPTURING.with(std::cell::Cell::get))),
            )
            .try_init()
            .is_ok()
    });
    CAPTURING.with(|c| c.set(installed));
    installed
}

/// Current-thread runtime (the default of `tokio::test`): the server's tasks run on this thread, so
/// everything they log is captured.
#[tokio::test]
async fn tokens_never_reach_the_logs() {
    if !capture_this_thread() {
        println!("skipped: another log subscriber is installed (TEST_LOG is set)");
        return;
    }
    CAPTURED.lock().unwrap().clear();

    let app = spawn_app_with(|_| {}).await;
    let alice = TestUser::new("alice");
    let bob = TestUser::new("bob");
    let token = token_for(&alice);
    let bad = format!("{token}x");
    app.touch(&bob).await;
    // REST: the header, a bad token, and tokens in the query string (which are not credentials).
    let (status, _) = send(app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(&token)).await;
    assert_eq!(status, 200);
    let (status, _) = send(app.http.get(app.url("/api/chat/contacts/unread-count")).bearer_auth(&bad)).await;
    assert_eq!(status, 401);
    let query = format!("/api/chat/contacts/unread-count?token={token}&access_token={token}");
    let (status, _) = send(app.http.get(app.url(&query))).await;
    assert_eq!(status, 401);
    app.send_to(&alice, &bob, "hello").await;
    // Sockets: `auth.token` on both transports, the `Authorization` header, a refused token.
    for transport in [rust_socketio::TransportType::Websocket, rust_socketio::TransportType::Polling] {
        let socket = TestSocket::connect_over(transport, &app.base, json!({ "token": token }), &[]).await.unwrap();
        let ack = socket.ack("session.refresh", json!({ "token": token })).await;
        assert_eq!(ack["ok"], true, "{ack}");
        socket.close().await;
    }
    let header = format!("Bearer {token}");
    let socket = TestSocket::connect_with_headers(&app.base, json!({}), &[("Authorization", &header)]).await.unwrap();
    socket.close().await;
    assert!(TestSocket::connect(&app.base, json!({ "token": bad }), None).await.is_err());
    app.stop().await;

    CAPTURING.with(|c| c.set(false));
    let logs = String::from_utf8(CAPTURED.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("request") && logs.contains("chat server ready"), "nothing was captured: {logs}");
    // A token's signature is what makes it a credential: no part of it may appear.
    let mut parts = token.split('.').skip(1);
    let (claims, signature) = (parts.next().unwrap(), parts.next().unwrap());
    assert!(!logs.contains(signature), "a token's signature reached the logs");
    assert!(!logs.contains(claims), "a token's claims reached the logs");
}
