// Cross-check of the Rust load generator: the same open-loop scenario as B2, driven by the official
// socket.io-client. N sockets (user i sends to user (i + N/2) mod N), messages scheduled at a fixed rate,
// latency from the scheduled send time to the target's `message.created`, measured in this one process.
//
// Environment: BENCH_URL (http://127.0.0.1:PORT), BENCH_JWT_SECRET, BENCH_CLIENTS, BENCH_RATE (msg/s),
// BENCH_MESSAGES, BENCH_WARMUP (messages not measured). Prints one JSON line with the figures.
'use strict';

const crypto = require('node:crypto');
const { io } = require('socket.io-client');

const url = process.env.BENCH_URL;
const secret = process.env.BENCH_JWT_SECRET;
const clients = Number(process.env.BENCH_CLIENTS || 400);
const rate = Number(process.env.BENCH_RATE || 400);
const total = Number(process.env.BENCH_MESSAGES || 2000);
const warmup = Number(process.env.BENCH_WARMUP || 400);

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
function token(sub, i) {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, preferred_username: `bench-${i}`, exp: Math.floor(Date.now() / 1000) + 86400 });
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const users = Array.from({ length: clients }, () => crypto.randomUUID());
const received = new Uint8Array(total);
const acked = new Uint8Array(total);
const latencies = [];
const ackLatencies = [];

function onCreated(self, envelope) {
  const text = envelope && envelope.data && envelope.data.text;
  const m = /#bm:(\d+):(\d+):(\d+)#/.exec(text || '');
  if (!m || Number(m[3]) === self) return;
  const msg = Number(m[1]);
  if (received[msg]) return;
  received[msg] = 1;
  if (msg >= warmup) latencies.push(nowUs() - Number(m[2]));
}

function connect(i) {
  return new Promise((resolve, reject) => {
    const s = io(url, { transports: ['websocket'], auth: { token: token(users[i], i) }, reconnection: false });
    s.on('message.created', (env) => onCreated(i, env));
    s.once('ready', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function pct(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)] / 1000;
}

async function main() {
  const sockets = [];
  for (let i = 0; i < clients; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 50); j++) batch.push(connect(j));
    sockets.push(...(await Promise.all(batch)));
  }
  const start = nowUs() + 20000;
  const interval = 1e6 / rate;
  let next = 0;
  await new Promise((done) => {
    const tick = () => {
      const now = nowUs();
      while (next < total && start + next * interval <= now) {
        const msg = next++;
        const sched = Math.floor(start + msg * interval);
        const from = msg % clients;
        const to = (from + Math.floor(clients / 2)) % clients;
        const body = { targetUserId: users[to], text: `#bm:${msg}:${sched}:${from}#`, clientMessageId: crypto.randomUUID() };
        sockets[from].emit('message.send', body, (reply) => {
          if (reply && reply.ok) {
            acked[msg] = 1;
            if (msg >= warmup) ackLatencies.push(nowUs() - sched);
          }
        });
      }
      if (next < total) setImmediate(tick);
      else done();
    };
    tick();
  });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && received.reduce((a, b) => a + b, 0) < total) {
    await new Promise((r) => setTimeout(r, 20));
  }
  latencies.sort((a, b) => a - b);
  ackLatencies.sort((a, b) => a - b);
  let lost = 0;
  for (let i = 0; i < total; i++) if (acked[i] && !received[i]) lost++;
  console.log(JSON.stringify({
    client: 'socket.io-client', clients, rate, messages: total, warmup,
    delivery_p50_ms: pct(latencies, 0.5), delivery_p99_ms: pct(latencies, 0.99),
    ack_p99_ms: pct(ackLatencies, 0.99), lost, acked: acked.reduce((a, b) => a + b, 0),
  }));
  for (const s of sockets) s.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
