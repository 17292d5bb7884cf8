// A small Socket.IO v5 client over a plain WebSocket (Engine.IO v4, websocket transport only).
//
// Why our own client: the page must work offline and without a build step, so it cannot pull the
// official client from a CDN or a bundler. The subset used here is small: connect with auth, events,
// acknowledgements in both directions, ping/pong, and reconnection with exponential backoff.
//
// Packet reference (text frames only; binary attachments are not used by this chat):
//   Engine.IO: 0 open {sid, pingInterval, pingTimeout}, 1 close, 2 ping, 3 pong, 4 message
//   Socket.IO (inside "4"): 0 connect, 1 disconnect, 2 event, 3 ack, 4 connect error

const EIO_OPEN = "0";
const EIO_CLOSE = "1";
const EIO_PING = "2";
const EIO_PONG = "3";
const EIO_MESSAGE = "4";

const SIO_CONNECT = "0";
const SIO_DISCONNECT = "1";
const SIO_EVENT = "2";
const SIO_ACK = "3";
const SIO_CONNECT_ERROR = "4";

/** Parses the Socket.IO part of an Engine.IO message packet (the text after the leading "4"). */
export function parseSocketIoPacket(text) {
  const type = text.charAt(0);
  let i = 1;
  let namespace = "/";
  if (text.charAt(i) === "/") {
    const comma = text.indexOf(",", i);
    const end = comma === -1 ? text.length : comma;
    namespace = text.slice(i, end);
    i = comma === -1 ? text.length : comma + 1;
  }
  let id = null;
  const start = i;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i += 1;
  if (i > start) id = Number(text.slice(start, i));
  let data;
  if (i < text.length) {
    try {
      data = JSON.parse(text.slice(i));
    } catch {
      return null;
    }
  }
  return { type, namespace, id, data };
}

/** Backoff before reconnect attempt `attempt` (0-based): exponential, capped, with jitter. */
export function backoffDelay(attempt, baseMs = 500, maxMs = 15000) {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 10));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/**
 * A reconnecting Socket.IO connection on the default namespace.
 *
 * Options:
 *  - url: the WebSocket URL (defaults to this page's origin)
 *  - auth(): returns the handshake auth object; called on every (re)connect so the token and
 *    `afterEventSeq` are always current
 *  - onEvent(name, data, ack): a server event; `ack` is a function when the server asked for one
 *  - onState(state, detail): "connecting" | "connected" | "waiting" | "error" | "closed"
 */
export class SocketIoClient {
  constructor({ url, auth, onEvent, onState, ackTimeoutMs = 10000 }) {
    this.url = url ?? defaultSocketUrl();
    this.auth = auth ?? (() => ({}));
    this.onEvent = onEvent ?? (() => {});
    this.onState = onState ?? (() => {});
    this.ackTimeoutMs = ackTimeoutMs;
    this.ws = null;
    this.connected = false;
    this.stopped = true;
    this.attempt = 0;
    this.nextAckId = 0;
    this.pendingAcks = new Map();
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.pingDeadlineMs = 45000;
    this.state = "closed";
  }

  /** Starts connecting (and keeps reconnecting until `close()`). */
  open() {
    this.stopped = false;
    this.attempt = 0;
    this.#connectNow();
  }

  /** Closes for good: no more reconnects. */
  close() {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.heartbeatTimer);
    this.#failPendingAcks("closed");
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        if (ws.readyState === WebSocket.OPEN) ws.send(EIO_MESSAGE + SIO_DISCONNECT);
        ws.close();
      } catch {
        // Already closed.
      }
    }
    this.connected = false;
    this.#setState("closed");
  }

  /** Drops the current transport and reconnects at once (e.g. when the network comes back). */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close();
      } catch {
        // Already closed.
      }
    }
    this.connected = false;
    this.#connectNow();
  }

  /** Emits an event without waiting for an answer. Returns false when not connected. */
  emit(event, data) {
    if (!this.connected || !this.ws) return false;
    this.ws.send(EIO_MESSAGE + SIO_EVENT + JSON.stringify([event, data]));
    return true;
  }

  /** Emits an event and resolves with the server's acknowledgement (its first argument). */
  request(event, data, timeoutMs = this.ackTimeoutMs) {
    return new Promise((resolve, reject) => {
      if (!this.connected || !this.ws) {
        reject(new Error("not connected"));
        return;
      }
      const id = this.nextAckId++;
      const timer = setTimeout(() => {
        this.pendingAcks.delete(id);
        reject(new Error("acknowledgement timed out"));
      }, timeoutMs);
      this.pendingAcks.set(id, { resolve, reject, timer });
      this.ws.send(EIO_MESSAGE + SIO_EVENT + id + JSON.stringify([event, data]));
    });
  }

  #setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  #connectNow() {
    if (this.stopped) return;
    this.#setState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.#scheduleReconnect(String(err));
      return;
    }
    this.ws = ws;
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (typeof ev.data === "string") this.#onFrame(ev.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connected = false;
      clearTimeout(this.heartbeatTimer);
      this.#failPendingAcks("connection lost");
      this.#scheduleReconnect("connection lost");
    };
    ws.onerror = () => {
      // onclose follows and does the work.
    };
  }

  #scheduleReconnect(reason) {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.#setState("waiting", { reason, retryAt: Date.now() + delay });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.#connectNow(), delay);
  }

  #armHeartbeat() {
    // The server pings every pingInterval; if nothing arrives within interval + timeout the
    // connection is dead even though the socket has not noticed yet.
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      if (this.ws) {
        const ws = this.ws;
        ws.onclose = null;
        this.ws = null;
        this.connected = false;
        try {
          ws.close();
        } catch {
          // Already closed.
        }
        this.#failPendingAcks("ping timeout");
        this.#scheduleReconnect("ping timeout");
      }
    }, this.pingDeadlineMs);
  }

  #onFrame(frame) {
    const kind = frame.charAt(0);
    if (kind === EIO_OPEN) {
      try {
        const open = JSON.parse(frame.slice(1));
        const interval = Number(open.pingInterval) || 25000;
        const timeout = Number(open.pingTimeout) || 20000;
        this.pingDeadlineMs = interval + timeout;
      } catch {
        // Keep defaults.
      }
      this.#armHeartbeat();
      const auth = this.auth() ?? {};
      this.ws.send(EIO_MESSAGE + SIO_CONNECT + JSON.stringify(auth));
      return;
    }
    if (kind === EIO_PING) {
      this.#armHeartbeat();
      this.ws.send(EIO_PONG + frame.slice(1));
      return;
    }
    if (kind === EIO_CLOSE) {
      this.ws?.close();
      return;
    }
    if (kind !== EIO_MESSAGE) return;
    const packet = parseSocketIoPacket(frame.slice(1));
    if (!packet || packet.namespace !== "/") return;
    switch (packet.type) {
      case SIO_CONNECT:
        this.connected = true;
        this.attempt = 0;
        this.#setState("connected", packet.data);
        break;
      case SIO_CONNECT_ERROR: {
        const message = packet.data?.message ?? "connection refused";
        this.connected = false;
        this.#setState("error", { message, data: packet.data?.data });
        // The server closes the transport (or we do); onclose schedules the retry with backoff.
        try {
          this.ws?.close();
        } catch {
          // Already closed.
        }
        break;
      }
      case SIO_DISCONNECT:
        this.connected = false;
        this.ws?.close();
        break;
      case SIO_EVENT: {
        if (!Array.isArray(packet.data) || typeof packet.data[0] !== "string") return;
        const [name, ...args] = packet.data;
        let ack;
        if (packet.id !== null) {
          const id = packet.id;
          ack = (...reply) => this.ws?.send(EIO_MESSAGE + SIO_ACK + id + JSON.stringify(reply));
        }
        this.onEvent(name, args[0], ack);
        break;
      }
      case SIO_ACK: {
        const pending = this.pendingAcks.get(packet.id);
        if (!pending) return;
        this.pendingAcks.delete(packet.id);
        clearTimeout(pending.timer);
        pending.resolve(Array.isArray(packet.data) ? packet.data[0] : packet.data);
        break;
      }
      default:
        break;
    }
  }

  #failPendingAcks(reason) {
    for (const [, pending] of this.pendingAcks) {
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
    }
    this.pendingAcks.clear();
  }
}

function defaultSocketUrl() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/socket.io/?EIO=4&transport=websocket`;
}
