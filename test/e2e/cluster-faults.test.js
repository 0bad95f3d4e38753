'use strict';
// Redis faults under two C nodes (build/sio-test, classic adapter): Redis
// SIGKILLed during cross-node traffic (each node keeps serving its own
// clients, cluster requests fail fast, the outage is logged once per
// connection, and after a restart on the same port the nodes rejoin within a
// few seconds), and a C node started while Redis is down (it serves, then
// joins once Redis is up).

const { describe, it, before, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const { SLOW, ack, closeAll, sleep } = require('./lib/sio');
const {
  TLS_SKIP, useCluster, waitSubscribers, POLLING, connectAll, sorted, ids,
} = require('./lib/cluster');

const T = { timeout: 45000 * SLOW };
const REQUESTS_TIMEOUT = 1500 * SLOW;
const OUTAGE_RE = /connection lost|cannot connect/;

/** The outage lines of a node's stderr, per Redis connection ("pub", "sub"). */
function outageLines(node) {
  const lines = node.stderr.split('\n').filter((l) => OUTAGE_RE.test(l));
  return {
    lines,
    pub: lines.filter((l) => /redis pub\b/.test(l)).length,
    sub: lines.filter((l) => /redis sub\b/.test(l)).length,
  };
}

/**
 * Keeps emitting from `from` until `to` got the event (a cross-node
 * broadcast works), at most `timeout` ms. Resolves the time it took.
 */
async function crossNodeWorks(from, to, tag, timeout = 5000 * SLOW) {
  const t0 = Date.now();
  let i = 0;
  const got = to.inbox.next(tag, timeout);
  let done = false;
  got.then(() => { done = true; }, () => { done = true; });
  while (!done && Date.now() - t0 < timeout) {
    from.emit('emit-to', {}, tag, i++);
    await sleep(100);
  }
  await got;
  return Date.now() - t0;
}

describe('cluster faults: Redis killed under two C nodes, then restarted on the same port', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  let c1;
  let c2;
  let client;
  before(async () => {
    [c1, c2] = await Promise.all(['c1', 'c2'].map((n) => cluster.cNode(n, { requestsTimeout: REQUESTS_TIMEOUT })));
    client = await cluster.client();
    await waitSubscribers(client, 2);
  });
  afterEach(() => closeAll());

  it('serves its own clients while Redis is down, fails cluster requests fast, logs once per connection, rejoins', T, async () => {
    const redis = cluster.redisServer;
    const [A1, A2, B1, B2] = await connectAll([
      { node: c1, label: 'A1' }, { node: c1, label: 'A2', mode: POLLING },
      { node: c2, label: 'B1' }, { node: c2, label: 'B2', mode: POLLING },
    ]);
    const before = { c1: outageLines(c1), c2: outageLines(c2) };
    assert.equal(before.c1.lines.length + before.c2.lines.length, 0, 'outage lines before any outage');

    // Traffic both ways, all along.
    let stop = false;
    let n = 0;
    const traffic = (async () => {
      while (!stop) {
        A1.emit('emit-to', {}, 'tick', n++, 'x'.repeat(100));
        B1.emit('emit-to', { rooms: [A2.id] }, 'tock', n++);
        await sleep(5);
      }
    })();
    assert.equal((await B2.inbox.next('tick'))[1], 'x'.repeat(100), 'cross-node traffic before the outage');
    await A2.inbox.next('tock');
    await sleep(200);

    await redis.kill();
    const killedAt = Date.now();
    await sleep(300 * SLOW);

    // Each node keeps serving its own clients.
    for (const s of [A1, A2, B1, B2]) assert.deepEqual(await ack(s, 'echo', 'alive', s.label), ['alive', s.label], `echo on ${s.label}`);
    assert.deepEqual(await ack(A1, 'emit-to', { local: true }, 'down-local', 'c1'), [true]);
    assert.deepEqual(await A2.inbox.next('down-local'), ['c1']);
    assert.deepEqual(await ack(B2, 'emit-to', {}, 'down-all', 'c2'), [true]);
    assert.deepEqual(await B1.inbox.next('down-all'), ['c2'], 'a cluster broadcast still reaches the local clients');
    assert.deepEqual(await B2.inbox.next('down-all'), ['c2']);
    assert.deepEqual(await ack(A1, 'rooms'), [[A1.id]]);

    // Cluster requests fail, fast.
    for (const s of [A1, B2]) {
      const t0 = Date.now();
      const [res] = await ack(s, 'fetch-details', null);
      const elapsed = Date.now() - t0;
      assert.equal(typeof res.err, 'string', `fetch-details on ${s.node.name} with Redis down answered ${JSON.stringify(res)}`);
      assert.ok(elapsed < REQUESTS_TIMEOUT + 2000 * SLOW, `fetch-details with Redis down took ${elapsed} ms`);
    }

    // Let the outage last through several reconnection attempts (100 ms doubling to 2 s), traffic going on.
    const outageFor = 2500 * SLOW - (Date.now() - killedAt);
    if (outageFor > 0) await sleep(outageFor);
    stop = true;
    await traffic;

    for (const node of [c1, c2]) {
      const o = outageLines(node);
      assert.ok(o.lines.length >= 1, `${node.name} did not log the outage:\n${node.stderr}`);
      assert.ok(o.pub <= 1 && o.sub <= 1 && o.lines.length <= 2,
        `${node.name} logged the outage more than once per connection (pub ${o.pub}, sub ${o.sub}):\n${o.lines.join('\n')}`);
      const after = node.stderr.split('\n').filter((l) => l.trim()).length;
      assert.ok(after < 20, `${node.name} logged ${after} lines through an outage of ${n} messages:\n${node.stderr}`);
    }

    // Redis back on the same port: within ~5 s cross-node broadcasts work again, both ways.
    await redis.restart();
    const back1 = await crossNodeWorks(A1, B1, 'back-c1');
    const back2 = await crossNodeWorks(B2, A2, 'back-c2');
    assert.ok(back1 < 5000 * SLOW && back2 < 5000 * SLOW, `rejoined after ${back1} / ${back2} ms`);
    await waitSubscribers(client, 2);
    const [res] = await ack(A1, 'fetch-details', null);
    assert.equal(res.err, null);
    assert.deepEqual(sorted(res.sockets.map((s) => s.id)), ids([A1, A2, B1, B2]));
    assert.deepEqual(await ack(B1, 'server-count'), [2]);
    for (const node of [c1, c2]) {
      assert.match(node.stderr, /redis pub .*connected again/, `${node.name} did not log the reconnection of pub`);
      assert.match(node.stderr, /redis sub .*connected again/, `${node.name} did not log the reconnection of sub`);
    }
  });
});

describe('cluster faults: a C node started while Redis is down', { skip: TLS_SKIP }, () => {
  const cluster = useCluster();
  afterEach(() => closeAll());

  it('serves at once, logs "cannot connect" once per connection, and joins when Redis comes up', T, async () => {
    const redis = await cluster.redis();
    await redis.kill();
    const late = await cluster.cNode('late', { requestsTimeout: REQUESTS_TIMEOUT });
    const [L1, L2] = await connectAll([{ node: late, label: 'L1' }, { node: late, label: 'L2', mode: POLLING }]);
    assert.deepEqual(await ack(L1, 'echo', 'no redis yet'), ['no redis yet']);
    assert.deepEqual(await ack(L1, 'emit-to', {}, 'lonely', 1), [true]);
    assert.deepEqual(await L2.inbox.next('lonely'), [1]);
    const t0 = Date.now();
    const [res] = await ack(L2, 'fetch-details', null);
    assert.equal(typeof res.err, 'string', `fetch-details without Redis answered ${JSON.stringify(res)}`);
    assert.ok(Date.now() - t0 < REQUESTS_TIMEOUT + 2000 * SLOW, `fetch-details without Redis took ${Date.now() - t0} ms`);
    await sleep(1800 * SLOW); // several attempts
    const o = outageLines(late);

    await redis.restart();
    const other = await cluster.cNode('other');
    const client = await cluster.client();
    await waitSubscribers(client, 2);
    const [O1] = await connectAll([{ node: other, label: 'O1' }]);
    const t1 = await crossNodeWorks(O1, L1, 'joined-late');
    const t2 = await crossNodeWorks(L2, O1, 'joined-late-back');
    assert.ok(t1 < 5000 * SLOW && t2 < 5000 * SLOW);
    const [res2] = await ack(L1, 'fetch-details', null);
    assert.equal(res2.err, null);
    assert.deepEqual(sorted(res2.sockets.map((s) => s.id)), ids([L1, L2, O1]));
    assert.match(late.stderr, /redis (pub|sub) .*connected/, 'no "connected" line once Redis was up');
    // Checked last, so that the rest is checked even if this fails.
    assert.ok(o.lines.some((l) => /cannot connect/.test(l)), `no "cannot connect" line while Redis was down; stderr:\n${late.stderr}`);
    assert.ok(o.pub <= 1 && o.sub <= 1, `logged more than once per connection:\n${o.lines.join('\n')}`);
  });
});
