// Protocol tests of the page's own Socket.IO client (chat-host/web/js/socket.js) against a scripted
// fake WebSocket: no browser and no server needed.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { SocketIoClient, backoffDelay, parseSocketIoPacket } from "../../../chat-host/web/js/socket.js";

class FakeWebSocket {
  static OPEN = 1;
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    FakeWebSocket.instances.push(this);
  }
  send(frame) {
    this.sent.push(frame);
  }
  close() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({}));
  }
  // Test side: the server sends a frame.
  receive(frame) {
    this.readyState = 1;
    this.onmessage?.({ data: frame });
  }
}
globalThis.WebSocket = FakeWebSocket;

function client(options = {}) {
  const events = [];
  const states = [];
  const c = new SocketIoClient({
    url: "ws://test/socket.io/?EIO=4&transport=websocket",
    auth: () => ({ token: "t", afterEventSeq: options.afterEventSeq }),
    onEvent: (name, data, ack) => events.push({ name, data, ack }),
    onState: (s, d) => states.push({ s, d }),
    ...options,
  });
  return { c, events, states };
}

const lastSocket = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1];

function handshake(ws) {
  ws.receive('0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}');
  ws.receive('40{"sid":"s1"}');
}

describe("socket.io packet parsing", () => {
  it("parses events, acks with ids and namespaces", () => {
    assert.deepEqual(parseSocketIoPacket('2["ready",{"a":1}]'), { type: "2", namespace: "/", id: null, data: ["ready", { a: 1 }] });
    assert.deepEqual(parseSocketIoPacket('312[{"ok":true}]'), { type: "3", namespace: "/", id: 12, data: [{ ok: true }] });
    assert.deepEqual(parseSocketIoPacket('2/admin,7["x"]'), { type: "2", namespace: "/admin", id: 7, data: ["x"] });
    assert.deepEqual(parseSocketIoPacket("0"), { type: "0", namespace: "/", id: null, data: undefined });
    assert.equal(parseSocketIoPacket("2[broken"), null);
  });

  it("backs off exponentially with a cap", () => {
    for (let i = 0; i < 20; i += 1) {
      const d = backoffDelay(i, 500, 15000);
      const cap = Math.min(15000, 500 * 2 ** i);
      assert.ok(d >= cap / 2 && d <= cap, `attempt ${i}: ${d}`);
    }
  });
});

describe("socket.io client", () => {
  it("connects with auth, answers pings and reports connected", () => {
    const { c, states } = client({ afterEventSeq: 41 });
    c.open();
    const ws = lastSocket();
    assert.equal(ws.url, "ws://test/socket.io/?EIO=4&transport=websocket");
    ws.receive('0{"sid":"abc","pingInterval":25000,"pingTimeout":20000}');
    assert.deepEqual(JSON.parse(ws.sent[0].slice(2)), { token: "t", afterEventSeq: 41 });
    assert.ok(ws.sent[0].startsWith("40"));
    ws.receive('40{"sid":"s1"}');
    assert.equal(c.connected, true);
    assert.equal(states.at(-1).s, "connected");
    ws.receive("2");
    assert.equal(ws.sent.at(-1), "3");
    c.close();
  });

  it("delivers events and answers server acks", () => {
    const { c, events } = client();
    c.open();
    const ws = lastSocket();
    handshake(ws);
    ws.receive('42["message.created",{"eventSeq":5,"type":"message.created","data":{"id":"m"}}]');
    assert.equal(events[0].name, "message.created");
    assert.equal(events[0].data.eventSeq, 5);
    assert.equal(events[0].ack, undefined);
    ws.receive('429["ping.me",{}]');
    events[1].ack({ ok: true });
    assert.equal(ws.sent.at(-1), '439[{"ok":true}]');
    c.close();
  });

  it("resolves requests with the matching acknowledgement", async () => {
    const { c } = client();
    c.open();
    const ws = lastSocket();
    handshake(ws);
    const first = c.request("message.send", { text: "a" });
    const second = c.request("typing", { isTyping: true });
    assert.equal(ws.sent.at(-2), '420["message.send",{"text":"a"}]');
    assert.equal(ws.sent.at(-1), '421["typing",{"isTyping":true}]');
    ws.receive('431[{"ok":true,"data":2}]');
    ws.receive('430[{"ok":true,"data":1}]');
    assert.deepEqual(await first, { ok: true, data: 1 });
    assert.deepEqual(await second, { ok: true, data: 2 });
    c.close();
  });

  it("fails pending requests when the connection drops, then reconnects with backoff", async () => {
    const { c, states } = client();
    c.open();
    const ws = lastSocket();
    handshake(ws);
    const pending = c.request("sync", { afterEventSeq: 1 });
    ws.close();
    await assert.rejects(pending, /connection lost/);
    assert.equal(c.connected, false);
    const waiting = states.at(-1);
    assert.equal(waiting.s, "waiting");
    assert.ok(waiting.d.retryAt > Date.now() - 1);
    c.reconnectNow();
    assert.notEqual(lastSocket(), ws);
    handshake(lastSocket());
    assert.equal(c.connected, true);
    c.close();
  });

  it("reports a refused handshake (connect error) and does not count as connected", () => {
    const { c, states } = client();
    c.open();
    const ws = lastSocket();
    ws.receive('0{"sid":"abc","pingInterval":25000,"pingTimeout":20000}');
    ws.receive('44{"message":"unauthorized"}');
    assert.equal(c.connected, false);
    assert.ok(states.some((x) => x.s === "error" && x.d.message === "unauthorized"));
    c.close();
  });

  it("refuses requests while disconnected", async () => {
    const { c } = client();
    await assert.rejects(c.request("sync", {}), /not connected/);
    assert.equal(c.emit("typing", {}), false);
  });
});
