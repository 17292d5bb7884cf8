// The web chat page's entry point: sign-in (development login or a pasted token), start-up, and the
// wiring of the page's controls. Plain ES modules, no framework and no build step: state lives in
// state.js, and small render functions rebuild the parts of the page that changed.

import { ApiError, itemsOf } from "./api.js";
import { $, jwtPayload, setChildren } from "./dom.js";
import { AUTH_KEY, api, avatar, live, noteConversationUsers, rememberContact, rememberUser, state, toast } from "./state.js";
import { acknowledgeDelivery, connectSocket } from "./realtime.js";
import { renderConversationList, setupSearch } from "./sidebar.js";
import { closeConversation, conversationIdFromHash, loadOlder, markRead, openConversation, renderHeader } from "./conversation.js";
import { setupComposer, updateComposerHint } from "./composer.js";
import { deleteChat, newChatDialog, newGroupDialog, settingsDialog, showGroupPanel, toggleArchive, toggleMute } from "./dialogs.js";

function loadAuth() {
  try {
    const saved = JSON.parse(localStorage.getItem(AUTH_KEY) || "null");
    if (saved?.token) return saved;
  } catch {
    // Corrupt entry: ignore.
  }
  return null;
}

export function saveAuth(auth) {
  localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
}

function showLogin(message) {
  $("#app").hidden = true;
  $("#login").hidden = false;
  const err = $("#login-error");
  err.textContent = message || "";
  err.hidden = !message;
  $("#login-name").focus();
}

export function signOut(message) {
  live.socket?.close();
  live.socket = null;
  localStorage.removeItem(AUTH_KEY);
  state.auth = null;
  state.conversations.clear();
  state.views.clear();
  state.openId = null;
  state.eventFloor = null;
  state.lastEventSeq = null;
  state.seenEventSeqs.clear();
  state.everConnected = false;
  history.replaceState(null, "", location.pathname);
  showLogin(message);
}

function setupLogin() {
  $("#dev-login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const userName = $("#login-name").value.trim();
    if (!userName) return;
    const button = $("#dev-login-form button");
    button.disabled = true;
    try {
      const res = await api.devLogin(userName);
      start({ token: res.token, userId: res.userId, userName });
    } catch (err) {
      const message =
        err instanceof ApiError && (err.status === 404 || err.status === 405)
          ? "Development login is not enabled on this server. Paste a token instead."
          : `Sign-in failed: ${err.message}`;
      showLogin(message);
    } finally {
      button.disabled = false;
    }
  });
  $("#token-login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = $("#login-token").value.trim();
    if (!token) return;
    const claims = jwtPayload(token);
    if (!claims?.sub) {
      showLogin("That does not look like a JWT (no `sub` claim).");
      return;
    }
    start({ token, userId: claims.sub, userName: claims.preferred_username || claims.name || claims.sub });
  });
}

async function start(auth) {
  state.auth = auth;
  saveAuth(auth);
  $("#login").hidden = true;
  $("#app").hidden = false;
  rememberUser(auth.userId, { userName: auth.userName });
  renderMe();
  connectSocket();
  const results = await Promise.allSettled([loadSettings(), loadConversations(), loadContacts()]);
  if (!state.auth) return;
  for (const r of results) if (r.status === "rejected") toast(r.reason?.message || String(r.reason), "error");
  const fromHash = conversationIdFromHash();
  if (fromHash) openConversation(fromHash);
}

async function loadSettings() {
  const s = await api.settings();
  if (s && typeof s.sendOnEnter === "boolean") state.settings.sendOnEnter = s.sendOnEnter;
  updateComposerHint();
}

export async function loadConversations() {
  const page = await api.conversations(state.showArchived);
  const fresh = new Map();
  for (const c of itemsOf(page)) fresh.set(c.id, c);
  // Keep a conversation we opened directly (e.g. archived) even when the list does not show it.
  if (state.openId && !fresh.has(state.openId) && state.conversations.has(state.openId)) {
    fresh.set(state.openId, state.conversations.get(state.openId));
  }
  state.conversations = fresh;
  for (const c of fresh.values()) noteConversationUsers(c);
  renderConversationList();
  renderHeader();
  acknowledgeDelivery();
}

export async function loadContacts() {
  const contacts = itemsOf(await api.contacts(undefined, false));
  for (const c of contacts) rememberContact(c);
  renderConversationList();
}

function renderMe() {
  const label = state.auth.userName || "Me";
  setChildren($("#me-avatar"), avatar(state.auth.userId, label));
  $("#me-name").textContent = label;
}

function setupShell() {
  $("#btn-new-chat").addEventListener("click", newChatDialog);
  $("#btn-new-group").addEventListener("click", newGroupDialog);
  $("#btn-settings").addEventListener("click", settingsDialog);
  $("#btn-signout").addEventListener("click", () => signOut());
  $("#btn-back").addEventListener("click", closeConversation);
  $("#btn-mute").addEventListener("click", toggleMute);
  $("#btn-archive").addEventListener("click", toggleArchive);
  $("#btn-delete-chat").addEventListener("click", deleteChat);
  $("#btn-info").addEventListener("click", () => ($("#panel").hidden ? showGroupPanel() : ($("#panel").hidden = true)));
  $("#show-archived").addEventListener("change", (ev) => {
    state.showArchived = ev.target.checked;
    loadConversations().catch((err) => toast(err.message, "error"));
  });
  $("#messages").addEventListener("scroll", () => {
    const box = $("#messages");
    if (box.scrollTop < 120 && state.openId) {
      const view = state.views.get(state.openId);
      if (view?.loaded && view.hasMore && !view.loading) loadOlder(state.openId);
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (state.openId) markRead(state.openId);
  });
  window.addEventListener("focus", () => state.openId && markRead(state.openId));
  window.addEventListener("online", () => live.socket?.reconnectNow());
  window.addEventListener("hashchange", () => {
    const id = conversationIdFromHash();
    if (id && id !== state.openId && state.auth) openConversation(id);
    else if (!id && state.openId) closeConversation();
  });
}

function main() {
  setupLogin();
  setupShell();
  setupComposer();
  setupSearch();
  updateComposerHint();
  const saved = loadAuth();
  if (saved) start(saved);
  else showLogin();
}

main();

// Exposed for debugging in the browser console, and for the browser tests (which drop the
// connection on purpose to check that the page catches up).
window.chatPage = { state, socket: () => live.socket };
