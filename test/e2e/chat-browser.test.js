'use strict';
// The chat in a real browser: Debian's chromium (headless, driven by
// playwright-core) against build/chat serving the built React client
// (web/dist, socket.io-client 4.x), and the original client's protocol from
// the socket.io-client 2.x browser bundle on a page of another origin
// (fixtures/old-client), alone and in one room with the React client.
// Assertions are on the DOM; screenshots go to build/screenshots/.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
  WAIT, SLOW, startChat, stopAndCheck, launchBrowser, newPage, texts, messagesOf, onlineOf,
  waitForValue, screenshot, startOldClientServer,
} = require('./lib/browser');

const admin = (text) => ({ user: 'admin', text, own: false });
const left = (name) => ({ user: 'Admin', text: `${name} has left.`, own: false });
const said = (user, text, own) => ({ user, text, own });

describe('chat in the browser', { timeout: 85000 * SLOW }, () => {
  let chat;
  let browser;
  let oldClient;
  const pages = [];

  before(async () => {
    chat = await startChat();
    browser = await launchBrowser();
    oldClient = await startOldClientServer();
  });

  after(async () => {
    const errors = pages.flatMap((p) => p.errors.map((e) => `${p.label}: ${e}`));
    await browser?.close().catch(() => {});
    await oldClient?.close();
    if (chat) await stopAndCheck(chat);
    assert.deepEqual(errors, [], 'no page or console errors');
  });

  async function page(label, opts) {
    const p = await newPage(browser, opts);
    p.label = label;
    pages.push(p);
    return p;
  }

  /** Joins with the React client's Join screen; resolves once the Chat screen shows. */
  async function joinReact(p, name, room) {
    await p.goto(`${chat.httpUrl}/`);
    await p.getByTestId('join-name').fill(name);
    await p.getByTestId('join-room').fill(room);
    await p.getByTestId('join-submit').click();
    await p.waitForURL(/\/chat\?/);
    await p.getByTestId('messages').waitFor();
  }

  /** Joins with the socket.io-client 2.x page (its own origin). */
  async function joinOld(p, name, room, { transports } = {}) {
    const q = new URLSearchParams({ server: chat.httpUrl });
    if (transports) q.set('transports', transports);
    await p.goto(`${oldClient.origin}/?${q}`);
    await p.getByTestId('join-name').fill(name);
    await p.getByTestId('join-room').fill(room);
    await p.getByTestId('join-submit').click();
    await p.getByTestId('messages').waitFor();
  }

  async function send(p, text, { enter = true } = {}) {
    await p.getByTestId('message-input').fill(text);
    if (enter) await p.getByTestId('message-input').press('Enter');
    else await p.getByTestId('send').click();
    await waitForValue(p, (x) => x.getByTestId('message-input').inputValue(), '', 'input cleared after sending');
  }

  it('serves the client at / and its routes, and /health', async () => {
    for (const route of ['/', '/chat?name=a&room=b', '/no/such/route']) {
      const res = await fetch(chat.httpUrl + route);
      assert.equal(res.status, 200, route);
      assert.match(res.headers.get('content-type'), /text\/html/, route);
      assert.match(await res.text(), /<div id="root"><\/div>/, route);
    }
    const health = await fetch(`${chat.httpUrl}/health`);
    assert.deepEqual(await health.json(), { response: 'Server is up and running.' });
  });

  it('React client: two people join a room, talk, see each other online, one leaves', async () => {
    const alice = await page('alice');
    const bob = await page('bob');

    // The Join screen: no empty fields.
    await alice.goto(`${chat.httpUrl}/`);
    assert.equal(await alice.getByTestId('join-submit').isDisabled(), true, 'Sign In disabled with empty fields');
    await alice.getByTestId('join-name').fill('Alice');
    assert.equal(await alice.getByTestId('join-submit').isDisabled(), true, 'Sign In disabled without a room');
    await alice.getByTestId('join-room').fill('   ');
    assert.equal(await alice.getByTestId('join-submit').isDisabled(), true, 'Sign In disabled with a blank room');
    await screenshot(alice, 'chat-join.png');

    await joinReact(alice, 'Alice', 'Lobby');
    assert.equal(new URL(alice.url()).pathname, '/chat');
    assert.deepEqual(Object.fromEntries(new URL(alice.url()).searchParams), { name: 'Alice', room: 'Lobby' });
    // The server's values (trimmed, lower-cased) are shown.
    await waitForValue(alice, messagesOf, [admin('alice, welcome to room lobby.')], 'alice welcomed');
    await waitForValue(alice, onlineOf, ['alice'], 'alice online alone');
    assert.equal((await alice.getByTestId('room-name').textContent()).trim(), 'lobby');

    await joinReact(bob, 'Bob', 'lobby');
    await waitForValue(bob, messagesOf, [admin('bob, welcome to room lobby.')], 'bob welcomed');
    await waitForValue(alice, messagesOf,
      [admin('alice, welcome to room lobby.'), admin('bob has joined!')], 'alice told bob joined');
    await waitForValue(alice, onlineOf, ['alice', 'bob'], 'alice sees both, in join order');
    await waitForValue(bob, onlineOf, ['alice', 'bob'], 'bob sees both, in join order');

    // Empty input: Send disabled, Enter sends nothing.
    assert.equal(await alice.getByTestId('send').isDisabled(), true, 'Send disabled with an empty input');
    await alice.getByTestId('message-input').press('Enter');

    // Send on Enter, and with the Send button; own messages on the right.
    const conversation = [
      [alice, 'alice', 'Hi Bob! Did the C server really replace the Node one?', true],
      [bob, 'bob', 'It did. Same events, same acks, and my browser never noticed.', false],
      [alice, 'alice', 'Nice. Polling or WebSocket?', true],
      [bob, 'bob', 'WebSocket, after the upgrade.', true],
      [alice, 'alice', 'Ship it!', false],
    ];
    const expected = [];
    for (const [who, user, text, enter] of conversation) {
      await send(who, text, { enter });
      expected.push([user, text]);
    }
    const view = (me) => expected.map(([u, t]) => said(u, t, u === me));
    await waitForValue(alice, messagesOf,
      [admin('alice, welcome to room lobby.'), admin('bob has joined!'), ...view('alice')], 'alice sees the talk');
    await waitForValue(bob, messagesOf, [admin('bob, welcome to room lobby.'), ...view('bob')], 'bob sees the talk');

    // Own messages are laid out on the right, others' on the left.
    const side = await alice.locator('[data-testid=message]').evaluateAll((els) => {
      const box = els[0].parentElement.getBoundingClientRect();
      return els.filter((e) => e.dataset.user !== 'admin').map((e) => {
        const b = e.querySelector('[data-testid=message-text]').getBoundingClientRect();
        return { own: e.dataset.own === 'true', right: box.right - b.right < b.left - box.left };
      });
    });
    for (const s of side) assert.equal(s.right, s.own, `own message on the right: ${JSON.stringify(side)}`);

    await screenshot(alice, 'two-people.png');
    await screenshot(alice, 'chat-alice.png');
    await screenshot(bob, 'chat-bob.png');

    // Bob leaves: back to the Join screen; Alice is told and sees her alone.
    await bob.getByTestId('leave').click();
    await bob.waitForURL((u) => u.pathname === '/');
    await bob.getByTestId('join-name').waitFor();
    await waitForValue(alice, async (p) => (await messagesOf(p)).slice(-1), [left('bob')], 'alice told bob left');
    await waitForValue(alice, onlineOf, ['alice'], 'alice alone again');
    await screenshot(alice, 'chat-left.png');
  });

  it('React client: a taken name is refused with the server\'s error', async () => {
    const first = await page('carl');
    const second = await page('carl-again');
    await joinReact(first, 'carl', 'taken');
    await waitForValue(first, onlineOf, ['carl'], 'carl joined');
    await second.goto(`${chat.httpUrl}/chat?name=${encodeURIComponent(' CARL ')}&room=Taken`);
    await second.getByTestId('error').waitFor();
    assert.equal((await second.getByTestId('error').textContent()).trim(), 'Username is taken.');
    await screenshot(second, 'chat-error.png');
    // The refused socket is not in the room.
    await waitForValue(first, onlineOf, ['carl'], 'still only carl');
    assert.deepEqual(await messagesOf(first), [admin('carl, welcome to room taken.')]);
  });

  it('React client: the message list follows new messages (auto-scroll)', async () => {
    const a = await page('scroll-a', { width: 900, height: 560 });
    const b = await page('scroll-b', { width: 900, height: 560 });
    await joinReact(a, 'Ann', 'scroll');
    await joinReact(b, 'Ben', 'scroll');
    await waitForValue(a, onlineOf, ['ann', 'ben'], 'both online');
    for (let i = 1; i <= 25; i++) {
      await a.getByTestId('message-input').fill(`message number ${i}`);
      await a.getByTestId('message-input').press('Enter');
    }
    await waitForValue(b, async (p) => (await texts(p, '[data-testid=message-text]')).slice(-1),
      ['message number 25'], 'last message arrived');
    for (const p of [a, b]) {
      const overflow = await p.getByTestId('messages').evaluate((e) => e.scrollHeight > e.clientHeight + 100);
      assert.ok(overflow, 'the list overflows');
      await p.waitForFunction(() => {
        const e = document.querySelector('[data-testid=messages]');
        return e.scrollHeight - e.scrollTop - e.clientHeight < 4;
      }, null, { timeout: WAIT });
    }
    await screenshot(b, 'chat-scrolled.png');
    await b.setViewportSize({ width: 390, height: 760 });
    await b.waitForFunction(() => {
      const e = document.querySelector('[data-testid=messages]');
      e.scrollTop = e.scrollHeight;
      return true;
    });
    await screenshot(b, 'chat-mobile.png');
  });

  it('socket.io-client 2.x page (another origin): two people join, talk, see each other, one leaves', async () => {
    const carol = await page('old-carol');
    const dave = await page('old-dave');
    const cors = [];
    for (const p of [carol, dave]) {
      p.on('response', (r) => {
        if (r.url().startsWith(`${chat.httpUrl}/socket.io/`)) {
          const h = r.headers();
          cors.push({ origin: h['access-control-allow-origin'], credentials: h['access-control-allow-credentials'] });
        }
      });
    }

    // Carol: default transports (polling, then the upgrade); Dave: polling only.
    await joinOld(carol, ' Carol ', 'Old-Room');
    await waitForValue(carol, messagesOf, [admin('carol, welcome to room old-room.')], 'carol welcomed');
    await joinOld(dave, 'DAVE', ' old-room ', { transports: 'polling' });
    await waitForValue(dave, messagesOf, [admin('dave, welcome to room old-room.')], 'dave welcomed');
    await waitForValue(carol, onlineOf, ['carol', 'dave'], 'carol sees both');
    await waitForValue(dave, onlineOf, ['carol', 'dave'], 'dave sees both');
    await waitForValue(carol, (p) => p.evaluate(() => window.chatSocket.io.engine.transport.name),
      'websocket', 'carol upgraded to WebSocket');
    assert.equal(await dave.evaluate(() => window.chatSocket.io.engine.transport.name), 'polling');

    await send(carol, 'Hello from a 2019 client');
    await send(dave, 'Long-polling, and still here', { enter: false });
    await waitForValue(carol, messagesOf, [
      admin('carol, welcome to room old-room.'), admin('dave has joined!'),
      said('carol', 'Hello from a 2019 client', true), said('dave', 'Long-polling, and still here', false),
    ], 'carol sees the talk');
    await waitForValue(dave, messagesOf, [
      admin('dave, welcome to room old-room.'),
      said('carol', 'Hello from a 2019 client', false), said('dave', 'Long-polling, and still here', true),
    ], 'dave sees the talk');
    await screenshot(carol, 'chat-old-client.png');

    // Cross-origin polling with credentials (2.x sends XHRs withCredentials).
    assert.ok(cors.length > 0, 'polling requests seen');
    for (const c of cors) assert.deepEqual(c, { origin: oldClient.origin, credentials: 'true' });

    // Carol leaves as the original did: a plain link, the page unloads and
    // its WebSocket closes; Dave (polling) is told.
    await carol.getByTestId('leave').click();
    await carol.getByTestId('join-name').waitFor();
    await waitForValue(dave, async (p) => (await messagesOf(p)).slice(-1), [left('carol')], 'dave told carol left');
    await waitForValue(dave, onlineOf, ['dave'], 'dave alone');
  });

  it('socket.io-client 2.x page on long-polling leaves: the aborted poll ends the session at once, as in Node', async () => {
    const gina = await page('react-gina');
    const hank = await page('old-hank-polling');
    await joinReact(gina, 'Gina', 'poll-leave');
    await joinOld(hank, 'Hank', 'poll-leave', { transports: 'polling' });
    await waitForValue(gina, onlineOf, ['gina', 'hank'], 'gina sees both');
    await send(hank, 'leaving now');
    await waitForValue(gina, async (p) => (await messagesOf(p)).slice(-1), [said('hank', 'leaving now', false)], 'gina got it');
    // The page unloads with a long-poll GET pending: the browser closes that
    // connection, and Node's engine.io ends the session on it ("poll
    // connection closed prematurely"), not after the ping timeout.
    await hank.getByTestId('leave').click();
    await hank.getByTestId('join-name').waitFor();
    await waitForValue(gina, async (p) => (await messagesOf(p)).slice(-1), [left('hank')], 'gina told hank left');
    await waitForValue(gina, onlineOf, ['gina'], 'gina alone');
  });

  it('socket.io-client 2.x page and the React client in one room', async () => {
    const erin = await page('old-erin');
    const frank = await page('react-frank');
    await joinOld(erin, 'Erin', 'mixed');
    await joinReact(frank, 'Frank', 'Mixed');
    await waitForValue(erin, onlineOf, ['erin', 'frank'], 'erin sees both');
    await waitForValue(frank, onlineOf, ['erin', 'frank'], 'frank sees both');
    await waitForValue(erin, (p) => p.evaluate(() => window.chatSocket.io.engine.transport.name),
      'websocket', 'erin upgraded to WebSocket');
    await send(erin, 'old client here');
    await send(frank, 'new client here');
    const talk = [said('erin', 'old client here', false), said('frank', 'new client here', true)];
    await waitForValue(frank, messagesOf, [admin('frank, welcome to room mixed.'), ...talk], 'frank sees the talk');
    await waitForValue(erin, async (p) => (await messagesOf(p)).slice(-2),
      talk.map((m) => ({ ...m, own: !m.own })), 'erin sees the talk');

    // Erin leaves (a plain link; her WebSocket closes with the page).
    await erin.getByTestId('leave').click();
    await erin.getByTestId('join-name').waitFor();
    await waitForValue(frank, async (p) => (await messagesOf(p)).slice(-1), [left('erin')], 'frank told erin left');
    await waitForValue(frank, onlineOf, ['frank'], 'frank alone');
  });
});
