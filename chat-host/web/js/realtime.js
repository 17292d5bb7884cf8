// The real-time side: the Socket.IO connection, catching up after a reconnect (by eventSeq), and
// applying each server event to the page's state. Events already seen (same eventSeq) are dropped, and a
// hole in the eventSeqs that is still there a few seconds later is filled with `sync` (docs/events.md).

import { SocketIoClient } from "./socket.js";
import { ApiError } from "./api.js";
import { $ } from "./dom.js";
import { TYPING_SHOW_MS, api, conversationVisible, isMine, live, noteConversationUsers, state, toast, viewOf } from "./state.js";
import { renderConversationList } from "./sidebar.js";
import { closeConversation, markRead, openConversation, renderHeader, renderMessages, renderTyping } from "./conversation.js";
import { upsertMessage } from "./composer.js";
import { showGroupPanel } from "./dialogs.js";
import { loadContacts, loadConversations, saveAuth } from "./app.js";

export function connectSocket() {
  live.socket?.close();
  live.socket = new SocketIoClient({
    auth: () => {
      const auth = { token: state.auth?.token };
      if (state.lastEventSeq !== null) auth.afterEventSeq = state.lastEventSeq;
      return auth;
    },
    onEvent: onSocketEvent,
    onState: onSocketState,
  });
  live.socket.open();
}

let retryTicker = null;

function onSocketState(s, detail) {
  state.connection = s;
  clearInterval(retryTicker);
  const pill = $("#conn");
  pill.dataset.state = s;
  const label = $("#conn-label");
  const banner = $("#conn-banner");
  const text = {
    connecting: "Connecting…",
    connected: "Online",
    error: "Refused",
    closed: "Offline",
  };
  if (s === "waiting") {
    const tick = () => {
      const secs = Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000));
      label.textContent = secs > 0 ? `Reconnecting in ${secs}s` : "Reconnecting…";
    };
    tick();
    retryTicker = setInterval(tick, 500);
  } else {
    label.textContent = text[s] || s;
  }
  if (s === "error") {
    toast(`Real-time connection refused: ${detail?.message ?? "unknown reason"}`, "error");
    // A refused handshake usually means the token is no longer valid; a REST call tells for sure
    // (and signs out on 401).
    api.settings().catch(() => {});
  }
  banner.hidden = s === "connected" || s === "connecting" || s === "closed";
  banner.textContent = s === "connected" ? "" : "Connection lost. Messages will be sent when it is back.";
}

function onSocketEvent(name, payload, ack) {
  if (ack) ack({ ok: true });
  if (name === "ready") {
    onReady(payload?.data && payload.type ? payload.data : payload);
    return;
  }
  if (name === "resync.required") {
    // Our position is older than what the server keeps: reload what the page shows.
    resync().then(() => {
      if (typeof payload?.eventSeq === "number") {
        state.eventFloor = Math.max(state.eventFloor ?? 0, payload.eventSeq);
        state.lastEventSeq = Math.max(state.lastEventSeq ?? 0, payload.eventSeq);
      }
    });
    return;
  }
  let data = payload;
  let seq = null;
  if (payload && typeof payload === "object" && "type" in payload && "data" in payload) {
    data = payload.data;
    seq = typeof payload.eventSeq === "number" ? payload.eventSeq : null;
  }
  if (!acceptEventSeq(seq)) return;
  dispatch(name, data);
}

/** Records an event's position; false when it was already seen (a replay, or a relayed repeat). */
function acceptEventSeq(seq) {
  if (seq === null || seq === undefined) return true;
  if (state.seenEventSeqs.has(seq)) return false;
  if (state.eventFloor !== null && seq <= state.eventFloor) return false;
  if (state.lastEventSeq !== null && seq > state.lastEventSeq + 1) noteGap();
  state.seenEventSeqs.add(seq);
  if (state.seenEventSeqs.size > 2000) {
    // Keep the set bounded: forget the oldest positions, raising the floor to match.
    const sorted = [...state.seenEventSeqs].sort((a, b) => a - b);
    for (const old of sorted.slice(0, 1000)) state.seenEventSeqs.delete(old);
    state.eventFloor = Math.max(state.eventFloor ?? 0, sorted[999]);
  }
  if (state.lastEventSeq === null || seq > state.lastEventSeq) state.lastEventSeq = seq;
  return true;
}

// How long a hole in the eventSeqs may stay before we ask for it: in a cluster, an event whose node died
// before publishing it arrives through another node's relay about 4.5 s after it was recorded.
const GAP_WAIT_MS = 6000;
let gapTimer = null;

function noteGap() {
  if (gapTimer !== null) return;
  gapTimer = setTimeout(() => {
    gapTimer = null;
    const upTo = contiguousEventSeq();
    if (upTo !== null && state.lastEventSeq !== null && upTo < state.lastEventSeq) catchUp(upTo);
  }, GAP_WAIT_MS);
}

/** The highest position up to which every event has been applied (null before the first `ready`). */
function contiguousEventSeq() {
  let n = state.eventFloor;
  if (n === null || n === undefined) return null;
  while (state.seenEventSeqs.has(n + 1)) n += 1;
  return n;
}

async function onReady(ready) {
  if (ready?.userId && state.auth && ready.userId !== state.auth.userId) {
    state.auth.userId = ready.userId;
    saveAuth(state.auth);
  }
  if (Array.isArray(ready?.presence)) {
    // The contacts online right now; later changes arrive as `presence` events.
    state.presence.clear();
    for (const p of ready.presence) if (p?.userId) state.presence.set(p.userId, !!p.online);
    renderConversationList();
  }
  const seq = typeof ready?.eventSeq === "number" ? ready.eventSeq : null;
  const reconnect = state.everConnected;
  state.everConnected = true;
  if (!reconnect || state.lastEventSeq === null) {
    // First connection of this page: everything up to here is in what we load over REST.
    state.eventFloor = seq;
    state.lastEventSeq = seq;
    acknowledgeDelivery();
    return;
  }
  // Reconnected: ask for what we missed. The server may also replay it because of
  // auth.afterEventSeq; duplicates are dropped by their eventSeq.
  await catchUp();
}

/**
 * Tells the server this device has received what arrived while the page was closed: the latest
 * message of each conversation beyond our delivered watermark (the server moves the watermark up to it).
 */
export function acknowledgeDelivery() {
  if (!live.socket?.connected) return;
  const ids = [];
  for (const c of state.conversations.values()) {
    const m = c.lastMessage;
    if (m && !m.deleted && !isMine(m) && (m.seq ?? 0) > (c.deliveredSeq ?? 0)) {
      ids.push(m.id);
      c.deliveredSeq = m.seq;
    }
  }
  if (ids.length) live.socket.emit("message.delivered", { messageIds: ids });
}

async function catchUp(from = null) {
  let after = from ?? state.lastEventSeq ?? 0;
  for (let round = 0; round < 50 && live.socket?.connected; round += 1) {
    let res;
    try {
      res = await live.socket.request("sync", { afterEventSeq: after });
    } catch {
      return;
    }
    if (!res?.ok) {
      // No sync support: reload what the page shows.
      await resync();
      return;
    }
    const result = res.data ?? {};
    if (result.resyncRequired) {
      await resync();
      if (typeof result.eventSeq === "number") {
        state.eventFloor = result.eventSeq;
        state.lastEventSeq = result.eventSeq;
      }
      return;
    }
    for (const env of result.events ?? []) {
      if (acceptEventSeq(env.eventSeq ?? null)) dispatch(env.type, env.data);
      if (typeof env.eventSeq === "number") after = Math.max(after, env.eventSeq);
    }
    if (!result.hasMore || !(result.events ?? []).length) return;
  }
}

async function resync() {
  await loadConversations().catch(() => {});
  if (state.openId) {
    state.views.delete(state.openId);
    await openConversation(state.openId, { keepComposer: true });
  }
}

function dispatch(type, data) {
  if (!data) return;
  switch (type) {
    case "message.created":
      onMessageCreated(data);
      break;
    case "message.updated":
      onMessageUpdated(data);
      break;
    case "message.deleted":
      onMessageDeleted(data);
      break;
    case "message.reaction":
      onReaction(data);
      break;
    case "message.delivered":
    case "message.read":
      onReceipt(type === "message.read" ? "read" : "delivered", data);
      break;
    case "conversation.updated":
      onConversationUpdated(data);
      break;
    case "conversation.deleted":
      removeConversation(data.conversationId ?? data.id);
      break;
    case "group.updated":
      onGroupUpdated(data);
      break;
    case "group.member_added":
    case "group.member_updated":
    case "group.member_removed":
      onMembership(type, data);
      break;
    case "typing":
      onTyping(data);
      break;
    case "presence":
      onPresence(data);
      break;
    default:
      break;
  }
}

export function onMessageCreated(m) {
  const view = state.views.get(m.conversationId);
  if (view?.loaded) upsertMessage(view, m);
  const c = state.conversations.get(m.conversationId);
  if (!c) {
    // A conversation we have not seen yet (first message to us, or we were added to a group).
    fetchConversation(m.conversationId);
  } else {
    const newer = !c.lastMessage || (m.seq ?? 0) >= (c.lastMessage.seq ?? 0);
    if (newer) {
      c.lastMessage = m;
      c.lastMessageSide = isMine(m) ? "send" : "receive";
      c.lastMessageDate = m.createdAt;
      c.lastActivityAt = m.createdAt;
    }
    if (!isMine(m) && !conversationVisible(m.conversationId) && (m.seq ?? 0) > (c.readSeq ?? 0)) {
      c.unreadCount = (c.unreadCount ?? 0) + 1;
    }
    if (c.archived && !isMine(m) && !c.muted) c.archived = false;
  }
  if (!isMine(m)) {
    stopTyping(m.conversationId, m.senderId);
    live.socket?.emit("message.delivered", { messageIds: [m.id] });
    if (conversationVisible(m.conversationId)) markRead(m.conversationId);
  }
  renderConversationList();
  if (state.openId === m.conversationId) renderMessages({ stickToBottom: isMine(m) });
}

export function onMessageUpdated(m) {
  const view = state.views.get(m.conversationId);
  if (view?.messages.has(m.id)) {
    const prev = view.messages.get(m.id);
    view.messages.set(m.id, { ...prev, ...m, reactions: keepMyReactions(prev.reactions, m.reactions), pending: false, failed: false });
  }
  const c = state.conversations.get(m.conversationId);
  if (c?.lastMessage?.id === m.id) c.lastMessage = { ...c.lastMessage, ...m };
  renderConversationList();
  if (state.openId === m.conversationId) renderMessages();
}

/**
 * Event payloads carry one message for every recipient, so their `reactions[].me` cannot say whether
 * *we* reacted: keep what we knew.
 */
export function keepMyReactions(before, after) {
  if (!Array.isArray(after)) return before;
  const mine = new Set((before || []).filter((r) => r.me).map((r) => r.emoji));
  return after.map((r) => ({ ...r, me: r.me || mine.has(r.emoji) }));
}

export function onMessageDeleted(d) {
  const id = d.messageId;
  const view = state.views.get(d.conversationId);
  const scope = String(d.scope || "everyone").toLowerCase();
  if (view?.messages.has(id)) {
    if (scope === "me") view.messages.delete(id);
    else view.messages.set(id, { ...view.messages.get(id), deleted: true, text: null, attachments: [], reactions: [] });
  }
  const c = state.conversations.get(d.conversationId);
  if (c?.lastMessage?.id === id) {
    c.lastMessage = scope === "me" ? null : { ...c.lastMessage, deleted: true, text: null };
  }
  renderConversationList();
  if (state.openId === d.conversationId) renderMessages();
}

export function onReaction(r) {
  const view = state.views.get(r.conversationId);
  const m = view?.messages.get(r.messageId);
  if (!m) return;
  const reactions = (m.reactions || []).map((x) => ({ ...x }));
  let entry = reactions.find((x) => x.emoji === r.emoji);
  if (!entry) {
    entry = { emoji: r.emoji, count: 0, me: false };
    reactions.push(entry);
  }
  const mine = r.userId === state.auth?.userId;
  if (mine) {
    // Our own reaction may already be applied from the REST answer: only change on a real change.
    if (entry.me !== r.added) {
      entry.me = r.added;
      entry.count += r.added ? 1 : -1;
    }
  } else {
    entry.count += r.added ? 1 : -1;
  }
  m.reactions = reactions.filter((x) => x.count > 0);
  if (state.openId === r.conversationId) renderMessages();
}

function onReceipt(kind, d) {
  const c = state.conversations.get(d.conversationId);
  if (d.userId === state.auth?.userId) {
    // Another device (or this one) of ours read the conversation.
    if (kind === "read" && c) {
      c.readSeq = Math.max(c.readSeq ?? 0, d.upToSeq ?? 0);
      if (!c.lastMessage || (c.lastMessage.seq ?? 0) <= c.readSeq) c.unreadCount = 0;
      renderConversationList();
    }
    return;
  }
  const view = viewOf(d.conversationId);
  const map = kind === "read" ? view.read : view.delivered;
  map.set(d.userId, Math.max(map.get(d.userId) ?? 0, d.upToSeq ?? 0));
  if (kind === "read") view.delivered.set(d.userId, Math.max(view.delivered.get(d.userId) ?? 0, d.upToSeq ?? 0));
  if (state.openId === d.conversationId) renderMessages();
  renderConversationList();
}

function onConversationUpdated(d) {
  const id = d.id ?? d.conversationId;
  if (!id) return;
  const prev = state.conversations.get(id);
  if (!d.type) {
    // A notification without the conversation itself: fetch the caller's current view of it.
    fetchConversation(id);
    return;
  }
  const next = { ...(prev || {}), ...d, id };
  if (next.archived && !state.showArchived && state.openId !== id) state.conversations.delete(id);
  else state.conversations.set(id, next);
  if (conversationVisible(id) && next.unreadCount > 0) markRead(id);
  renderConversationList();
  if (state.openId === id) renderHeader();
}

export function onGroupUpdated(g) {
  const id = g.id ?? g.groupId ?? g.conversationId;
  const c = state.conversations.get(id);
  if (c) {
    if (g.name) c.name = g.name;
    if (typeof g.memberCount === "number") c.memberCount = g.memberCount;
    c.description = g.description ?? c.description;
    c.ownerId = g.ownerId ?? c.ownerId;
  }
  renderConversationList();
  if (state.openId === id) {
    renderHeader();
    if (!$("#panel").hidden) showGroupPanel();
  }
}

function onMembership(type, d) {
  const id = d.groupId ?? d.conversationId ?? d.id;
  const userIds = d.userIds ?? (d.userId ? [d.userId] : []);
  const me = state.auth?.userId;
  if (type === "group.member_removed" && userIds.includes(me)) {
    removeConversation(id);
    toast("You are no longer a member of a group.");
    return;
  }
  if (type === "group.member_added" && userIds.includes(me) && !state.conversations.has(id)) {
    fetchConversation(id);
    return;
  }
  const view = state.views.get(id);
  if (view) view.members = null;
  const c = state.conversations.get(id);
  if (c) fetchConversation(id);
  if (state.openId === id && !$("#panel").hidden) showGroupPanel();
}

function onTyping(d) {
  if (d.userId === state.auth?.userId) return;
  if (d.isTyping) {
    let map = state.typing.get(d.conversationId);
    if (!map) {
      map = new Map();
      state.typing.set(d.conversationId, map);
    }
    clearTimeout(map.get(d.userId));
    map.set(d.userId, setTimeout(() => stopTyping(d.conversationId, d.userId), TYPING_SHOW_MS));
  } else {
    stopTyping(d.conversationId, d.userId);
    return;
  }
  renderTyping();
  renderConversationList();
}

function stopTyping(conversationId, userId) {
  const map = state.typing.get(conversationId);
  if (!map?.has(userId)) return;
  clearTimeout(map.get(userId));
  map.delete(userId);
  renderTyping();
  renderConversationList();
}

function onPresence(d) {
  if (!d.userId) return;
  state.presence.set(d.userId, !!d.online);
  renderConversationList();
  if (state.openId) renderHeader();
}

// One fetch per conversation at a time; a request made meanwhile fetches once more afterwards
// (a burst of events about one conversation costs two calls, not one per event).
const fetching = new Map();

export function fetchConversation(id) {
  const running = fetching.get(id);
  if (running) {
    running.again = true;
    return running.promise;
  }
  const entry = { again: false, promise: null };
  entry.promise = (async () => {
    try {
      do {
        entry.again = false;
        await fetchConversationNow(id);
      } while (entry.again);
    } finally {
      fetching.delete(id);
    }
  })();
  fetching.set(id, entry);
  return entry.promise;
}

async function fetchConversationNow(id) {
  try {
    const c = await api.conversation(id);
    if (!c) return;
    noteConversationUsers(c);
    const prev = state.conversations.get(id);
    state.conversations.set(id, { ...(prev || {}), ...c });
    if (conversationVisible(id) && c.unreadCount > 0) markRead(id);
    if (c.type === "direct" && c.targetUserId && !state.users.get(c.targetUserId)?.name) {
      loadContacts().catch(() => {});
    }
    renderConversationList();
    if (state.openId === id) renderHeader();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) removeConversation(id);
  }
}

export function removeConversation(id) {
  state.conversations.delete(id);
  state.views.delete(id);
  if (state.openId === id) closeConversation();
  renderConversationList();
}
