//! Load for the reliability tests: users in direct and group conversations, Socket.IO clients that send
//! with acknowledgements and retry with the same `clientMessageId`, reconnect with `auth.afterEventSeq`
//! and log everything to a [`History`]; then the database read back through the REST API as
//! [`Observed`] for the checker.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use rust_socketio::Payload;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot, watch};
use tokio::time::Instant;
use uuid::Uuid;

use crate::history::{Entry, History, Observed, Received, SideObservation, StoredMessage};
use crate::{TestUser, payload_value, token_for};

/// How long one acknowledgement may take before the attempt counts as failed and is retried.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one message may keep being retried before the client gives up on it.
const SEND_DEADLINE: Duration = Duration::from_secs(120);

/// The size of a run.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Users, one socket each.
    pub sockets: usize,
    /// Conversations: half direct, half groups.
    pub conversations: usize,
    /// Messages in total.
    pub messages: usize,
}

impl LoadConfig {
    /// 50 sockets, 20 conversations and `messages` messages, unless `CHAT_RELIABILITY_MESSAGES` /
    /// `CHAT_RELIABILITY_SOCKETS` say otherwise (for long manual runs).
    pub fn from_env(messages: usize) -> Self {
        let var = |name: &str, default: usize| {
            std::env::var(name).ok().and_then(|v| v.parse::<usize>().ok()).filter(|v| *v > 0).unwrap_or(default)
        };
        Self {
            sockets: var("CHAT_RELIABILITY_SOCKETS", 50).max(4),
            conversations: 20,
            messages: var("CHAT_RELIABILITY_MESSAGES", messages),
        }
    }
}

/// One message a client will send.
#[derive(Debug, Clone)]
pub struct PlannedSend {
    /// The conversation.
    pub conversation: Uuid,
    /// The text.
    pub text: String,
    /// The idempotency key (reused on every retry).
    pub client_message_id: String,
}

/// The users and conversations of a run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The users (client `i` is user `i`).
    pub users: Vec<TestUser>,
    /// Each conversation and the indexes of its members.
    pub conversations: Vec<(Uuid, Vec<usize>)>,
}

impl Scenario {
    /// Creates the users, half of the conversations as direct pairs and half as groups (every user is in
    /// one group), through the REST API of the server at `base`.
    pub async fn create(http: &reqwest::Client, base: &str, config: &LoadConfig) -> Scenario {
        let users: Vec<TestUser> = (0..config.sockets).map(|i| TestUser::new(&format!("load{i}"))).collect();
        let touches = users
            .iter()
            .map(|user| call(http, base, user, reqwest::Method::GET, "/api/chat/contacts/unread-count", None));
        for (status, body) in futures_util::future::join_all(touches).await {
            assert_eq!(status, 200, "{body}");
        }
        let directs = config.conversations / 2;
        let groups = (config.conversations - directs).max(1);
        let mut conversations = Vec::new();
        for d in 0..directs {
            let (a, b) = ((2 * d) % users.len(), (2 * d + 1) % users.len());
            let (status, body) = call(
                http,
                base,
                &users[a],
                reqwest::Method::POST,
                "/api/chat/conversations",
                Some(json!({ "targetUserId": users[b].id })),
            )
            .await;
            assert!(status == 200 || status == 201, "{status} {body}");
            conversations.push((uuid_of(&body["id"]), vec![a, b]));
        }
        for g in 0..groups {
            let members: Vec<usize> = (0..users.len()).filter(|u| u % groups == g).collect();
            let others: Vec<Uuid> = members[1..].iter().map(|m| users[*m].id).collect();
            let (status, body) = call(
                http,
                base,
                &users[members[0]],
                reqwest::Method::POST,
                "/api/chat/groups",
                Some(json!({ "name": format!("load group {g}"), "memberIds": others })),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            conversations.push((uuid_of(&body["id"]), members));
        }
        Scenario { users, conversations }
    }

    /// `messages` sends spread evenly over the users, each to one of its conversations in turn; returns
    /// each user's list.
    pub fn plan(&self, messages: usize) -> Vec<Vec<PlannedSend>> {
        let mut of_user: Vec<Vec<Uuid>> = vec![Vec::new(); self.users.len()];
        for (conversation, members) in &self.conversations {
            for m in members {
                of_user[*m].push(*conversation);
            }
        }
        let mut plan = vec![Vec::new(); self.users.len()];
        for k in 0..messages {
            let user = k % self.users.len();
            let round = k / self.users.len();
            let conversation = of_user[user][round % of_user[user].len()];
            plan[user].push(PlannedSend {
                conversation,
                text: format!("message {k} from {user}"),
                client_message_id: format!("c{user}-m{k}"),
            });
        }
        plan
    }

    /// Reads every conversation's messages and every member's side back through the REST API.
    pub async fn observe(&self, http: &reqwest::Client, base: &str) -> Observed {
        let mut observed = Observed {
            clients: self.users.iter().enumerate().map(|(i, u)| (i, u.id)).collect(),
            ..Observed::default()
        };
        for (conversation, members) in &self.conversations {
            observed.members.insert(*conversation, members.iter().map(|m| self.users[*m].id).collect::<BTreeSet<_>>());
            let reader = &self.users[members[0]];
            let mut after = 0_i64;
            loop {
                let path = format!("/api/chat/conversations/{conversation}/messages?after={after}&limit=100");
                let (status, page) = call(http, base, reader, reqwest::Method::GET, &path, None).await;
                assert_eq!(status, 200, "{page}");
                for m in page["items"].as_array().into_iter().flatten() {
                    let seq = m["seq"].as_i64().unwrap_or(0);
                    after = after.max(seq);
                    observed.stored.push(StoredMessage {
                        id: uuid_of(&m["id"]),
                        conversation: uuid_of(&m["conversationId"]),
                        seq,
                        sender: uuid_of(&m["senderId"]),
                        client_message_id: m["clientMessageId"].as_str().map(str::to_owned),
                        deleted: m["deleted"].as_bool().unwrap_or(false),
                    });
                }
                if page["hasMore"] != true {
                    break;
                }
            }
            for m in members {
                let user = &self.users[*m];
                let path = format!("/api/chat/conversations/{conversation}");
                let (status, side) = call(http, base, user, reqwest::Method::GET, &path, None).await;
                assert_eq!(status, 200, "{side}");
                observed.sides.push(SideObservation {
                    user: user.id,
                    conversation: *conversation,
                    unread_count: side["unreadCount"].as_i64().unwrap_or(-1),
                    read_seq: side["readSeq"].as_i64().unwrap_or(-1),
                });
            }
        }
        observed
    }

    /// Each client's expected messages: every stored message of its user's conversations.
    pub fn expected_per_client(&self, observed: &Observed) -> Vec<HashSet<Uuid>> {
        let mut of_conversation: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for m in &observed.stored {
            of_conversation.entry(m.conversation).or_default().push(m.id);
        }
        let mut expected = vec![HashSet::new(); self.users.len()];
        for (conversation, members) in &self.conversations {
            for m in members {
                expected[*m].extend(of_conversation.get(conversation).into_iter().flatten().copied());
            }
        }
        expected
    }

    /// Members of each conversation, as user ids.
    pub fn members(&self) -> BTreeMap<Uuid, BTreeSet<Uuid>> {
        self.conversations
            .iter()
            .map(|(c, members)| (*c, members.iter().map(|m| self.users[*m].id).collect()))
            .collect()
    }
}

/// A REST call as `user`; a `429` is retried (at most 50 times) after the time the server asks for.
/// Returns status and body.
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    user: &TestUser,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    for _ in 0..50 {
        let mut request = http.request(method.clone(), format!("{base}{path}")).bearer_auth(token_for(user));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let (status, value) = crate::send(request).await;
        if status == 429 {
            let wait = value["retryAfterMs"].as_u64().unwrap_or(200);
            tokio::time::sleep(Duration::from_millis(wait.max(10))).await;
            continue;
        }
        return (status, value);
    }
    panic!("{method} {path} was still rate-limited after 50 tries");
}

fn uuid_of(value: &Value) -> Uuid {
    value.as_str().and_then(|s| Uuid::parse_str(s).ok()).unwrap_or_else(|| panic!("not a UUID: {value}"))
}

/// Where clients connect, and a counter the test bumps each time the server was restarted (clients then
/// reconnect, as Socket.IO clients do when their transport closes).
#[derive(Debug, Clone)]
pub struct Target {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The server's incarnation.
    pub generation: watch::Receiver<u64>,
}

/// What a client's receive callback shares with the client.
#[derive(Default)]
struct Shared {
    /// The position to resume from: the highest `eventSeq` applied (-1 before the first `ready`).
    position: AtomicI64,
    received: std::sync::Mutex<ReceivedState>,
    notify: Notify,
}

#[derive(Default)]
struct ReceivedState {
    ids: HashSet<Uuid>,
    /// The newest message seen per conversation (for read receipts).
    latest: HashMap<Uuid, (Uuid, i64)>,
}

/// A Socket.IO client of the load: one user, one socket at a time.
pub struct LoadClient {
    index: usize,
    user: TestUser,
    history: Arc<History>,
    shared: Arc<Shared>,
    client: Option<Client>,
    generation: u64,
    connections: u32,
    /// Messages this client acknowledged (shared progress counter of the run).
    progress: Arc<AtomicUsize>,
}

impl LoadClient {
    /// A client for user `index` of the scenario, not yet connected.
    pub fn new(index: usize, user: TestUser, history: Arc<History>, progress: Arc<AtomicUsize>) -> Self {
        let shared = Arc::new(Shared { position: AtomicI64::new(-1), ..Shared::default() });
        Self { index, user, history, shared, client: None, generation: 0, connections: 0, progress }
    }

    /// Connects (with `auth.afterEventSeq` once a position is known) and waits for `ready`.
    pub async fn connect(&mut self, base: &str) -> Result<(), String> {
        self.connect_with(base, true).await
    }

    /// Connects, resuming from the client's position with `auth.afterEventSeq` when `resume` is set and a
    /// position is known, and waits for `ready`.
    pub async fn connect_with(&mut self, base: &str, resume: bool) -> Result<(), String> {
        if let Some(old) = self.client.take() {
            let _ = old.disconnect().await;
        }
        let connection = self.connections;
        self.connections += 1;
        let mut auth = json!({ "token": token_for(&self.user) });
        let position = self.shared.position.load(Ordering::SeqCst);
        if resume && position >= 0 {
            auth["afterEventSeq"] = json!(position);
        }
        let fresh = position < 0;
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        let ready_tx = Arc::new(std::sync::Mutex::new(Some(ready_tx)));
        let (shared, history, index) = (self.shared.clone(), self.history.clone(), self.index);
        // Events before `ready` may be replayed and live ones interleaved: the position moves to their
        // highest `eventSeq` only once `ready` says the replay is complete.
        let is_ready = Arc::new(AtomicBool::new(false));
        let pending_max = Arc::new(AtomicI64::new(-1));
        let builder = ClientBuilder::new(base.to_owned()).namespace("/").auth(auth).reconnect(false).on_any(
            move |event, payload, _| {
                let (shared, history, ready_tx) = (shared.clone(), history.clone(), ready_tx.clone());
                let (is_ready, pending_max) = (is_ready.clone(), pending_max.clone());
                async move {
                    let name = String::from(event);
                    let value = payload_value(payload);
                    if name == "ready" {
                        let event_seq = value["eventSeq"].as_i64().unwrap_or(0);
                        history.push(Entry::Ready { client: index, connection, event_seq });
                        // A client's first position is where its first `ready` says the stream stands.
                        let start = if fresh { event_seq } else { -1 };
                        shared.position.fetch_max(pending_max.load(Ordering::SeqCst).max(start), Ordering::SeqCst);
                        is_ready.store(true, Ordering::SeqCst);
                        if let Some(tx) = ready_tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                            let _ = tx.send(());
                        }
                        return;
                    }
                    let received = Received::from_envelope(index, connection, &name, &value);
                    if let Some(event_seq) = received.event_seq {
                        if is_ready.load(Ordering::SeqCst) {
                            shared.position.fetch_max(event_seq, Ordering::SeqCst);
                        } else {
                            pending_max.fetch_max(event_seq, Ordering::SeqCst);
                        }
                    }
                    if let (true, Some(id), Some(conversation), Some(seq)) =
                        (name == "message.created", received.message_id, received.conversation, received.seq)
                    {
                        let mut state = shared.received.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        state.ids.insert(id);
                        let latest = state.latest.entry(conversation).or_insert((id, seq));
                        if seq > latest.1 {
                            *latest = (id, seq);
                        }
                    }
                    history.push(Entry::Received(received));
                    shared.notify.notify_waiters();
                }
                .boxed()
            },
        );
        let client = builder.connect().await.map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(5), ready_rx).await {
            Ok(Ok(())) => {
                self.client = Some(client);
                Ok(())
            }
            _ => {
                let _ = client.disconnect().await;
                Err("no ready".to_owned())
            }
        }
    }

    /// Connects to the target's current server, retrying until `deadline` (the server may be restarting).
    async fn ensure_connected(&mut self, target: &mut Target, deadline: Instant) -> bool {
        loop {
            let generation = *target.generation.borrow_and_update();
            if self.client.is_some() && self.generation == generation {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            match self.connect(&target.base).await {
                Ok(()) => {
                    self.generation = generation;
                    return true;
                }
                // The server is down: try again when it is announced back, or shortly.
                Err(_) => {
                    let _ = tokio::time::timeout(Duration::from_millis(200), target.generation.changed()).await;
                }
            }
        }
    }

    /// Emits an event and waits for its acknowledgement.
    async fn ack(&self, event: &str, data: Value) -> Result<Value, String> {
        let client = self.client.as_ref().ok_or("not connected")?;
        let (tx, rx) = oneshot::channel::<Value>();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        client
            .emit_with_ack(event, Payload::Text(vec![data]), ACK_TIMEOUT, move |p: Payload, _| {
                let tx = tx.clone();
                async move {
                    if let Some(tx) = tx.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                        let _ = tx.send(payload_value(p));
                    }
                }
                .boxed()
            })
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(ACK_TIMEOUT, rx).await {
            Ok(Ok(Value::Array(mut args))) if !args.is_empty() => Ok(args.remove(0)),
            Ok(Ok(other)) => Ok(other),
            _ => Err("no acknowledgement".to_owned()),
        }
    }

    /// Sends every planned message, each until it is acknowledged: rate-limited attempts wait as told,
    /// failed ones are retried with the same `clientMessageId` (after reconnecting when the transport is
    /// gone). Every few messages it also marks a conversation read.
    pub async fn send_all(&mut self, plan: &[PlannedSend], target: &mut Target) {
        for (n, send) in plan.iter().enumerate() {
            let deadline = Instant::now() + SEND_DEADLINE;
            loop {
                if !self.ensure_connected(target, deadline).await {
                    self.failed(&send.client_message_id, "gave up: cannot connect");
                    break;
                }
                self.history.push(Entry::SendInvoked {
                    client: self.index,
                    user: self.user.id,
                    conversation: send.conversation,
                    client_message_id: send.client_message_id.clone(),
                });
                let body = json!({
                    "conversationId": send.conversation,
                    "text": send.text,
                    "clientMessageId": send.client_message_id,
                });
                // A restart announced while waiting means the transport is gone: no need to wait the timeout.
                let outcome = tokio::select! {
                    outcome = self.ack("message.send", body) => outcome,
                    _ = target.generation.changed() => Err("the server restarted".to_owned()),
                };
                match outcome {
                    Ok(ack) if ack["ok"] == true => {
                        let data = &ack["data"];
                        self.history.push(Entry::SendAcked {
                            client: self.index,
                            user: self.user.id,
                            conversation: uuid_of(&data["conversationId"]),
                            client_message_id: send.client_message_id.clone(),
                            message_id: uuid_of(&data["id"]),
                            seq: data["seq"].as_i64().unwrap_or(0),
                        });
                        self.progress.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    Ok(ack) => {
                        let error = &ack["error"];
                        self.failed(&send.client_message_id, &error.to_string());
                        // Told to wait by the rate limiter: honour it; any other refusal: retry shortly.
                        let wait = error["retryAfterMs"].as_u64().unwrap_or(50);
                        tokio::time::sleep(Duration::from_millis(wait.max(10))).await;
                    }
                    Err(reason) => {
                        self.failed(&send.client_message_id, &reason);
                        // The transport is gone or the server stalled: reconnect before the retry.
                        if let Some(old) = self.client.take() {
                            let _ = old.disconnect().await;
                        }
                    }
                }
                if Instant::now() >= deadline {
                    self.failed(&send.client_message_id, "gave up: deadline");
                    break;
                }
            }
            if n % 5 == 4 {
                self.mark_latest_read(send.conversation).await;
            }
        }
    }

    fn failed(&self, client_message_id: &str, reason: &str) {
        self.history.push(Entry::SendFailed {
            client: self.index,
            client_message_id: client_message_id.to_owned(),
            reason: reason.to_owned(),
        });
    }

    /// Marks `conversation` read up to the newest message this client received in it (if any).
    async fn mark_latest_read(&self, conversation: Uuid) {
        let latest = self
            .shared
            .received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .latest
            .get(&conversation)
            .copied();
        let Some((message, seq)) = latest else { return };
        let body = json!({ "conversationId": conversation, "upToMessageId": message });
        if let Ok(ack) = self.ack("conversation.read", body).await
            && ack["ok"] == true
        {
            self.history.push(Entry::ReadAcked {
                client: self.index,
                user: self.user.id,
                conversation,
                up_to_seq: seq,
            });
        }
    }

    /// Waits until this client received every message of `expected`; if that does not happen within half
    /// of `timeout` (its socket may belong to a server that was killed), reconnects with
    /// `auth.afterEventSeq` once and waits for the rest. Returns whether it has them all.
    pub async fn catch_up(&mut self, expected: &HashSet<Uuid>, target: &mut Target, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        if !self.ensure_connected(target, deadline).await {
            return false;
        }
        if self.wait_for(expected, Instant::now() + timeout / 2).await {
            return true;
        }
        if self.connect(&target.base).await.is_err() {
            return false;
        }
        self.wait_for(expected, deadline).await
    }

    async fn wait_for(&self, expected: &HashSet<Uuid>, deadline: Instant) -> bool {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.shared.received.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if expected.iter().all(|id| state.ids.contains(id)) {
                    return true;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// The position the client would resume from (the highest `eventSeq` applied).
    pub fn position(&self) -> i64 {
        self.shared.position.load(Ordering::SeqCst)
    }

    /// How many connections this client opened so far.
    pub fn connections(&self) -> u32 {
        self.connections
    }

    /// Waits until this client received every message of `expected`, or `timeout` passes.
    pub async fn received_all(&self, expected: &HashSet<Uuid>, timeout: Duration) -> bool {
        self.wait_for(expected, Instant::now() + timeout).await
    }

    /// Emits `event` and returns its acknowledgement (for `sync` and friends).
    pub async fn request(&self, event: &str, data: Value) -> Result<Value, String> {
        self.ack(event, data).await
    }

    /// Forgets the socket (after the server was stopped, the transport is gone).
    pub async fn close(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.disconnect().await;
        }
    }
}

/// A whole run against one server address: scenario, clients sending their plans concurrently, and the
/// test's own actions (kills, restarts) alongside.
pub struct LoadRun {
    /// The users and conversations.
    pub scenario: Scenario,
    /// Everything the clients did and saw.
    pub history: Arc<History>,
    /// Acknowledged messages so far.
    pub progress: Arc<AtomicUsize>,
    clients: Vec<LoadClient>,
    plan: Vec<Vec<PlannedSend>>,
}

impl LoadRun {
    /// Creates the scenario on the server at `base` and connects every client.
    pub async fn prepare(http: &reqwest::Client, base: &str, config: &LoadConfig) -> LoadRun {
        let scenario = Scenario::create(http, base, config).await;
        let plan = scenario.plan(config.messages);
        let history = Arc::new(History::new());
        let progress = Arc::new(AtomicUsize::new(0));
        let connects = scenario.users.iter().enumerate().map(|(i, user)| {
            let mut client = LoadClient::new(i, user.clone(), history.clone(), progress.clone());
            async move {
                // Fifty handshakes at once on a loaded machine: a refused one is tried again.
                let mut tries = 0;
                while let Err(e) = client.connect(base).await {
                    tries += 1;
                    assert!(tries < 5, "client {i} could not connect: {e}");
                }
                client
            }
        });
        let clients = futures_util::future::join_all(connects).await;
        LoadRun { scenario, history, progress, clients, plan }
    }

    /// Runs every client's plan concurrently to the end; returns the clients for the catch-up.
    pub async fn send(&mut self, target: &Target) {
        let mut tasks = Vec::new();
        for (client, plan) in self.clients.drain(..).zip(self.plan.iter().cloned()) {
            let mut target = target.clone();
            tasks.push(tokio::spawn(async move {
                let mut client = client;
                client.send_all(&plan, &mut target).await;
                client
            }));
        }
        for task in tasks {
            self.clients.push(task.await.expect("a load client panicked"));
        }
    }

    /// Reads the database back, waits for every client to have every message (reconnecting stale
    /// sockets), and returns what the checker needs.
    pub async fn finish(&mut self, http: &reqwest::Client, target: &Target) -> Observed {
        let observed = self.scenario.observe(http, &target.base).await;
        let expected = self.scenario.expected_per_client(&observed);
        let mut tasks = Vec::new();
        for (client, expected) in self.clients.drain(..).zip(expected) {
            let mut target = target.clone();
            tasks.push(tokio::spawn(async move {
                let mut client = client;
                client.catch_up(&expected, &mut target, Duration::from_secs(30)).await;
                client
            }));
        }
        for task in tasks {
            self.clients.push(task.await.expect("a load client panicked"));
        }
        observed
    }

    /// Closes every client.
    pub async fn close(&mut self) {
        for client in &mut self.clients {
            client.close().await;
        }
    }
}
