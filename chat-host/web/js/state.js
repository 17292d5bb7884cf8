// Shared state of the page and the helpers every part uses: who is signed in, the conversations and
// their loaded messages, the people we know by name, the REST client and the current connection.
// User data is only ever rendered as text (see dom.js).

import { ChatApi } from "./api.js";
import { $, h, hueFor, initials } from "./dom.js";
import { signOut } from "./app.js";

export const AUTH_KEY = "chat.auth";
export const PAGE_SIZE = 50;
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🙏"];
export const TYPING_SEND_EVERY_MS = 3000;
export const TYPING_IDLE_MS = 3500;
export const TYPING_SHOW_MS = 6000;

export const state = {
  auth: null, // { token, userId, userName }
  settings: { sendOnEnter: true },
  conversations: new Map(), // id -> ConversationDto
  showArchived: false,
  openId: null,
  views: new Map(), // conversation id -> view state (messages, paging, receipts)
  users: new Map(), // user id -> { userName, name }
  presence: new Map(), // user id -> online
  typing: new Map(), // conversation id -> Map(user id -> timer)
  eventFloor: null, // events at or below this were reflected in what we loaded
  lastEventSeq: null,
  seenEventSeqs: new Set(),
  everConnected: false,
  connection: "closed",
  replyTo: null,
  editing: null,
  attachments: [], // uploaded, waiting to be sent: AttachmentDto
  attachmentsUnsupported: false,
  searchQuery: "",
};

/** The current real-time connection (a new one per sign-in). */
export const live = { socket: null };
export const api = new ChatApi(() => state.auth?.token, () => signOut("Your session has expired. Please sign in again."));

export function rememberContact(c) {
  const id = c.userId ?? c.id;
  if (!id) return;
  const full = [c.name, c.surname].filter(Boolean).join(" ");
  rememberUser(id, { userName: c.userName ?? c.username, name: full || undefined });
  if (typeof c.online === "boolean") state.presence.set(id, c.online);
}

export function rememberUser(id, info) {
  const prev = state.users.get(id) || {};
  const next = { ...prev };
  if (info.userName) next.userName = info.userName;
  if (info.name) next.name = info.name;
  state.users.set(id, next);
}

export function noteConversationUsers(c) {
  if (c.type === "direct" && c.targetUserId && c.name) {
    const known = state.users.get(c.targetUserId);
    if (!known?.name && !known?.userName) rememberUser(c.targetUserId, { name: c.name });
  }
}

export function userLabel(id) {
  if (id === state.auth?.userId) return "You";
  const u = state.users.get(id);
  return u?.name || u?.userName || `User ${String(id).slice(0, 8)}`;
}

export function conversationTitle(c) {
  if (!c) return "";
  if (c.type === "direct" && c.targetUserId) {
    const u = state.users.get(c.targetUserId);
    return c.name || u?.name || u?.userName || "Direct chat";
  }
  return c.name || "Group";
}

export function viewOf(id) {
  let v = state.views.get(id);
  if (!v) {
    v = {
      messages: new Map(), // id -> MessageDto (plus local fields: pending, failed)
      hasMore: true,
      nextCursor: null,
      loading: false,
      loaded: false,
      read: new Map(), // user id -> highest seq read
      delivered: new Map(), // user id -> highest seq received
      members: null,
      readSent: 0,
    };
    state.views.set(id, v);
  }
  return v;
}

export function isMine(m) {
  return m.senderId === state.auth?.userId;
}

export function conversationVisible(id) {
  return state.openId === id && document.visibilityState === "visible";
}

export function avatar(id, label, online) {
  const el = h("span", { class: "avatar", "aria-hidden": "true" }, initials(label));
  el.style.setProperty("--hue", String(hueFor(id)));
  if (online !== undefined) el.append(h("span", { class: `presence ${online ? "online" : "offline"}` }));
  return el;
}

export function toast(message, kind = "info") {
  const box = $("#toasts");
  const el = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 6000 : 4000);
  while (box.children.length > 4) box.firstElementChild.remove();
}
