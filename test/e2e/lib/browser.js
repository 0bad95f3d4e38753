'use strict';
// Helpers for the browser tests of the chat: build/chat with the built web
// client, Debian's chromium driven by playwright-core, a tiny static server
// for the socket.io-client 2.x page (another origin), DOM helpers and
// screenshots. In TLS mode (E2E_TLS=1, lib/tls.js) the chat serves HTTPS and
// WSS, the 2.x page comes over HTTPS too (same test certificate), and the
// browser contexts accept the test certificate (ignoreHTTPSErrors).
//
// The chat binary comes from $BUILD_DIR (as lib/sio.js); the web client must
// have been built (web/dist, `make`): the tests fail with a clear message if
// it was not, rather than running npm in the middle of a test run.

const fs = require('node:fs');
const { TLS, SCHEME, CERT, KEY, httpModule } = require('./tls');
const path = require('node:path');
const assert = require('node:assert/strict');
const { HOST, freePort } = require('./server');
const { SLOW, startSio, stopAndCheck } = require('./sio');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const WEB_DIST = path.join(ROOT, 'web', 'dist');
const SCREENSHOTS = path.join(ROOT, 'build', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const OLD_CLIENT_DIR = path.join(__dirname, '..', 'fixtures', 'old-client');
const V2_BUNDLE = path.join(__dirname, '..', 'node_modules', 'socket.io-client-v2', 'dist', 'socket.io.js');

/** A bound for every DOM wait (scaled under the sanitizers). */
const WAIT = 5000 * SLOW;

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Why the browser tests cannot run, or null. */
function missingPrerequisite() {
  if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
    return `the web client is not built (${WEB_DIST}/index.html is missing): run \`make\` ` +
      '(or `cd web && npm ci && npx vite build`) first';
  }
  if (!fs.existsSync(CHROMIUM)) {
    return `${CHROMIUM} is missing: apt-get install -y chromium`;
  }
  return null;
}

/** Starts build/chat (on a free port) serving web/dist. */
async function startChat(args = []) {
  const why = missingPrerequisite();
  if (why) throw new Error(why);
  process.env.CHAT_WEB_ROOT = WEB_DIST;
  return startSio('chat', args);
}

/**
 * Launches chromium headless. playwright's launch() gives it a fresh
 * --user-data-dir of its own (a temporary profile, removed on close).
 */
async function launchBrowser() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 20000 * SLOW,
  });
}

/**
 * A page in a context of its own (own cookies and storage, as another
 * person's browser would be), recording page errors and console errors.
 */
async function newPage(browser, { width = 1100, height = 720 } = {}) {
  // The test certificate is self-signed: chromium is told to accept it.
  const tlsOpts = TLS ? { ignoreHTTPSErrors: true } : {};
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, ...tlsOpts });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.setDefaultNavigationTimeout(WAIT * 2);
  page.errors = [];
  page.on('pageerror', (err) => page.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.errors.push(`console: ${msg.text()}`);
  });
  return page;
}

/** Texts of the elements matching `selector` (in DOM order). */
async function texts(page, selector) {
  return page.locator(selector).evaluateAll((els) => els.map((e) => e.textContent.trim()));
}

/** The messages shown: [{user, text, own}]. */
async function messagesOf(page) {
  return page.locator('[data-testid=message]').evaluateAll((els) => els.map((e) => ({
    user: e.getAttribute('data-user'),
    text: e.querySelector('[data-testid=message-text]').textContent,
    own: e.getAttribute('data-own') === 'true',
  })));
}

/** Waits until `read(page)` deep-equals `expected`, then returns it; fails with the last value seen. */
async function waitForValue(page, read, expected, what, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await read(page);
    try {
      assert.deepEqual(last, expected);
      return last;
    } catch (err) {
      if (Date.now() > deadline) {
        assert.deepEqual(last, expected, `${what}: still ${JSON.stringify(last)} after ${timeout} ms`);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The users listed online, in order. */
const onlineOf = (page) => texts(page, '[data-testid=online-users] [data-testid=user]');

async function screenshot(page, name) {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, name);
  await page.screenshot({ path: file });
  return file;
}

/**
 * A tiny static server for the socket.io-client 2.x page, on its own port
 * (so another origin than the chat server): "/" is the fixture page,
 * "/socket.io.js" the 2.x browser bundle from npm.
 */
async function startOldClientServer() {
  if (!fs.existsSync(V2_BUNDLE)) throw new Error(`${V2_BUNDLE} is missing: npm ci in test/e2e`);
  const page = fs.readFileSync(path.join(OLD_CLIENT_DIR, 'index.html'));
  const bundle = fs.readFileSync(V2_BUNDLE);
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else if (url.pathname === '/socket.io.js') {
      res.writeHead(200, { 'content-type': 'application/javascript; charset=utf-8' });
      res.end(bundle);
    } else {
      res.writeHead(url.pathname === '/favicon.ico' ? 204 : 404);
      res.end();
    }
  };
  const server = TLS
    ? httpModule.createServer({ cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY) }, handler)
    : httpModule.createServer(handler);
  const port = await freePort();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, resolve);
  });
  return {
    origin: `${SCHEME}://${HOST}:${port}`,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

module.exports = {
  ROOT,
  WEB_DIST,
  SCREENSHOTS,
  WAIT,
  SLOW,
  missingPrerequisite,
  startChat,
  stopAndCheck,
  launchBrowser,
  newPage,
  texts,
  messagesOf,
  onlineOf,
  waitForValue,
  screenshot,
  startOldClientServer,
};
