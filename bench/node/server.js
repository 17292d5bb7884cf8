// Baseline server for the chat benchmarks (B2, B3, B4): plain socket.io on Node, one room per user, each
// message persisted to SQLite before it is acknowledged and relayed.
//
// Persistence policy: one SQLite transaction per message (WAL, synchronous=FULL, like the chat's `strict`
// durability): insert the message row, one user_message row per side, and upsert both sides' conversation
// rows (last message, unread count). No batching: this is what a straightforward Node chat server does.
//
// Protocol (the subset the benchmarks use, same names as the chat server):
//   handshake auth { token }   HS256 JWT, `sub` = user id; refused with CONNECT_ERROR otherwise
//   on connect                 join room `u:<sub>`, emit `ready { userId }`
//   message.send { targetUserId | conversationId, text, clientMessageId }  -> ack { ok, data: message }
//       direct: emit `message.created` { eventSeq, type, data } to the target's and the sender's rooms
//       group (conversationId of a group joined with group.join): emit to room `g:<id>`
//   group.join { groupId }     join room `g:<id>` (the benchmark's stand-in for group membership)
//
// Environment: BENCH_JWT_SECRET (required), BENCH_DB (SQLite file, default :memory:), PORT (default 0).
// Prints `node-baseline listening on http://127.0.0.1:PORT` once bound.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');
const { Server } = require('socket.io');
const Database = require('better-sqlite3');

const secret = process.env.BENCH_JWT_SECRET;
if (!secret) {
  console.error('BENCH_JWT_SECRET is required');
  process.exit(2);
}

const db = new Database(process.env.BENCH_DB || ':memory:');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.exec(`
  CREATE TABLE IF NOT EXISTS message (
    id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, sender_id TEXT NOT NULL,
    text TEXT NOT NULL, client_message_id TEXT, created_at INTEGER NOT NULL,
    UNIQUE (sender_id, client_message_id));
  CREATE TABLE IF NOT EXISTS user_message (
    message_id TEXT NOT NULL, user_id TEXT NOT NULL, target_id TEXT NOT NULL, side INTEGER NOT NULL,
    is_read INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, message_id));
  CREATE TABLE IF NOT EXISTS conversation (
    user_id TEXT NOT NULL, target_id TEXT NOT NULL, last_message_id TEXT, last_seq INTEGER NOT NULL,
    last_message_date INTEGER NOT NULL, unread INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user_id, target_id));
`);

const nextSeq = db.prepare(
  'SELECT COALESCE(MAX(last_seq), 0) + 1 AS seq FROM conversation WHERE user_id = ? AND target_id = ?');
const insertMessage = db.prepare(
  'INSERT INTO message (id, conversation_id, seq, sender_id, text, client_message_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)');
const insertSide = db.prepare(
  'INSERT INTO user_message (message_id, user_id, target_id, side) VALUES (?, ?, ?, ?)');
const upsertConversation = db.prepare(`
  INSERT INTO conversation (user_id, target_id, last_message_id, last_seq, last_message_date, unread)
  VALUES (?, ?, ?, ?, ?, ?)
  ON CONFLICT (user_id, target_id) DO UPDATE SET last_message_id = excluded.last_message_id,
    last_seq = excluded.last_seq, last_message_date = excluded.last_message_date,
    unread = unread + excluded.unread`);

// One transaction per message: every side written, then committed (fsync) before the ack.
const store = db.transaction((senderId, targetId, isGroup, text, clientMessageId) => {
  const { seq } = nextSeq.get(senderId, targetId);
  const id = crypto.randomUUID();
  const now = Date.now();
  const conversationId = isGroup ? targetId : [senderId, targetId].sort().join(':');
  insertMessage.run(id, conversationId, seq, senderId, text, clientMessageId ?? null, now);
  insertSide.run(id, senderId, targetId, 0);
  upsertConversation.run(senderId, targetId, id, seq, now, 0);
  if (!isGroup) {
    insertSide.run(id, targetId, senderId, 1);
    upsertConversation.run(targetId, senderId, id, seq, now, 1);
  }
  return { id, conversationId, seq, senderId, text, clientMessageId: clientMessageId ?? null, createdAt: now };
});

function verifyToken(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const expected = crypto.createHmac('sha256', secret).update(parts[0] + '.' + parts[1]).digest();
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims.sub !== 'string' || (claims.exp && claims.exp * 1000 < Date.now())) return null;
    return claims;
  } catch {
    return null;
  }
}

const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: 64 * 1024 });

io.use((socket, next) => {
  const claims = verifyToken(socket.handshake.auth && socket.handshake.auth.token);
  if (!claims) return next(new Error('unauthorized'));
  socket.data.userId = claims.sub;
  next();
});

let eventSeq = 0;

io.on('connection', (socket) => {
  const userId = socket.data.userId;
  socket.join('u:' + userId);
  const groups = new Set();

  socket.on('group.join', (body, ack) => {
    if (body && typeof body.groupId === 'string') {
      groups.add(body.groupId);
      socket.join('g:' + body.groupId);
    }
    if (typeof ack === 'function') ack({ ok: true, data: null });
  });

  socket.on('message.send', (body, ack) => {
    const reply = typeof ack === 'function' ? ack : () => {};
    if (!body || typeof body.text !== 'string' || body.text.length === 0) {
      return reply({ ok: false, error: { code: 'chat.validation', message: 'text is required' } });
    }
    const group = typeof body.conversationId === 'string' ? body.conversationId : null;
    const target = group || body.targetUserId;
    if (typeof target !== 'string') {
      return reply({ ok: false, error: { code: 'chat.validation', message: 'target is required' } });
    }
    let message;
    try {
      message = store(userId, target, group !== null, body.text, body.clientMessageId);
    } catch (e) {
      return reply({ ok: false, error: { code: 'chat.internal', message: String(e) } });
    }
    eventSeq += 1;
    const envelope = { eventSeq, type: 'message.created', data: message };
    if (group) {
      io.to('g:' + group).emit('message.created', envelope);
    } else {
      io.to('u:' + target).to('u:' + userId).emit('message.created', envelope);
    }
    reply({ ok: true, data: message });
  });

  socket.emit('ready', { userId, eventSeq });
});

httpServer.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  const { port } = httpServer.address();
  console.log(`node-baseline listening on http://127.0.0.1:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    io.close();
    db.close();
    process.exit(0);
  });
}
