// REST client for /api/chat. Every call carries the bearer token; errors become ApiError with the
// problem-details `code` and `detail` so the page can show something useful.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

const BASE = "/api/chat";

export class ChatApi {
  constructor(getToken, onUnauthorized) {
    this.getToken = getToken;
    this.onUnauthorized = onUnauthorized ?? (() => {});
  }

  async request(method, path, { body, query, raw, form } = {}) {
    const url = new URL(path.startsWith("/api/") ? path : BASE + path, location.origin);
    if (query) {
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
      }
    }
    const headers = {};
    const token = this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (form) {
      payload = form;
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, { method, headers, body: payload });
    } catch (err) {
      throw new ApiError(0, "network", `Network error: ${err.message}`);
    }
    if (res.status === 401 && token) this.onUnauthorized();
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch {
        // Not JSON.
      }
      const code = problem?.code ?? `http.${res.status}`;
      const message = problem?.detail || problem?.title || problem?.message || `${res.status} ${res.statusText}`;
      throw new ApiError(res.status, code, message, problem);
    }
    if (raw) return res;
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  // Sign-in (development mode only).
  devLogin(userName) {
    return this.request("POST", "/api/dev/login", { body: { userName } });
  }

  // Conversations
  conversations(includeArchived) {
    return this.request("GET", "/conversations", { query: { includeArchived: includeArchived ? "true" : undefined, limit: 100 } });
  }
  conversation(id) {
    return this.request("GET", `/conversations/${enc(id)}`);
  }
  openDirect(targetUserId) {
    return this.request("POST", "/conversations", { body: { targetUserId } });
  }
  history(id, before, limit = 50) {
    return this.request("GET", `/conversations/${enc(id)}/messages`, { query: { before, limit } });
  }
  markRead(id, upToMessageId) {
    return this.request("POST", `/conversations/${enc(id)}/read`, { body: upToMessageId ? { upToMessageId } : {} });
  }
  mute(id, muted) {
    return this.request("POST", `/conversations/${enc(id)}/mute`, { body: { muted } });
  }
  archive(id, archived) {
    return this.request("POST", `/conversations/${enc(id)}/archive`, { body: { archived } });
  }
  deleteConversation(id) {
    return this.request("DELETE", `/conversations/${enc(id)}`);
  }

  // Messages
  send(input) {
    return this.request("POST", "/messages", { body: input });
  }
  message(id) {
    return this.request("GET", `/messages/${enc(id)}`);
  }
  edit(id, text) {
    return this.request("PATCH", `/messages/${enc(id)}`, { body: { text } });
  }
  deleteMessage(id, scope) {
    return this.request("DELETE", `/messages/${enc(id)}`, { query: { scope } });
  }
  react(id, emoji, add) {
    return this.request(add ? "PUT" : "DELETE", `/messages/${enc(id)}/reactions/${enc(emoji)}`);
  }
  search(q, conversationId) {
    return this.request("GET", "/messages/search", { query: { q, conversationId, limit: 30 } });
  }
  receipts(id) {
    return this.request("GET", `/messages/${enc(id)}/receipts`);
  }

  // Contacts and settings
  contacts(filter, includeOtherContacts) {
    return this.request("GET", "/contacts", {
      query: { filter, includeOtherContacts: includeOtherContacts ? "true" : undefined },
    });
  }
  settings() {
    return this.request("GET", "/settings");
  }
  saveSettings(settings) {
    return this.request("PUT", "/settings", { body: settings });
  }

  // Groups
  createGroup(input) {
    return this.request("POST", "/groups", { body: input });
  }
  group(id) {
    return this.request("GET", `/groups/${enc(id)}`);
  }
  updateGroup(id, input) {
    return this.request("PATCH", `/groups/${enc(id)}`, { body: input });
  }
  members(id) {
    return this.request("GET", `/groups/${enc(id)}/members`, { query: { limit: 100 } });
  }
  addMembers(id, userIds) {
    return this.request("POST", `/groups/${enc(id)}/members`, { body: { userIds } });
  }
  removeMember(id, userId) {
    return this.request("DELETE", `/groups/${enc(id)}/members/${enc(userId)}`);
  }
  setRole(id, userId, role) {
    return this.request("PUT", `/groups/${enc(id)}/members/${enc(userId)}/role`, { body: { role } });
  }
  leaveGroup(id) {
    return this.request("POST", `/groups/${enc(id)}/leave`);
  }

  // Attachments
  upload(file) {
    const form = new FormData();
    form.append("file", file, file.name);
    return this.request("POST", "/attachments", { form });
  }
  async attachmentBlob(id) {
    const res = await this.request("GET", `/attachments/${enc(id)}`, { raw: true });
    return res.blob();
  }
}

function enc(s) {
  return encodeURIComponent(String(s));
}

/** Lists come as `{items, hasMore, nextCursor}`; tolerate a bare array too. */
export function itemsOf(page) {
  if (Array.isArray(page)) return page;
  return page?.items ?? [];
}
