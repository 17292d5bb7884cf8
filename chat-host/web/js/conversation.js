// The open conversation: history paged backwards while scrolling up, grouped by day, read receipts
// (ticks), the typing line, attachments, and marking the conversation read while it is visible.

import { itemsOf } from "./api.js";
import { $, dayKey, dayLabel, formatSize, formatTime, h, hueFor, icon, setChildren } from "./dom.js";
import { PAGE_SIZE, api, avatar, conversationTitle, conversationVisible, isMine, live, rememberUser, state, toast, userLabel, viewOf } from "./state.js";
import { fetchConversation } from "./realtime.js";
import { renderConversationList } from "./sidebar.js";
import { messageMenu, react, resetComposer, retrySend } from "./composer.js";

export function conversationIdFromHash() {
  const m = /^#\/c\/([0-9a-fA-F-]{36})$/.exec(location.hash);
  return m ? m[1] : null;
}

export async function openConversation(id, { keepComposer = false } = {}) {
  const changed = state.openId !== id;
  state.openId = id;
  if (location.hash !== `#/c/${id}`) history.replaceState(null, "", `#/c/${id}`);
  document.body.classList.add("show-chat");
  $("#chat-empty").hidden = true;
  $("#chat-view").hidden = false;
  if (changed && !keepComposer) resetComposer();
  if (changed) $("#panel").hidden = true;
  if (!state.conversations.has(id)) await fetchConversation(id);
  if (state.openId !== id) return;
  if (!state.conversations.has(id)) {
    toast("That conversation is not available.", "error");
    closeConversation();
    return;
  }
  renderConversationList();
  renderHeader();
  renderTyping();
  const view = viewOf(id);
  if (!view.loaded) {
    renderMessages();
    await loadOlder(id);
    loadReceipts(id);
    const c = state.conversations.get(id);
    if (c?.type === "group") loadMembers(id);
  } else {
    renderMessages({ stickToBottom: true });
  }
  markRead(id);
  if (window.matchMedia("(min-width: 721px)").matches) $("#composer-input").focus();
}

export function closeConversation() {
  state.openId = null;
  history.replaceState(null, "", location.pathname);
  document.body.classList.remove("show-chat");
  $("#chat-view").hidden = true;
  $("#chat-empty").hidden = false;
  $("#panel").hidden = true;
  resetComposer();
  renderConversationList();
}

export async function loadOlder(id) {
  const view = viewOf(id);
  if (view.loading || (view.loaded && !view.hasMore)) return;
  view.loading = true;
  renderHistoryStatus();
  const box = $("#messages");
  const fromBottom = box.scrollHeight - box.scrollTop;
  let first = false;
  try {
    const page = await api.history(id, view.loaded ? view.nextCursor : undefined, PAGE_SIZE);
    for (const m of itemsOf(page)) if (!view.messages.has(m.id)) view.messages.set(m.id, m);
    view.hasMore = !!page?.hasMore && !!page?.nextCursor;
    view.nextCursor = page?.nextCursor ?? null;
    first = !view.loaded;
    view.loaded = true;
  } catch (err) {
    toast(`Could not load messages: ${err.message}`, "error");
    return;
  } finally {
    view.loading = false;
    if (state.openId === id) renderHistoryStatus();
  }
  if (state.openId !== id) return;
  renderMessages({ stickToBottom: first });
  if (!first) box.scrollTop = box.scrollHeight - fromBottom;
  // Fill the screen: if what we have does not overflow, fetch the next page too.
  if (view.hasMore && box.scrollHeight <= box.clientHeight + 40) await loadOlder(id);
}

/** Initial tick state for our own messages: who has received/read our latest message. */
async function loadReceipts(id) {
  const view = viewOf(id);
  const mine = [...view.messages.values()].filter((m) => isMine(m) && !m.pending && !m.deleted).sort((a, b) => b.seq - a.seq)[0];
  if (!mine) return;
  try {
    const r = await api.receipts(mine.id);
    for (const member of r?.members ?? []) {
      if (member.userId === state.auth?.userId) continue;
      if (member.readAt) view.read.set(member.userId, Math.max(view.read.get(member.userId) ?? 0, mine.seq));
      if (member.deliveredAt || member.readAt) view.delivered.set(member.userId, Math.max(view.delivered.get(member.userId) ?? 0, mine.seq));
    }
    if (state.openId === id) renderMessages();
  } catch {
    // Receipts are a nicety: without them ticks start at "sent" and update from events.
  }
}

// Group members' names are fetched once per group when a name is missing (e.g. a new group's sender).
const membersRequested = new Set();

export function ensureMembers(id) {
  if (membersRequested.has(id)) return;
  membersRequested.add(id);
  api
    .members(id)
    .then((page) => {
      for (const m of itemsOf(page)) rememberUser(m.userId, { userName: m.userName, name: m.name });
      renderConversationList();
      if (state.openId === id) renderMessages();
    })
    .catch(() => {});
}

export async function loadMembers(id) {
  const view = viewOf(id);
  try {
    const members = itemsOf(await api.members(id));
    view.members = members;
    for (const m of members) rememberUser(m.userId, { userName: m.userName, name: m.name });
    if (state.openId === id) {
      renderMessages();
      renderHeader();
    }
    return members;
  } catch (err) {
    toast(`Could not load members: ${err.message}`, "error");
    return [];
  }
}

export function markRead(id) {
  if (!conversationVisible(id)) return;
  const c = state.conversations.get(id);
  const view = state.views.get(id);
  const latestOther = view
    ? [...view.messages.values()].filter((m) => !isMine(m) && !m.pending).reduce((best, m) => (!best || m.seq > best.seq ? m : best), null)
    : null;
  const latestSeq = Math.max(latestOther?.seq ?? 0, c?.lastMessage && !isMine(c.lastMessage) ? c.lastMessage.seq ?? 0 : 0);
  const unread = c?.unreadCount ?? 0;
  if (!unread && latestSeq <= Math.max(view?.readSent ?? 0, c?.readSeq ?? 0)) return;
  if (view) view.readSent = Math.max(view.readSent, latestSeq);
  if (c) {
    c.unreadCount = 0;
    c.readSeq = Math.max(c.readSeq ?? 0, latestSeq);
  }
  const body = { conversationId: id };
  if (latestOther) body.upToMessageId = latestOther.id;
  const viaRest = () => api.markRead(id, body.upToMessageId).catch(() => {});
  if (live.socket?.connected) {
    live.socket.request("conversation.read", body).then((res) => {
      if (!res?.ok) viaRest();
    }, viaRest);
  } else {
    viaRest();
  }
  renderConversationList();
}

export function renderHeader() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  const title = conversationTitle(c);
  const online = c.type === "direct" ? state.presence.get(c.targetUserId) : undefined;
  setChildren($("#chat-avatar"), avatar(c.type === "direct" ? c.targetUserId ?? c.id : c.id, title, online));
  $("#chat-title").textContent = title;
  let subtitle = "";
  if (c.type === "group") subtitle = `${c.memberCount ?? viewOf(c.id).members?.length ?? "?"} members`;
  else if (online === true) subtitle = "online";
  else if (online === false) subtitle = "offline";
  else {
    const u = state.users.get(c.targetUserId);
    subtitle = u?.userName && u.userName !== title ? `@${u.userName}` : "";
  }
  $("#chat-subtitle").textContent = subtitle;
  $("#mute-icon").setAttribute("href", c.muted ? "#i-bell-off" : "#i-bell");
  $("#btn-mute").dataset.on = c.muted ? "true" : "false";
  $("#btn-mute").title = c.muted ? "Unmute" : "Mute";
  $("#btn-archive").title = c.archived ? "Unarchive" : "Archive";
  $("#btn-archive").dataset.on = c.archived ? "true" : "false";
  $("#btn-info").hidden = c.type !== "group";
}

export function renderTyping() {
  const el = $("#typing");
  const map = state.typing.get(state.openId);
  if (!map?.size) {
    el.textContent = "";
    el.classList.remove("on");
    return;
  }
  const names = [...map.keys()].map(userLabel);
  el.textContent = names.length === 1 ? `${names[0]} is typing…` : `${names.join(", ")} are typing…`;
  el.classList.add("on");
}

function renderHistoryStatus() {
  const view = state.views.get(state.openId);
  const el = $("#history-status");
  if (!view) return;
  if (view.loading) el.textContent = "Loading…";
  else if (view.loaded && !view.hasMore) el.textContent = view.messages.size ? "Beginning of the conversation" : "";
  else el.textContent = "";
}

export function orderedMessages(view) {
  return [...view.messages.values()].sort((a, b) => {
    if (a.pending !== b.pending) return a.pending ? 1 : -1;
    if (a.pending) return a.localOrder - b.localOrder;
    return (a.seq ?? 0) - (b.seq ?? 0);
  });
}

/** Tick state of our own message: pending, failed, sent, delivered or read. */
function tickState(c, view, m) {
  if (m.failed) return "failed";
  if (m.pending) return "pending";
  const others = c.type === "direct" ? [c.targetUserId].filter(Boolean) : null;
  const reached = (map) => {
    if (others) return others.length > 0 && others.every((u) => (map.get(u) ?? 0) >= m.seq);
    const needed = Math.max(1, (c.memberCount ?? 2) - 1);
    let count = 0;
    for (const [u, seq] of map) if (u !== state.auth?.userId && seq >= m.seq) count += 1;
    return count >= needed;
  };
  if (m.isAllRead || reached(view.read)) return "read";
  if (reached(view.delivered)) return "delivered";
  return "sent";
}

const TICKS = { pending: "🕓", failed: "!", sent: "✓", delivered: "✓✓", read: "✓✓" };
const TICK_TITLES = { pending: "Sending", failed: "Not sent", sent: "Sent", delivered: "Delivered", read: "Read" };

export function renderMessages({ stickToBottom = false } = {}) {
  const id = state.openId;
  const c = state.conversations.get(id);
  const view = state.views.get(id);
  const box = $("#messages");
  const list = $("#message-list");
  if (!c || !view) {
    list.replaceChildren();
    return;
  }
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const fromBottom = box.scrollHeight - box.scrollTop;
  const nodes = [];
  let lastDay = "";
  let prev = null;
  for (const m of orderedMessages(view)) {
    const day = dayKey(m.createdAt);
    if (day && day !== lastDay) {
      nodes.push(h("div", { class: "day-sep", role: "separator" }, h("span", {}, dayLabel(m.createdAt))));
      lastDay = day;
      prev = null;
    }
    const continued = prev && prev.senderId === m.senderId && new Date(m.createdAt) - new Date(prev.createdAt) < 5 * 60000;
    nodes.push(renderMessage(c, view, m, continued));
    prev = m;
  }
  if (!nodes.length && view.loaded) nodes.push(h("div", { class: "list-empty" }, "No messages yet. Say hello!"));
  setChildren(list, nodes);
  renderHistoryStatus();
  if (stickToBottom || nearBottom) box.scrollTop = box.scrollHeight;
  else box.scrollTop = box.scrollHeight - fromBottom;
}

function renderMessage(c, view, m, continued) {
  const mine = isMine(m);
  const classes = ["msg", mine ? "mine" : "theirs"];
  if (continued) classes.push("continued");
  if (m.deleted) classes.push("deleted");
  if (m.pending) classes.push("pending");
  if (m.failed) classes.push("failed");
  const bubble = h("div", { class: "bubble" });
  if (c.type === "group" && !mine && !continued) {
    const sender = h("div", { class: "msg-sender" }, userLabel(m.senderId));
    sender.style.setProperty("--hue", String(hueFor(m.senderId)));
    bubble.append(sender);
  }
  if (m.deleted) {
    bubble.append(h("div", { class: "msg-text deleted-text" }, "This message was deleted"));
  } else {
    if (m.replyToId) {
      const original = view.messages.get(m.replyToId);
      bubble.append(
        h(
          "button",
          { class: "msg-reply", type: "button", onClick: () => scrollToMessage(m.replyToId) },
          h("span", { class: "msg-reply-who" }, original ? userLabel(original.senderId) : "Reply"),
          h("span", { class: "msg-reply-text" }, original ? (original.deleted ? "Message deleted" : original.text ?? "") : "Earlier message"),
        ),
      );
    }
    if (m.attachments?.length) bubble.append(renderAttachments(m.attachments));
    if (m.text) bubble.append(h("div", { class: "msg-text" }, m.text));
  }
  const meta = h(
    "div",
    { class: "msg-meta" },
    m.editedAt && !m.deleted ? h("span", { class: "msg-edited" }, "edited") : null,
    h("time", { datetime: m.createdAt || "" }, formatTime(m.createdAt)),
  );
  if (mine && !m.deleted) {
    const t = tickState(c, view, m);
    meta.append(h("span", { class: "ticks", "data-state": t, title: TICK_TITLES[t], "aria-label": TICK_TITLES[t] }, TICKS[t]));
  }
  bubble.append(meta);
  const row = h("div", { class: classes.join(" "), dataset: { messageId: m.id, seq: String(m.seq ?? "") } }, bubble);
  if (m.reactions?.length && !m.deleted) {
    row.append(
      h(
        "div",
        { class: "reactions" },
        m.reactions.map((r) =>
          h(
            "button",
            { class: `reaction${r.me ? " me" : ""}`, type: "button", title: r.me ? "Remove your reaction" : "React", onClick: () => react(m, r.emoji) },
            `${r.emoji} ${r.count}`,
          ),
        ),
      ),
    );
  }
  if (m.failed) {
    row.append(h("button", { class: "link retry", type: "button", onClick: () => retrySend(m) }, "Not sent. Retry"));
  }
  if (!m.deleted && !m.pending && !m.failed) {
    row.append(h("button", { class: "msg-menu-btn", type: "button", title: "Message actions", "aria-label": "Message actions", onClick: (ev) => messageMenu(ev, m) }, icon("more")));
  }
  return row;
}

function renderAttachments(attachments) {
  const wrap = h("div", { class: "attachments" });
  for (const a of attachments) {
    if (/^image\//.test(a.mimeType || "")) {
      const img = h("img", { class: "att-image", alt: a.fileName || "image", loading: "lazy" });
      const link = h("button", { class: "att-image-btn", type: "button", title: a.fileName, onClick: () => openAttachment(a) }, img);
      attachmentUrl(a).then((url) => {
        if (url) img.src = url;
        else link.replaceWith(fileChip(a));
      });
      wrap.append(link);
    } else {
      wrap.append(fileChip(a));
    }
  }
  return wrap;
}

function fileChip(a) {
  return h(
    "button",
    { class: "att-file", type: "button", title: "Download", onClick: () => downloadAttachment(a) },
    icon("file"),
    h("span", { class: "att-name" }, a.fileName || "file"),
    h("span", { class: "att-size" }, formatSize(a.size)),
  );
}

export const blobUrls = new Map();

async function attachmentUrl(a) {
  if (blobUrls.has(a.id)) return blobUrls.get(a.id);
  const pending = api
    .attachmentBlob(a.id)
    .then((blob) => URL.createObjectURL(blob))
    .catch(() => null);
  blobUrls.set(a.id, pending);
  return pending;
}

async function openAttachment(a) {
  const url = await attachmentUrl(a);
  if (url) window.open(url, "_blank", "noopener");
  else toast("Could not load the attachment.", "error");
}

async function downloadAttachment(a) {
  const url = await attachmentUrl(a);
  if (!url) {
    toast("Could not download the attachment.", "error");
    return;
  }
  const link = h("a", { href: url, download: a.fileName || "attachment" });
  document.body.append(link);
  link.click();
  link.remove();
}

export function scrollToMessage(id) {
  const el = document.querySelector(`[data-message-id="${CSS.escape(id)}"]`);
  if (!el) {
    toast("That message is further back in the history.");
    return false;
  }
  el.scrollIntoView({ block: "center", behavior: "smooth" });
  el.classList.add("flash");
  setTimeout(() => el.classList.remove("flash"), 1600);
  return true;
}
