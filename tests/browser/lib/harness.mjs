// Shared helpers for the browser tests and the screenshot script: launch the system Chromium through
// playwright-core, sign users in through the page, wait for things without sleeping, and save
// screenshots when something fails.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const BASE_URL = (process.env.CHAT_BASE_URL || "http://127.0.0.1:8080").replace(/\/$/, "");
export const TIMEOUT_MS = Number(process.env.CHAT_BROWSER_TIMEOUT_MS || 15000);

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export function chromiumPath() {
  return process.env.CHROMIUM_PATH || "/usr/bin/chromium";
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
}

let shotDir = null;
/** Where failure screenshots go (a fresh temp dir, or CHAT_SCREENSHOT_DIR). */
export function screenshotDir() {
  if (!shotDir) shotDir = process.env.CHAT_SCREENSHOT_DIR || mkdtempSync(path.join(tmpdir(), "chat-browser-"));
  return shotDir;
}

/**
 * One signed-in user: a browser context (own storage), a page, and what the page reported.
 * `dialogs` collects any alert/confirm/prompt that fired (none should, ever).
 */
export class User {
  constructor(name, context, page) {
    this.name = name;
    this.context = context;
    this.page = page;
    this.dialogs = [];
    this.errors = [];
    page.on("dialog", async (d) => {
      this.dialogs.push(d.message());
      await d.dismiss().catch(() => {});
    });
    page.on("pageerror", (err) => this.errors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error") this.errors.push(msg.text());
    });
  }

  /** The user's token and id as the page stored them. */
  async auth() {
    return this.page.evaluate(() => JSON.parse(localStorage.getItem("chat.auth")));
  }
}

export async function newUser(browser, name, { viewport = { width: 1200, height: 800 }, deviceScaleFactor = 1 } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor, locale: "en-GB", timezoneId: "UTC" });
  context.setDefaultTimeout(TIMEOUT_MS);
  const page = await context.newPage();
  const user = new User(name, context, page);
  await page.goto(`${BASE_URL}/`);
  await page.fill("#login-name", name);
  await page.click("#dev-login-form button[type=submit]");
  await page.waitForSelector("#app:not([hidden])");
  await page.waitForSelector('#conn[data-state="connected"]');
  return user;
}

/** Waits until the page's `fn(arg)` returns truthy (polling in the page, no fixed sleep). */
export async function waitUntil(page, fn, arg, timeout = TIMEOUT_MS) {
  return page.waitForFunction(fn, arg, { timeout, polling: 100 });
}

/** Starts a direct chat with `otherName` through the "New chat" dialog. */
export async function startChatWith(user, otherName) {
  const { page } = user;
  await page.click("#btn-new-chat");
  await page.fill("#dialog input[type=search]", otherName);
  const row = page.locator("#dialog .picker-row", { hasText: otherName });
  await row.first().click();
  await page.waitForSelector("#dialog", { state: "hidden" });
  await page.waitForSelector("#chat-view:not([hidden])");
  await waitUntil(page, (n) => document.querySelector("#chat-title")?.textContent.includes(n), otherName);
}

/** Types `text` in the composer and presses Enter. */
export async function send(user, text) {
  const input = user.page.locator("#composer-input");
  await input.fill(text);
  await input.press("Enter");
}

/** The message row whose text is exactly `text`. */
export function messageRow(page, text) {
  return page.locator(".msg", { has: page.locator(".msg-text", { hasText: text }) }).last();
}

/** The conversation list entry titled exactly `title`. */
export function convRow(page, title) {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`);
  return page.locator(".conv", { has: page.locator(".conv-name", { hasText: exact }) });
}

/** Saves a full-page screenshot of every user's page; returns the file paths. */
export async function screenshotAll(users, label) {
  const dir = screenshotDir();
  const files = [];
  for (const u of users) {
    if (!u?.page || u.page.isClosed()) continue;
    const file = path.join(dir, `${label.replace(/[^a-z0-9-]+/gi, "_")}-${u.name}.png`);
    await u.page.screenshot({ path: file, fullPage: true }).catch(() => {});
    files.push(file);
  }
  return files;
}

/** Runs `fn`; on failure saves screenshots of all pages and adds their paths to the error. */
export async function withScreenshots(users, label, fn) {
  try {
    return await fn();
  } catch (err) {
    const files = await screenshotAll(users(), label);
    const pageErrors = users()
      .filter(Boolean)
      .flatMap((u) => u.errors.map((e) => `[${u.name}] ${e}`));
    err.message += `\n  screenshots: ${files.join(", ")}`;
    if (pageErrors.length) err.message += `\n  page errors:\n    ${pageErrors.join("\n    ")}`;
    throw err;
  }
}

/** REST call as a user (for setting up data faster than through the page). */
export async function rest(token, method, url, body) {
  const res = await fetch(`${BASE_URL}${url}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function devLogin(userName) {
  const res = await fetch(`${BASE_URL}/api/dev/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ userName }),
  });
  if (!res.ok) throw new Error(`dev login ${userName}: ${res.status} ${await res.text()}`);
  const auth = await res.json();
  // The server learns about a user on their first authenticated call; make one so others can find them.
  await rest(auth.token, "GET", "/api/chat/settings");
  return auth;
}

/** A short random suffix so runs against a shared server never collide. */
export function unique(prefix) {
  return `${prefix}${Math.random().toString(36).slice(2, 7)}`;
}
