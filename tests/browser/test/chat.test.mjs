// Two people chat through the web page, each in their own browser context.
// The server is started by run.sh (CHAT_BASE_URL); every wait is for a selector or a condition.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  BASE_URL, convRow, devLogin, launchBrowser, messageRow, newUser, rest, send, startChatWith, unique, waitUntil,
  withScreenshots,
} from "../lib/harness.mjs";

describe("web chat page", () => {
  let browser;
  let alice;
  let bob;
  const aliceName = unique("alice");
  const bobName = unique("bob");
  const users = () => [alice, bob];
  const step = (label, fn) => it(label, () => withScreenshots(users, label, fn));

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  step("serves the page with its assets and content types", async () => {
    const page = await fetch(`${BASE_URL}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /^text\/html/);
    assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const js = await fetch(`${BASE_URL}/js/app.js`);
    assert.match(js.headers.get("content-type"), /javascript/);
    const css = await fetch(`${BASE_URL}/app.css`);
    assert.match(css.headers.get("content-type"), /^text\/css/);
  });

  step("two users sign in with the development login", async () => {
    // Bob first, so the server knows him when Alice looks for him.
    bob = await newUser(browser, bobName);
    alice = await newUser(browser, aliceName);
    assert.equal(await alice.page.textContent("#me-name"), aliceName);
    assert.equal(await bob.page.textContent("#conn-label"), "Online");
  });

  step("a message typed by one appears for the other with an unread badge", async () => {
    await startChatWith(alice, bobName);
    await send(alice, "Hello Bob!");
    await messageRow(alice.page, "Hello Bob!").locator('.ticks:not([data-state="pending"])').waitFor();

    // Bob has no conversation open: the conversation shows up with one unread message.
    const conv = convRow(bob.page, aliceName);
    await conv.locator(".badge").waitFor();
    assert.equal((await conv.locator(".badge").textContent()).trim(), "1");
    assert.match(await conv.locator(".conv-last").textContent(), /Hello Bob!/);
    // Bob's page received it (but he has not read it yet): Alice sees "delivered".
    await messageRow(alice.page, "Hello Bob!").locator('.ticks[data-state="delivered"]').waitFor();
    assert.equal(await alice.page.title(), "Chat");
    assert.equal(await bob.page.title(), "(1) Chat");

    await send(alice, "Are you there?");
    await waitUntil(
      bob.page,
      (n) => [...document.querySelectorAll(".conv")].some((c) => c.textContent.includes(n) && c.querySelector(".badge")?.textContent === "2"),
      aliceName,
    );
  });

  step("opening the conversation reads it: the badge goes and the sender sees read ticks", async () => {
    await convRow(bob.page, aliceName).click();
    await messageRow(bob.page, "Hello Bob!").waitFor();
    await messageRow(bob.page, "Are you there?").waitFor();
    await convRow(bob.page, aliceName).locator(".badge").waitFor({ state: "detached" });

    await messageRow(alice.page, "Are you there?").locator('.ticks[data-state="read"]').waitFor();
    await messageRow(alice.page, "Hello Bob!").locator('.ticks[data-state="read"]').waitFor();
  });

  step("a reply shows the message it answers", async () => {
    const original = messageRow(bob.page, "Hello Bob!");
    await original.hover();
    await original.locator(".msg-menu-btn").click();
    await bob.page.locator("#menu .menu-item", { hasText: "Reply" }).click();
    await bob.page.locator("#composer-context", { hasText: "Replying to" }).waitFor();
    await send(bob, "Yes, I am here.");
    const reply = messageRow(alice.page, "Yes, I am here.");
    await reply.waitFor();
    await reply.locator(".msg-reply", { hasText: "Hello Bob!" }).waitFor();
    // Bob has the conversation open, so his reply is read by Alice as soon as it arrives.
    await messageRow(bob.page, "Yes, I am here.").locator('.ticks[data-state="read"]').waitFor();
  });

  step("the typing indicator shows while the other types", async () => {
    await alice.page.locator("#composer-input").pressSequentially("typing…");
    await waitUntil(bob.page, (n) => document.querySelector("#typing")?.textContent.includes(n), aliceName);
    await alice.page.locator("#composer-input").fill("");
  });

  step("an edit shows on both sides", async () => {
    const row = messageRow(alice.page, "Are you there?");
    await row.hover();
    await row.locator(".msg-menu-btn").click();
    await alice.page.locator("#menu .menu-item", { hasText: "Edit" }).click();
    await alice.page.locator("#composer-input").fill("Are you there, Bob?");
    await alice.page.locator("#composer-input").press("Enter");

    const edited = messageRow(bob.page, "Are you there, Bob?");
    await edited.waitFor();
    await edited.locator(".msg-edited").waitFor();
    assert.equal(await bob.page.locator(".msg-text", { hasText: /^Are you there\?$/ }).count(), 0);
    await messageRow(alice.page, "Are you there, Bob?").locator(".msg-edited").waitFor();
  });

  step("markup in a message is shown as literal text and never runs", async () => {
    const evil = "<script>alert(1)</script>";
    const img = '<img src=x onerror="alert(2)">';
    await send(alice, evil);
    await send(alice, img);
    for (const u of [alice, bob]) {
      const row = messageRow(u.page, evil);
      await row.waitFor();
      assert.equal(await row.locator(".msg-text").textContent(), evil);
      await messageRow(u.page, img).waitFor();
      assert.equal(await u.page.locator("#message-list script, #message-list img[src='x']").count(), 0);
      // The conversation list preview is text too.
    }
    assert.equal(await bob.page.locator(".conv script").count(), 0);
    assert.deepEqual(alice.dialogs, []);
    assert.deepEqual(bob.dialogs, []);
  });

  step("a reaction appears for the other user", async () => {
    const row = messageRow(bob.page, "Hello Bob!");
    await row.hover();
    await row.locator(".msg-menu-btn").click();
    await bob.page.locator("#menu .menu-emoji", { hasText: "👍" }).click();
    await messageRow(alice.page, "Hello Bob!").locator(".reaction", { hasText: "👍 1" }).waitFor();
    await messageRow(bob.page, "Hello Bob!").locator(".reaction.me", { hasText: "👍 1" }).waitFor();
  });

  step("delete for everyone replaces the message on both sides", async () => {
    await send(alice, "Oops, wrong chat");
    await messageRow(bob.page, "Oops, wrong chat").waitFor();
    const row = messageRow(alice.page, "Oops, wrong chat");
    await row.hover();
    await row.locator(".msg-menu-btn").click();
    await alice.page.locator("#menu .menu-item", { hasText: "Delete for everyone" }).click();
    await alice.page.locator("#dialog button[value=ok]").click();
    await waitUntil(bob.page, () => ![...document.querySelectorAll(".msg-text")].some((e) => e.textContent === "Oops, wrong chat"));
    await bob.page.locator(".msg.deleted").first().waitFor();
  });

  step("a reload keeps the history and the open conversation", async () => {
    await bob.page.reload();
    await bob.page.waitForSelector('#conn[data-state="connected"]');
    await messageRow(bob.page, "Hello Bob!").waitFor();
    await messageRow(bob.page, "Are you there, Bob?").waitFor();
    await messageRow(bob.page, "<script>alert(1)</script>").waitFor();
    // Ticks survive the reload too (from the receipts of the latest own message).
    await messageRow(bob.page, "Yes, I am here.").locator('.ticks[data-state="read"]').waitFor();
    // And the page is still live after the reload.
    await send(alice, "Still there after the reload?");
    await messageRow(bob.page, "Still there after the reload?").waitFor();
  });

  step("a dropped connection shows as reconnecting and comes back by itself", async () => {
    await bob.page.evaluate(() => {
      window.seenStates = [];
      const pill = document.querySelector("#conn");
      new MutationObserver(() => window.seenStates.push(pill.dataset.state)).observe(pill, { attributes: true });
      // Drop the transport as a network failure would (not a clean close by the page).
      window.chatPage.socket().ws.close();
    });
    await waitUntil(bob.page, () => window.seenStates.includes("connected"));
    const states = await bob.page.evaluate(() => window.seenStates);
    assert.ok(states.includes("waiting"), `states seen: ${states.join(", ")}`);
    await send(alice, "Back online?");
    await messageRow(bob.page, "Back online?").waitFor();
  });

  step("messages sent while the connection is down arrive after reconnecting", async () => {
    await bob.page.evaluate(() => window.chatPage.socket().close());
    await bob.page.waitForSelector('#conn[data-state="closed"]');
    await send(alice, "Sent while you were away");
    await messageRow(alice.page, "Sent while you were away").locator('.ticks:not([data-state="pending"])').waitFor();
    await bob.page.evaluate(() => window.chatPage.socket().open());
    await bob.page.waitForSelector('#conn[data-state="connected"]');
    await messageRow(bob.page, "Sent while you were away").waitFor();
    // Exactly once, although the handshake's afterEventSeq and the sync call may both replay it.
    assert.equal(await bob.page.locator(".msg-text", { hasText: "Sent while you were away" }).count(), 1);
  });

  step("older history loads page by page while scrolling up", async () => {
    const carolName = unique("carol");
    const carol = await devLogin(carolName);
    const bobAuth = await bob.auth();
    const conv = await rest(carol.token, "POST", "/api/chat/conversations", { targetUserId: bobAuth.userId });
    for (let i = 1; i <= 60; i += 1) {
      // Sequential, with the server's rate limit in mind: retry after its Retry-After on 429.
      for (;;) {
        const res = await fetch(`${BASE_URL}/api/chat/messages`, {
          method: "POST",
          headers: { Authorization: `Bearer ${carol.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ conversationId: conv.id, text: `history ${i}`, clientMessageId: `hist-${conv.id}-${i}` }),
        });
        if (res.status !== 429) {
          assert.ok(res.ok, `send ${i}: ${res.status}`);
          break;
        }
        const wait = Number(res.headers.get("retry-after") || "1") * 1000;
        await new Promise((r) => setTimeout(r, Math.min(wait, 2000)));
      }
    }
    await convRow(bob.page, carolName).click();
    await messageRow(bob.page, "history 60").waitFor();
    assert.equal(await bob.page.locator(".msg-text", { hasText: /^history 1$/ }).count(), 0);
    // Scroll to the top until the first message is there.
    await waitUntil(bob.page, () => {
      const box = document.querySelector("#messages");
      box.scrollTop = 0;
      box.dispatchEvent(new Event("scroll"));
      return [...document.querySelectorAll(".msg-text")].some((e) => e.textContent === "history 1");
    });
    assert.equal(await bob.page.locator(".msg-text", { hasText: /^history \d+$/ }).count(), 60);
    await bob.page.locator("#history-status", { hasText: "Beginning" }).waitFor();

    // Deleting the chat removes it from Bob's list (his side only), also after a reload.
    await bob.page.click("#btn-delete-chat");
    await bob.page.locator("#dialog button[value=ok]").click();
    await convRow(bob.page, carolName).waitFor({ state: "detached" });
    await bob.page.reload();
    await convRow(bob.page, aliceName).waitFor();
    assert.equal(await convRow(bob.page, carolName).count(), 0);
  });

  step("a group is created and both members chat in it", async () => {
    const groupName = unique("Team ");
    await alice.page.click("#btn-new-group");
    await alice.page.fill("#dialog input[aria-label='Group name']", groupName);
    await alice.page.fill("#dialog input[type=search]", bobName);
    await alice.page.locator("#dialog .picker-row", { hasText: bobName }).locator("input[type=checkbox]").check();
    await alice.page.locator("#dialog button", { hasText: "Create group" }).click();
    await waitUntil(alice.page, (n) => document.querySelector("#chat-title")?.textContent === n, groupName);
    await send(alice, "Welcome to the group");
    const conv = convRow(bob.page, groupName);
    await conv.waitFor();
    await conv.click();
    await messageRow(bob.page, "Welcome to the group").waitFor();
    await messageRow(bob.page, "Welcome to the group").locator(".msg-sender", { hasText: aliceName }).waitFor();
    // Group info lists both members with the owner's role.
    await alice.page.click("#btn-info");
    await alice.page.locator("#panel .member", { hasText: bobName }).waitFor();
    await alice.page.locator("#panel .tag.role-owner").waitFor();
  });

  step("search finds a message", async () => {
    await alice.page.fill("#search", "reload");
    await alice.page.locator(".search-hit", { hasText: "Still there after the reload?" }).waitFor();
    await alice.page.fill("#search", "");
  });

  step("delete for me removes the message only on my side", async () => {
    await convRow(bob.page, aliceName).click();
    await convRow(alice.page, bobName).click();
    await send(alice, "Only Bob deletes this");
    const row = messageRow(bob.page, "Only Bob deletes this");
    await row.waitFor();
    await row.hover();
    await row.locator(".msg-menu-btn").click();
    await bob.page.locator("#menu .menu-item", { hasText: "Delete for me" }).click();
    await row.waitFor({ state: "detached" });
    // Alice still has it.
    assert.equal(await messageRow(alice.page, "Only Bob deletes this").count(), 1);
  });

  step("mute and archive toggle from the conversation header", async () => {
    const conv = () => convRow(alice.page, bobName);
    await convRow(alice.page, bobName).click();
    await alice.page.click("#btn-mute");
    await conv().locator(".muted-icon").waitFor();
    await alice.page.click("#btn-mute");
    await conv().locator(".muted-icon").waitFor({ state: "detached" });
    await alice.page.click("#btn-archive");
    await conv().locator(".tag", { hasText: "archived" }).waitFor();
    await alice.page.click("#btn-archive");
    await conv().locator(".tag", { hasText: "archived" }).waitFor({ state: "detached" });
  });

  step("the send-on-Enter setting is honoured", async () => {
    await bob.page.click("#btn-settings");
    await bob.page.uncheck("#setting-send-on-enter");
    await bob.page.locator("#dialog button", { hasText: "Save" }).click();
    await bob.page.waitForSelector("#dialog", { state: "hidden" });
    const input = bob.page.locator("#composer-input");
    await input.fill("first line");
    await input.press("Enter");
    await input.pressSequentially("second line");
    assert.equal(await input.inputValue(), "first line\nsecond line");
    await input.press("Control+Enter");
    await waitUntil(alice.page, () => [...document.querySelectorAll(".msg-text")].some((e) => e.textContent === "first line\nsecond line"));
    // The setting is stored on the server: a reload keeps it; then switch it back.
    await bob.page.reload();
    await bob.page.waitForSelector('#conn[data-state="connected"]');
    await bob.page.click("#btn-settings");
    assert.equal(await bob.page.isChecked("#setting-send-on-enter"), false);
    await bob.page.check("#setting-send-on-enter");
    await bob.page.locator("#dialog button", { hasText: "Save" }).click();
    await bob.page.waitForSelector("#dialog", { state: "hidden" });
  });

  step("an attachment is uploaded, sent and shown to the other user", async () => {
    // A 1x1 PNG.
    const png = Buffer.from(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
      "base64",
    );
    await convRow(alice.page, bobName).click();
    await alice.page.setInputFiles("#file-input", { name: "dot.png", mimeType: "image/png", buffer: png });
    await alice.page.locator("#pending-attachments .chip:not(.uploading)").waitFor();
    await send(alice, "A picture");
    const row = messageRow(bob.page, "A picture");
    await row.waitFor();
    await waitUntil(
      bob.page,
      () => [...document.querySelectorAll(".att-image")].some((img) => img.src.startsWith("blob:") && img.complete && img.naturalWidth === 1),
    );
  });

  step("group members can be promoted and removed", async () => {
    const carolName = unique("carol");
    await devLogin(carolName);
    const group = alice.page.locator(".conv .tag", { hasText: "group" }).first();
    await group.click();
    await alice.page.waitForSelector("#btn-info:not([hidden])");
    if (await alice.page.locator("#panel").isHidden()) await alice.page.click("#btn-info");
    await alice.page.locator("#panel button", { hasText: "Add members" }).click();
    await alice.page.fill("#dialog input[type=search]", carolName);
    await alice.page.locator("#dialog .picker-row", { hasText: carolName }).locator("input[type=checkbox]").check();
    await alice.page.locator("#dialog button", { hasText: /^Add$/ }).click();
    const carolRow = alice.page.locator("#panel .member", { hasText: carolName });
    await carolRow.waitFor();
    await carolRow.locator("button", { hasText: "Make admin" }).click();
    await alice.page.locator("#panel .member", { hasText: carolName }).locator(".tag.role-admin").waitFor();
    await alice.page.locator("#panel .member", { hasText: carolName }).locator("button", { hasText: "Remove" }).click();
    await alice.page.locator("#dialog button[value=ok]").click();
    await alice.page.locator("#panel .member", { hasText: carolName }).waitFor({ state: "detached" });
  });

  step("at phone width one pane shows at a time", async () => {
    await bob.page.setViewportSize({ width: 390, height: 780 });
    // A conversation is open: it fills the screen, and the back button shows the list.
    await bob.page.waitForSelector("#chat-view", { state: "visible" });
    await bob.page.waitForSelector(".sidebar", { state: "hidden" });
    await bob.page.click("#btn-back");
    await bob.page.waitForSelector(".sidebar", { state: "visible" });
    await bob.page.waitForSelector("#chat", { state: "hidden" });
    await convRow(bob.page, aliceName).click();
    await bob.page.waitForSelector(".sidebar", { state: "hidden" });
    await messageRow(bob.page, "Hello Bob!").waitFor();
    await bob.page.setViewportSize({ width: 1200, height: 800 });
  });

  step("messages that arrived while the page was closed are acknowledged as delivered when it opens", async () => {
    const daveName = unique("dave");
    await devLogin(daveName);
    await startChatWith(alice, daveName);
    await send(alice, "Hi Dave, read this later");
    const row = messageRow(alice.page, "Hi Dave, read this later");
    await row.locator('.ticks[data-state="sent"]').waitFor();
    const dave = await newUser(browser, daveName);
    try {
      await row.locator('.ticks[data-state="delivered"]').waitFor();
      await convRow(dave.page, aliceName).locator(".badge").waitFor();
    } finally {
      await dave.context.close();
    }
  });

  step("signing in with a pasted token works too, and signing out returns to the sign-in page", async () => {
    const { token } = await devLogin(bobName);
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      await page.goto(`${BASE_URL}/`);
      await page.click(".token-login summary");
      await page.fill("#login-token", token);
      await page.click("#token-login-form button[type=submit]");
      await page.waitForSelector('#conn[data-state="connected"]');
      await convRow(page, aliceName).waitFor();
      await page.click("#btn-signout");
      await page.waitForSelector("#login:not([hidden])");
      assert.equal(await page.evaluate(() => localStorage.getItem("chat.auth")), null);
    } finally {
      await context.close();
    }
  });

  step("no page errors and no dialogs along the way", async () => {
    assert.deepEqual(alice.dialogs, []);
    assert.deepEqual(bob.dialogs, []);
    const serious = (errs) => errs.filter((e) => !/Failed to load resource/.test(e));
    assert.deepEqual(serious(alice.errors), []);
    assert.deepEqual(serious(bob.errors), []);
  });
});
