// The sidebar: the conversation list (unread badges, last message, presence, typing) and search.

import { itemsOf } from "./api.js";
import { $, h, icon, listTime, setChildren } from "./dom.js";
import { api, avatar, conversationTitle, isMine, state, userLabel, viewOf } from "./state.js";
import { ensureMembers, loadOlder, openConversation, scrollToMessage } from "./conversation.js";
import { newChatDialog } from "./dialogs.js";

function sortedConversations() {
  const when = (c) => new Date(c.lastActivityAt || c.lastMessageDate || c.createdAt || 0).getTime();
  return [...state.conversations.values()]
    .filter((c) => state.showArchived || !c.archived || c.id === state.openId)
    .sort((a, b) => when(b) - when(a));
}

function lastMessagePreview(c) {
  const typers = state.typing.get(c.id);
  if (typers?.size) return { text: "typing…", typing: true };
  const m = c.lastMessage;
  if (!m) return { text: c.type === "group" ? "Group created" : "No messages yet" };
  if (m.deleted) return { text: "Message deleted" };
  let text = m.text ?? "";
  if (!text && m.attachments?.length) text = `Attachment: ${m.attachments[0].fileName}`;
  const mine = c.lastMessageSide === "send" || isMine(m);
  if (c.type === "group" && !mine && !state.users.has(m.senderId)) ensureMembers(c.id);
  const who = mine ? "You: " : c.type === "group" ? `${userLabel(m.senderId)}: ` : "";
  return { text: who + text };
}

export function renderConversationList() {
  if (state.searchQuery) return;
  const list = $("#conv-list");
  const items = sortedConversations();
  let unreadTotal = 0;
  const nodes = items.map((c) => {
    const title = conversationTitle(c);
    const online = c.type === "direct" ? state.presence.get(c.targetUserId) : undefined;
    const preview = lastMessagePreview(c);
    const unread = c.unreadCount ?? 0;
    if (!c.muted) unreadTotal += unread;
    return h(
      "button",
      {
        class: `conv${c.id === state.openId ? " active" : ""}${unread ? " has-unread" : ""}`,
        type: "button",
        dataset: { conversationId: c.id },
        "aria-current": c.id === state.openId ? "true" : undefined,
        onClick: () => openConversation(c.id),
      },
      avatar(c.type === "direct" ? c.targetUserId ?? c.id : c.id, title, online),
      h(
        "span",
        { class: "conv-main" },
        h(
          "span",
          { class: "conv-top" },
          h("span", { class: "conv-name" }, title),
          c.type === "group" ? h("span", { class: "tag" }, "group") : null,
          h("span", { class: "conv-time" }, listTime(c.lastMessageDate || c.lastActivityAt)),
        ),
        h(
          "span",
          { class: "conv-bottom" },
          h("span", { class: `conv-last${preview.typing ? " typing-text" : ""}` }, preview.text),
          c.muted ? h("span", { class: "muted-icon", title: "Muted" }, icon("bell-off", "small")) : null,
          c.archived ? h("span", { class: "tag" }, "archived") : null,
          unread ? h("span", { class: `badge${c.muted ? " quiet" : ""}`, "data-count": String(unread) }, unread > 99 ? "99+" : String(unread)) : null,
        ),
      ),
    );
  });
  if (!nodes.length) {
    nodes.push(
      h("div", { class: "list-empty" }, h("p", {}, "No conversations yet."), h("button", { class: "btn", type: "button", onClick: newChatDialog }, "Start a chat")),
    );
  }
  setChildren(list, nodes);
  document.title = unreadTotal ? `(${unreadTotal}) Chat` : "Chat";
}

let searchTimer = null;
let searchSeq = 0;

export function setupSearch() {
  const input = $("#search");
  input.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 300);
  });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      input.value = "";
      runSearch();
    }
  });
}

async function runSearch() {
  const q = $("#search").value.trim();
  state.searchQuery = q;
  const list = $("#conv-list");
  if (!q) {
    renderConversationList();
    return;
  }
  const mine = ++searchSeq;
  setChildren(list, h("div", { class: "muted pad" }, "Searching…"));
  try {
    const hits = itemsOf(await api.search(q));
    if (mine !== searchSeq) return;
    const rows = hits.map((m) => {
      const c = state.conversations.get(m.conversationId);
      return h(
        "button",
        { class: "conv search-hit", type: "button", dataset: { messageId: m.id }, onClick: () => openSearchHit(m) },
        avatar(m.senderId, userLabel(m.senderId)),
        h(
          "span",
          { class: "conv-main" },
          h("span", { class: "conv-top" }, h("span", { class: "conv-name" }, c ? conversationTitle(c) : userLabel(m.senderId)), h("span", { class: "conv-time" }, listTime(m.createdAt))),
          h("span", { class: "conv-bottom" }, h("span", { class: "conv-last" }, `${userLabel(m.senderId)}: ${m.text ?? ""}`)),
        ),
      );
    });
    setChildren(list, h("div", { class: "section-label" }, `Messages matching “${q}”`), rows.length ? rows : h("div", { class: "muted pad" }, "No messages found."));
  } catch (err) {
    if (mine === searchSeq) setChildren(list, h("div", { class: "error-text pad" }, `Search failed: ${err.message}`));
  }
}

async function openSearchHit(m) {
  await openConversation(m.conversationId);
  const view = viewOf(m.conversationId);
  for (let i = 0; i < 20 && !view.messages.has(m.id) && view.hasMore; i += 1) await loadOlder(m.conversationId);
  requestAnimationFrame(() => scrollToMessage(m.id));
}
