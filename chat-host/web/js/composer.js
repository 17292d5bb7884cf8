// Writing: the composer (Enter honours the sendOnEnter setting), sending with an optimistic copy and a
// clientMessageId (so a retry is never stored twice), typing out, attachments, and message actions
// (reply, react, edit, delete).

import { ApiError } from "./api.js";
import { $, formatSize, h, icon, setChildren, uuid } from "./dom.js";
import { REACTIONS, TYPING_IDLE_MS, TYPING_SEND_EVERY_MS, api, isMine, live, state, toast, userLabel, viewOf } from "./state.js";
import { keepMyReactions, onMessageCreated, onMessageDeleted, onMessageUpdated, onReaction } from "./realtime.js";
import { blobUrls, orderedMessages, renderMessages } from "./conversation.js";
import { confirmDialog } from "./dialogs.js";

export function messageMenu(ev, m) {
  ev.stopPropagation();
  const mine = isMine(m);
  const items = [
    h("div", { class: "menu-reactions" }, REACTIONS.map((e) => h("button", { type: "button", class: "menu-emoji", onClick: () => react(m, e) }, e))),
    menuItem("Reply", () => startReply(m)),
    m.text ? menuItem("Copy text", () => navigator.clipboard?.writeText(m.text).catch(() => {})) : null,
    mine && m.text ? menuItem("Edit", () => startEdit(m)) : null,
    menuItem("Delete for me", () => deleteMessage(m, "me")),
    mine ? menuItem("Delete for everyone", () => deleteMessage(m, "everyone"), "danger") : null,
  ];
  showMenu(ev.currentTarget, items);
}

function menuItem(label, action, cls) {
  return h("button", { type: "button", class: `menu-item${cls ? ` ${cls}` : ""}`, role: "menuitem", onClick: action }, label);
}

function showMenu(anchor, items) {
  const menu = $("#menu");
  setChildren(menu, items);
  menu.hidden = false;
  const r = anchor.getBoundingClientRect();
  const mw = menu.offsetWidth;
  const mh = menu.offsetHeight;
  let left = Math.min(window.innerWidth - mw - 8, Math.max(8, r.right - mw));
  let top = r.bottom + 4;
  if (top + mh > window.innerHeight - 8) top = Math.max(8, r.top - mh - 4);
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
  const close = (e) => {
    if (e.type === "keydown" && e.key !== "Escape") return;
    menu.hidden = true;
    document.removeEventListener("click", close, true);
    document.removeEventListener("keydown", close, true);
  };
  setTimeout(() => {
    document.addEventListener("click", close, true);
    document.addEventListener("keydown", close, true);
  });
  menu.querySelector("button")?.focus();
}

export async function react(m, emoji) {
  const existing = (m.reactions || []).find((r) => r.emoji === emoji);
  const add = !existing?.me;
  try {
    const res = await api.react(m.id, emoji, add);
    const view = state.views.get(m.conversationId);
    const current = view?.messages.get(m.id);
    if (!current) return;
    if (res && Array.isArray(res.reactions)) {
      current.reactions = res.reactions;
    } else {
      // No message in the answer: apply our own change (the event that follows will not repeat it).
      onReaction({ conversationId: m.conversationId, messageId: m.id, userId: state.auth.userId, emoji, added: add });
      return;
    }
    if (state.openId === m.conversationId) renderMessages();
  } catch (err) {
    toast(`Could not react: ${err.message}`, "error");
  }
}

async function deleteMessage(m, scope) {
  if (scope === "everyone" && !(await confirmDialog("Delete this message for everyone?", "Delete"))) return;
  try {
    await api.deleteMessage(m.id, scope);
    onMessageDeleted({ conversationId: m.conversationId, messageId: m.id, scope });
  } catch (err) {
    toast(`Could not delete: ${err.message}`, "error");
  }
}

function startReply(m) {
  state.editing = null;
  state.replyTo = m;
  renderComposerContext();
  $("#composer-input").focus();
}

function startEdit(m) {
  state.replyTo = null;
  state.editing = m;
  const input = $("#composer-input");
  input.value = m.text ?? "";
  autosize();
  renderComposerContext();
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
}

export function resetComposer() {
  state.replyTo = null;
  state.editing = null;
  state.attachments = [];
  const input = $("#composer-input");
  input.value = "";
  autosize();
  renderComposerContext();
  renderPendingAttachments();
  stopOwnTyping();
}

function renderComposerContext() {
  const el = $("#composer-context");
  const m = state.editing || state.replyTo;
  if (!m) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  el.hidden = false;
  setChildren(
    el,
    h(
      "div",
      { class: "ctx-body" },
      h("span", { class: "ctx-title" }, state.editing ? "Editing message" : `Replying to ${userLabel(m.senderId)}`),
      h("span", { class: "ctx-text" }, m.text ?? ""),
    ),
    h("button", { type: "button", class: "icon-btn", title: "Cancel", "aria-label": "Cancel", onClick: resetComposerContext }, icon("close")),
  );
}

function resetComposerContext() {
  if (state.editing) {
    $("#composer-input").value = "";
    autosize();
  }
  state.editing = null;
  state.replyTo = null;
  renderComposerContext();
}

let localOrder = 0;

async function submitComposer() {
  const input = $("#composer-input");
  const raw = input.value;
  const text = raw.trim();
  const id = state.openId;
  if (!id) return;
  if (state.editing) {
    const m = state.editing;
    if (!text) return;
    resetComposerContext();
    input.value = "";
    autosize();
    if (text === m.text) return;
    try {
      const updated = await api.edit(m.id, text);
      if (updated?.id) onMessageUpdated(updated);
    } catch (err) {
      toast(`Could not edit: ${err.message}`, "error");
    }
    return;
  }
  const attachments = state.attachments;
  if (!text && !attachments.length) return;
  const body = {
    conversationId: id,
    text: text || attachments.map((a) => a.fileName).join(", "),
    clientMessageId: uuid(),
  };
  if (state.replyTo) body.replyToId = state.replyTo.id;
  if (attachments.length) body.attachmentIds = attachments.map((a) => a.id);
  input.value = "";
  autosize();
  state.replyTo = null;
  state.attachments = [];
  renderComposerContext();
  renderPendingAttachments();
  stopOwnTyping({ sent: true });
  const view = viewOf(id);
  const local = {
    id: `local-${body.clientMessageId}`,
    conversationId: id,
    senderId: state.auth.userId,
    text: body.text,
    replyToId: body.replyToId ?? null,
    attachments,
    reactions: [],
    clientMessageId: body.clientMessageId,
    createdAt: new Date().toISOString(),
    pending: true,
    localOrder: localOrder++,
    body,
  };
  view.messages.set(local.id, local);
  renderMessages({ stickToBottom: true });
  await deliver(local);
}

async function deliver(local, attempt = 0) {
  const view = viewOf(local.conversationId);
  try {
    let message;
    if (live.socket?.connected) {
      const res = await live.socket.request("message.send", local.body).catch(() => null);
      if (res?.ok) message = res.data;
      else if (res && !res.ok) {
        const e = res.error || {};
        // Refused before anything was stored (rate limit, server over capacity): try again when told to,
        // with the same clientMessageId, so that the message is stored once.
        if ((e.code === "chat.rate_limited" || e.code === "chat.overloaded") && attempt < 3) {
          await new Promise((r) => setTimeout(r, Math.min(10000, e.retryAfterMs ?? 1000)));
          return deliver(local, attempt + 1);
        }
        throw new Error(e.message || e.code || "refused");
      }
    }
    // Not connected (or the ack was lost): REST with the same clientMessageId never duplicates.
    if (!message) message = await api.send(local.body);
    view.messages.delete(local.id);
    upsertMessage(view, message);
    onMessageCreated(message);
  } catch (err) {
    local.pending = false;
    local.failed = true;
    toast(`Message not sent: ${err.message}`, "error");
    if (state.openId === local.conversationId) renderMessages();
  }
}

export function retrySend(local) {
  local.failed = false;
  local.pending = true;
  renderMessages({ stickToBottom: true });
  deliver(local);
}

/** Inserts or replaces a message, replacing our optimistic copy with the stored one. */
export function upsertMessage(view, m) {
  if (m.clientMessageId) {
    const localId = `local-${m.clientMessageId}`;
    if (view.messages.has(localId)) view.messages.delete(localId);
  }
  const prev = view.messages.get(m.id);
  view.messages.set(m.id, prev ? { ...prev, ...m, reactions: keepMyReactions(prev.reactions, m.reactions) } : m);
}

// Typing indicator out: at most one "typing" per few seconds (the server rate-limits it), and a
// "stopped" when the user pauses or clears the text. After a send none is needed: receivers clear
// the indicator when the message arrives.
let typingSentAt = 0;
let typingActive = false;
let typingIdleTimer = null;
let typingRetryTimer = null;
let typingConversation = null;

function onComposerInput() {
  autosize();
  if (state.editing || !state.openId) return;
  const hasText = $("#composer-input").value.trim().length > 0;
  if (!hasText) {
    stopOwnTyping();
    return;
  }
  const now = Date.now();
  if (!typingActive || now - typingSentAt > TYPING_SEND_EVERY_MS) {
    typingActive = true;
    typingSentAt = now;
    typingConversation = state.openId;
    sendTyping(state.openId);
  }
  clearTimeout(typingIdleTimer);
  typingIdleTimer = setTimeout(stopOwnTyping, TYPING_IDLE_MS);
}

/** Says "typing"; when the server's rate limit refuses it, says it again once allowed (if still typing). */
function sendTyping(conversationId) {
  clearTimeout(typingRetryTimer);
  if (!live.socket?.connected) return;
  live.socket.request("typing", { conversationId, isTyping: true }).then(
    (res) => {
      if (res?.ok || res?.error?.code !== "chat.rate_limited") return;
      const wait = Math.min(TYPING_SEND_EVERY_MS, Math.max(100, res.error.retryAfterMs ?? 1000));
      typingRetryTimer = setTimeout(() => {
        if (typingActive && state.openId === conversationId && $("#composer-input").value.trim()) {
          typingSentAt = Date.now();
          sendTyping(conversationId);
        }
      }, wait);
    },
    () => {},
  );
}

/** Says "stopped typing" (not limited by the server), unless a message was just sent: receivers clear the indicator when it arrives. */
function stopOwnTyping({ sent = false } = {}) {
  clearTimeout(typingIdleTimer);
  clearTimeout(typingRetryTimer);
  if (typingActive && typingConversation && !sent) live.socket?.emit("typing", { conversationId: typingConversation, isTyping: false });
  typingActive = false;
  typingConversation = null;
}

function autosize() {
  const input = $("#composer-input");
  input.style.height = "auto";
  input.style.height = `${Math.min(160, input.scrollHeight)}px`;
}

export function updateComposerHint() {
  const input = $("#composer-input");
  input.placeholder = state.settings.sendOnEnter ? "Message" : "Message (Ctrl+Enter to send)";
  input.title = state.settings.sendOnEnter ? "Enter sends, Shift+Enter starts a new line" : "Ctrl+Enter sends, Enter starts a new line";
}

function lastOwnMessage() {
  const view = state.views.get(state.openId);
  if (!view) return null;
  return orderedMessages(view)
    .filter((m) => isMine(m) && !m.deleted && !m.pending && m.text)
    .pop();
}

export function setupComposer() {
  const input = $("#composer-input");
  input.addEventListener("input", onComposerInput);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.isComposing) {
      const send = state.settings.sendOnEnter ? !ev.shiftKey && !ev.ctrlKey && !ev.metaKey : ev.ctrlKey || ev.metaKey;
      if (send) {
        ev.preventDefault();
        submitComposer();
      }
    } else if (ev.key === "Escape" && (state.editing || state.replyTo)) {
      ev.preventDefault();
      resetComposerContext();
    } else if (ev.key === "ArrowUp" && !input.value) {
      const m = lastOwnMessage();
      if (m) {
        ev.preventDefault();
        startEdit(m);
      }
    }
  });
  $("#composer").addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitComposer();
  });
  $("#btn-attach").addEventListener("click", () => {
    if (state.attachmentsUnsupported) {
      toast("This server does not accept attachments yet.");
      return;
    }
    $("#file-input").click();
  });
  $("#file-input").addEventListener("change", async (ev) => {
    const files = [...ev.target.files];
    ev.target.value = "";
    for (const f of files) await uploadFile(f);
  });
  // Paste or drop files into the conversation.
  input.addEventListener("paste", (ev) => {
    const files = [...(ev.clipboardData?.files ?? [])];
    if (files.length) {
      ev.preventDefault();
      files.forEach(uploadFile);
    }
  });
  const chat = $("#chat-view");
  chat.addEventListener("dragover", (ev) => {
    if (ev.dataTransfer?.types?.includes("Files")) ev.preventDefault();
  });
  chat.addEventListener("drop", (ev) => {
    const files = [...(ev.dataTransfer?.files ?? [])];
    if (files.length) {
      ev.preventDefault();
      files.forEach(uploadFile);
    }
  });
}

async function uploadFile(file) {
  if (state.attachmentsUnsupported) {
    toast("This server does not accept attachments yet.");
    return;
  }
  const chip = { uploading: true, fileName: file.name, size: file.size, id: `up-${uuid()}` };
  state.attachments.push(chip);
  renderPendingAttachments();
  try {
    const a = await api.upload(file);
    const dto = Array.isArray(a) ? a[0] : a?.attachment ?? a;
    Object.assign(chip, dto, { uploading: false });
    if (dto?.id && /^image\//.test(dto.mimeType || "")) blobUrls.set(dto.id, Promise.resolve(URL.createObjectURL(file)));
  } catch (err) {
    state.attachments = state.attachments.filter((x) => x !== chip);
    if (err instanceof ApiError && [404, 405, 501].includes(err.status)) {
      state.attachmentsUnsupported = true;
      $("#btn-attach").classList.add("unavailable");
      toast("This server does not accept attachments yet.");
    } else {
      toast(`Upload failed: ${err.message}`, "error");
    }
  }
  renderPendingAttachments();
}

function renderPendingAttachments() {
  const el = $("#pending-attachments");
  el.hidden = !state.attachments.length;
  setChildren(
    el,
    state.attachments.map((a) =>
      h(
        "span",
        { class: `chip${a.uploading ? " uploading" : ""}` },
        icon("attach", "small"),
        h("span", {}, a.fileName),
        h("span", { class: "att-size" }, a.uploading ? "uploading…" : formatSize(a.size)),
        h(
          "button",
          {
            type: "button",
            class: "chip-x",
            "aria-label": "Remove attachment",
            onClick: () => {
              state.attachments = state.attachments.filter((x) => x !== a);
              renderPendingAttachments();
            },
          },
          icon("close", "small"),
        ),
      ),
    ),
  );
}
