// Takes the screenshots in docs/screenshots/: two people chatting, at desktop and at phone width.
// Run through `run.sh <chat-host-binary> screenshots`, which starts a fresh server.

import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { convRow, devLogin, launchBrowser, messageRow, newUser, rest, send, startChatWith, waitUntil } from "./lib/harness.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = process.env.CHAT_SCREENSHOT_OUT || path.resolve(here, "../../docs/screenshots");
mkdirSync(outDir, { recursive: true });

const browser = await launchBrowser();
try {
  // Carol exists first, so she can be found and put in a group.
  const carol = await devLogin("Carol");
  const bob = await newUser(browser, "Bob", { viewport: { width: 390, height: 780 }, deviceScaleFactor: 2 });
  const alice = await newUser(browser, "Alice", { viewport: { width: 1280, height: 760 } });

  // A group with some history, so the list has more than one conversation.
  const aliceAuth = await alice.auth();
  const bobAuth = await bob.auth();
  const group = await rest(aliceAuth.token, "POST", "/api/chat/groups", {
    name: "Weekend trip",
    memberIds: [bobAuth.userId, carol.userId],
  });
  await rest(carol.token, "POST", "/api/chat/messages", { conversationId: group.id, text: "Who's bringing the tent? ⛺" });
  await rest(carol.token, "POST", "/api/chat/messages", { targetUserId: aliceAuth.userId, text: "See you tomorrow!" });

  await startChatWith(alice, "Bob");
  await send(alice, "Hi Bob! Are we still on for lunch today?");
  await convRow(bob.page, "Alice").locator(".badge").waitFor();
  await bob.page.screenshot({ path: path.join(outDir, "phone-conversations.png") });

  await convRow(bob.page, "Alice").click();
  await messageRow(bob.page, "Hi Bob! Are we still on for lunch today?").waitFor();
  await send(bob, "Absolutely. 12:30 at the usual place?");
  await messageRow(alice.page, "Absolutely. 12:30 at the usual place?").waitFor();
  await send(alice, "Perfect 👌\nI'll book a table by the window.");
  await messageRow(bob.page, "I'll book a table by the window.").waitFor();

  // Bob reacts and replies.
  const row = messageRow(bob.page, "I'll book a table by the window.");
  await row.locator(".msg-menu-btn").click({ force: true });
  await bob.page.locator("#menu .menu-emoji", { hasText: "❤️" }).click();
  await messageRow(alice.page, "I'll book a table by the window.").locator(".reaction").waitFor();
  await row.locator(".msg-menu-btn").click({ force: true });
  await bob.page.locator("#menu .menu-item", { hasText: "Reply" }).click();
  await send(bob, "Great, see you there!");
  await messageRow(alice.page, "Great, see you there!").waitFor();
  await messageRow(bob.page, "Great, see you there!").locator('.ticks[data-state="read"]').waitFor();
  await send(alice, "<b>Markup</b> stays plain text: <script>alert(1)</script>");
  await messageRow(bob.page, "<b>Markup</b> stays plain text: <script>alert(1)</script>").waitFor();

  // Alice starts typing, so Bob sees the indicator.
  await alice.page.locator("#composer-input").pressSequentially("On my way");
  await waitUntil(bob.page, () => document.querySelector("#typing")?.textContent.includes("typing"));

  await alice.page.mouse.move(0, 0);
  await bob.page.mouse.move(0, 0);
  await alice.page.screenshot({ path: path.join(outDir, "desktop-chat.png") });
  await bob.page.screenshot({ path: path.join(outDir, "phone-chat.png") });

  // The sign-in page at phone width.
  const ctx = await browser.newContext({ viewport: { width: 390, height: 780 } });
  const login = await ctx.newPage();
  await login.goto(alice.page.url().split("#")[0]);
  await login.waitForSelector("#login:not([hidden])");
  await login.screenshot({ path: path.join(outDir, "phone-sign-in.png") });
  await ctx.close();

  console.log(`screenshots written to ${outDir}`);
} finally {
  await browser.close();
}
