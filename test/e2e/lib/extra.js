'use strict';
// Small helpers for limits.test.js and options2.test.js: process memory,
// latency percentiles, polling a condition, counting server log lines.

const fs = require('node:fs');
const { sleep } = require('./server');

/** Resident set size of process `pid` in KiB (0 if it cannot be read). */
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The p-th percentile (0..100) of a list of numbers (nearest rank). */
function percentile(values, p) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank];
}

/** Resolves once `pred()` is truthy (checked every `every` ms); rejects after `timeout` ms with `what`. */
async function waitFor(pred, { timeout, every = 20, what = 'condition' }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() >= deadline) throw new Error(`${what}: not met within ${timeout} ms`);
    await sleep(every);
  }
}

/** How many times `needle` occurs in the server's stderr so far. */
function countInStderr(server, needle) {
  return server.stderr.split(needle).length - 1;
}

/**
 * Resolves once the TCP socket is closed by the peer (end, close or reset),
 * or rejects after `timeout` ms. Reads (and drops) whatever arrives meanwhile
 * and counts the bytes: { bytes, how }.
 */
function drainUntilClosed(sock, timeout) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let done = false;
    let timer = null;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ bytes, how });
    };
    if (sock.destroyed || sock.readableEnded) {
      // A write after the server closed may have failed (EPIPE, ECONNRESET).
      finish(`already closed${sock.errored ? ` (${sock.errored.code || sock.errored.message})` : ''}`);
      return;
    }
    timer = setTimeout(() => {
      if (done) return;
      done = true;
      reject(new Error(`socket not closed by the server within ${timeout} ms (read ${bytes} bytes)`));
    }, timeout);
    sock.on('data', (d) => { bytes += d.length; });
    sock.once('end', () => finish('end'));
    sock.once('close', () => finish('close'));
    sock.once('error', (e) => finish(`error ${e.code || e.message}`));
    sock.resume();
  });
}

module.exports = { rssKb, percentile, waitFor, countInStderr, drainUntilClosed };
