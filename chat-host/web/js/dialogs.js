// Dialogs and panels: new chat (find people by name), new group, group info and members, settings,
// mute and archive.

import { itemsOf } from "./api.js";
import { $, h, icon, setChildren } from "./dom.js";
import { api, avatar, noteConversationUsers, rememberContact, state, toast, userLabel } from "./state.js";
import { fetchConversation, onGroupUpdated, removeConversation } from "./realtime.js";
import { renderConversationList } from "./sidebar.js";
import { loadMembers, openConversation, renderHeader } from "./conversation.js";
import { updateComposerHint } from "./composer.js";

function openDialog(title, body, actions = []) {
  const dlg = $("#dialog");
  setChildren(
    dlg,
    h(
      "form",
      { method: "dialog", class: "dialog-form" },
      h("header", { class: "dialog-head" }, h("h2", {}, title), h("button", { class: "icon-btn", value: "cancel", "aria-label": "Close", title: "Close" }, icon("close"))),
      h("div", { class: "dialog-body" }, body),
      actions.length ? h("footer", { class: "dialog-actions" }, actions) : null,
    ),
  );
  if (!dlg.open) dlg.showModal();
  return dlg;
}

function closeDialog() {
  const dlg = $("#dialog");
  if (dlg.open) dlg.close();
}

export function confirmDialog(question, okLabel) {
  return new Promise((resolve) => {
    const dlg = openDialog("Please confirm", h("p", {}, question), [
      h("button", { class: "btn ghost", value: "cancel" }, "Cancel"),
      h("button", { class: "btn danger", value: "ok" }, okLabel),
    ]);
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
  });
}

function contactPicker({ multiple, onPick, exclude = new Set() }) {
  const search = h("input", { type: "search", class: "input", placeholder: "Search people by name", "aria-label": "Search people", autocomplete: "off" });
  const list = h("div", { class: "picker-list" });
  const selected = new Map();
  let timer = null;
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    setChildren(list, h("div", { class: "muted" }, "Searching…"));
    try {
      const filter = search.value.trim();
      const people = itemsOf(await api.contacts(filter || undefined, true)).filter((c) => (c.userId ?? c.id) !== state.auth.userId);
      if (mine !== seq) return;
      for (const p of people) rememberContact(p);
      const shown = people.filter((p) => !exclude.has(p.userId ?? p.id));
      const rows = shown.map((p) => {
        const id = p.userId ?? p.id;
        const label = userLabel(id);
        const sub = p.userName && p.userName !== label ? `@${p.userName}` : "";
        if (multiple) {
          const box = h("input", { type: "checkbox", checked: selected.has(id), onChange: (e) => (e.target.checked ? selected.set(id, p) : selected.delete(id)) });
          return h("label", { class: "picker-row", dataset: { userId: id } }, box, avatar(id, label), h("span", { class: "picker-name" }, label, h("small", {}, sub)));
        }
        return h("button", { type: "button", class: "picker-row", dataset: { userId: id }, onClick: () => onPick(p) }, avatar(id, label), h("span", { class: "picker-name" }, label, h("small", {}, sub)));
      });
      if (filter && !shown.some((p) => (p.userName || "").toLowerCase() === filter.toLowerCase())) {
        rows.push(h("div", { class: "muted small" }, `Only people this server knows (who have signed in) can be found.`));
      }
      setChildren(list, rows.length ? rows : h("div", { class: "muted" }, "Nobody found."));
    } catch (err) {
      setChildren(list, h("div", { class: "error-text" }, err.message));
    }
  };
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(load, 250);
  });
  load();
  return { el: h("div", { class: "picker" }, search, list), selected, focus: () => search.focus() };
}

export function newChatDialog() {
  const picker = contactPicker({
    multiple: false,
    onPick: async (p) => {
      try {
        const c = await api.openDirect(p.userId ?? p.id);
        closeDialog();
        state.conversations.set(c.id, { ...(state.conversations.get(c.id) || {}), ...c });
        noteConversationUsers(c);
        openConversation(c.id);
      } catch (err) {
        toast(`Could not start the chat: ${err.message}`, "error");
      }
    },
  });
  openDialog("New chat", picker.el);
  picker.focus();
}

export function newGroupDialog() {
  const name = h("input", { class: "input", placeholder: "Group name", required: true, maxlength: "128", "aria-label": "Group name" });
  const description = h("input", { class: "input", placeholder: "Description (optional)", "aria-label": "Description" });
  const picker = contactPicker({ multiple: true });
  const create = h("button", { class: "btn", type: "button" }, "Create group");
  create.addEventListener("click", async () => {
    if (!name.value.trim()) {
      name.focus();
      return;
    }
    create.disabled = true;
    try {
      const g = await api.createGroup({ name: name.value.trim(), description: description.value.trim() || undefined, memberIds: [...picker.selected.keys()] });
      closeDialog();
      await fetchConversation(g.id);
      openConversation(g.id);
    } catch (err) {
      toast(`Could not create the group: ${err.message}`, "error");
    } finally {
      create.disabled = false;
    }
  });
  openDialog("New group", h("div", { class: "stack" }, name, description, h("div", { class: "label" }, "Members"), picker.el), [
    h("button", { class: "btn ghost", value: "cancel" }, "Cancel"),
    create,
  ]);
  name.focus();
}

export async function showGroupPanel() {
  const id = state.openId;
  const c = state.conversations.get(id);
  if (!c || c.type !== "group") return;
  const panel = $("#panel");
  panel.hidden = false;
  const [members, group] = await Promise.all([loadMembers(id), api.group(id).catch(() => null)]);
  if (state.openId !== id) return;
  if (group) {
    c.name = group.name ?? c.name;
    c.description = group.description ?? null;
  }
  const me = members.find((m) => m.userId === state.auth.userId);
  const myRole = String(me?.role || "member").toLowerCase();
  const canManage = myRole === "owner" || myRole === "admin";
  const rows = members.map((m) => {
    const role = String(m.role).toLowerCase();
    const actions = [];
    if (m.userId !== state.auth.userId) {
      if (myRole === "owner" && role !== "owner") {
        actions.push(
          h("button", { type: "button", class: "link", onClick: () => changeRole(id, m.userId, role === "admin" ? "member" : "admin") }, role === "admin" ? "Make member" : "Make admin"),
        );
      }
      if (canManage && role !== "owner" && !(myRole === "admin" && role === "admin")) {
        actions.push(h("button", { type: "button", class: "link danger", onClick: () => removeMember(id, m.userId) }, "Remove"));
      }
    }
    return h(
      "li",
      { class: "member", dataset: { userId: m.userId } },
      avatar(m.userId, m.userId === state.auth.userId ? state.auth.userName : userLabel(m.userId), state.presence.get(m.userId)),
      h("span", { class: "member-name" }, m.userId === state.auth.userId ? `${m.name || m.userName || "You"} (you)` : userLabel(m.userId)),
      role !== "member" ? h("span", { class: `tag role-${role}` }, role) : null,
      h("span", { class: "member-actions" }, actions),
    );
  });
  setChildren(
    panel,
    h(
      "header",
      { class: "panel-head" },
      h("h2", {}, "Group info"),
      h("button", { type: "button", class: "icon-btn", "aria-label": "Close", title: "Close", onClick: () => (panel.hidden = true) }, icon("close")),
    ),
    h(
      "div",
      { class: "panel-body" },
      h("div", { class: "panel-title" }, avatar(c.id, c.name), h("div", {}, h("strong", {}, c.name || "Group"), c.description ? h("p", { class: "muted" }, c.description) : null)),
      canManage ? h("button", { type: "button", class: "btn ghost small", onClick: () => renameGroup(c) }, "Rename") : null,
      h("h3", {}, `${members.length} members`),
      canManage ? h("button", { type: "button", class: "btn small", onClick: () => addMembersDialog(id, members) }, "Add members") : null,
      h("ul", { class: "members" }, rows),
      h("button", { type: "button", class: "btn danger small", onClick: () => leaveGroup(id) }, "Leave group"),
    ),
  );
}

async function renameGroup(c) {
  const input = h("input", { class: "input", value: c.name || "", maxlength: "128", "aria-label": "Group name" });
  const save = h("button", { class: "btn", type: "button" }, "Save");
  save.addEventListener("click", async () => {
    const name = input.value.trim();
    if (!name) return;
    try {
      const g = await api.updateGroup(c.id, { name, description: c.description ?? null });
      closeDialog();
      onGroupUpdated(g?.id ? g : { id: c.id, name });
    } catch (err) {
      toast(`Could not rename: ${err.message}`, "error");
    }
  });
  openDialog("Rename group", input, [h("button", { class: "btn ghost", value: "cancel" }, "Cancel"), save]);
  input.focus();
}

function addMembersDialog(id, members) {
  const picker = contactPicker({ multiple: true, exclude: new Set(members.map((m) => m.userId)) });
  const add = h("button", { class: "btn", type: "button" }, "Add");
  add.addEventListener("click", async () => {
    const ids = [...picker.selected.keys()];
    if (!ids.length) return;
    try {
      await api.addMembers(id, ids);
      closeDialog();
      await fetchConversation(id);
      showGroupPanel();
    } catch (err) {
      toast(`Could not add: ${err.message}`, "error");
    }
  });
  openDialog("Add members", picker.el, [h("button", { class: "btn ghost", value: "cancel" }, "Cancel"), add]);
  picker.focus();
}

async function changeRole(id, userId, role) {
  try {
    await api.setRole(id, userId, role);
    showGroupPanel();
  } catch (err) {
    toast(`Could not change the role: ${err.message}`, "error");
  }
}

async function removeMember(id, userId) {
  if (!(await confirmDialog(`Remove ${userLabel(userId)} from the group?`, "Remove"))) return;
  try {
    await api.removeMember(id, userId);
    await fetchConversation(id);
    showGroupPanel();
  } catch (err) {
    toast(`Could not remove: ${err.message}`, "error");
  }
}

async function leaveGroup(id) {
  if (!(await confirmDialog("Leave this group?", "Leave"))) return;
  try {
    await api.leaveGroup(id);
    removeConversation(id);
  } catch (err) {
    toast(`Could not leave: ${err.message}`, "error");
  }
}

export function settingsDialog() {
  const box = h("input", { type: "checkbox", checked: state.settings.sendOnEnter, id: "setting-send-on-enter" });
  const save = h("button", { class: "btn", type: "button" }, "Save");
  save.addEventListener("click", async () => {
    try {
      const s = await api.saveSettings({ sendOnEnter: box.checked });
      state.settings.sendOnEnter = typeof s?.sendOnEnter === "boolean" ? s.sendOnEnter : box.checked;
      updateComposerHint();
      closeDialog();
    } catch (err) {
      toast(`Could not save: ${err.message}`, "error");
    }
  });
  openDialog(
    "Settings",
    h(
      "div",
      { class: "stack" },
      h("label", { class: "check" }, box, "Send messages with Enter (Shift+Enter for a new line)"),
      h("p", { class: "muted small" }, `Signed in as ${state.auth.userName} · ${state.auth.userId}`),
    ),
    [h("button", { class: "btn ghost", value: "cancel" }, "Cancel"), save],
  );
}

export async function toggleMute() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  try {
    const res = await api.mute(c.id, !c.muted);
    Object.assign(c, res?.id ? res : { muted: !c.muted });
    renderHeader();
    renderConversationList();
  } catch (err) {
    toast(`Could not change: ${err.message}`, "error");
  }
}

export async function toggleArchive() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  try {
    const res = await api.archive(c.id, !c.archived);
    Object.assign(c, res?.id ? res : { archived: !c.archived });
    renderHeader();
    renderConversationList();
    if (c.archived) toast("Conversation archived. Tick “Show archived” to find it again.");
  } catch (err) {
    toast(`Could not change: ${err.message}`, "error");
  }
}

export async function deleteChat() {
  const c = state.conversations.get(state.openId);
  if (!c) return;
  const question = c.type === "group" ? "Delete this group chat from your list? (You stay a member.)" : "Delete this chat and its history for you?";
  if (!(await confirmDialog(question, "Delete"))) return;
  try {
    await api.deleteConversation(c.id);
    removeConversation(c.id);
  } catch (err) {
    toast(`Could not delete: ${err.message}`, "error");
  }
}
