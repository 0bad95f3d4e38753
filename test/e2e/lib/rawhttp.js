'use strict';
// One HTTP request over a raw socket (lib/tls.js rawSocket: net, or tls with
// E2E_TLS=1) and its response exactly as sent: the header lines with their
// case and order, the framing (chunked, Content-Length, or ended by the
// close), the body de-chunked and, on request, decoded by its
// Content-Encoding with node:zlib. For serve-client.test.js and
// http-compression.test.js, which hold the C server to what Node's
// socket.io and engine.io send.

const zlib = require('node:zlib');
const { rawSocket } = require('./tls');
const { SLOW } = require('./server');

/**
 * Parses a response at the start of buf. Returns null until it is complete
 * (a response with no length is complete at eof). noBody: the request was
 * HEAD.
 */
function parse(buf, eof, noBody) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = lines[0];
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const rawHeaders = lines.slice(1).map((l) => {
    const c = l.indexOf(':');
    return [l.slice(0, c), l.slice(c + 1).trim()];
  });
  const headers = {};
  for (const [n, v] of rawHeaders) {
    const k = n.toLowerCase();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  let pos = headEnd + 4;
  const chunked = /chunked/i.test(headers['transfer-encoding'] || '');
  let body;
  if (noBody || status === 304 || status === 204 || status < 200) {
    body = Buffer.alloc(0);
  } else if (chunked) {
    const parts = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return null;
      const size = parseInt(buf.subarray(pos, eol).toString('latin1'), 16);
      pos = eol + 2;
      if (size === 0) {
        if (buf.length < pos + 2) return null;
        pos += 2;
        break;
      }
      if (buf.length < pos + size + 2) return null;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (buf.length < pos + n) return null;
    body = buf.subarray(pos, pos + n);
  } else {
    if (!eof) return null;
    body = buf.subarray(pos);
  }
  return { statusLine, status, rawHeaders, headers, chunked, body };
}

/**
 * Sends `request` (a string or Buffer, written as is) on a new connection and
 * resolves with the first response: { statusLine, status, rawHeaders
 * ([name, value] as sent), headers (lower-case names), chunked, body,
 * closed (with waitClose: whether the server ended the connection within
 * 300 ms of the response; else only known for answers that end at the close) }.
 * head: the request is HEAD (no body follows).
 */
function rawRequest(server, request, { head = false, waitClose = false, timeout = 10000 * SLOW } = {}) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let result = null;
    let settled = false;
    const sock = rawSocket(server, () => sock.write(request));
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(closeTimer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value);
    };
    let closeTimer = null;
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeout} ms to ${JSON.stringify(String(request).slice(0, 80))}; got ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`)), timeout);
    const check = (eof) => {
      if (result) return;
      try {
        result = parse(buf, eof, head);
      } catch (err) {
        finish(err);
        return;
      }
      if (!result) {
        if (eof) finish(new Error(`connection closed before a complete answer: ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`));
        return;
      }
      if (eof) {
        finish(null, { ...result, closed: true });
        return;
      }
      // Complete: does the server close now (Connection: close)?
      if (!waitClose) finish(null, { ...result, closed: false });
      else closeTimer = setTimeout(() => finish(null, { ...result, closed: false }), 300 * SLOW);
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      check(false);
    });
    sock.on('end', () => (result ? finish(null, { ...result, closed: true }) : check(true)));
    sock.on('close', () => (result ? finish(null, { ...result, closed: true }) : check(true)));
    sock.on('error', (err) => (result ? finish(null, { ...result, closed: true }) : finish(err)));
  });
}

/** The body decoded by its content-encoding (br, gzip, deflate, or none). */
function decoded(res) {
  switch ((res.headers['content-encoding'] || '').toLowerCase()) {
    case 'br': return zlib.brotliDecompressSync(res.body);
    case 'gzip': return zlib.gunzipSync(res.body);
    case 'deflate': return zlib.inflateSync(res.body);
    default: return res.body;
  }
}

/**
 * The header lines that must be Node's, sorted, as "Name: value": every one
 * but Date (its value changes) and, with lowerNames, names in lower case
 * (for the engine's Cache-Control, which Node writes "cache-control").
 */
function headerLines(res, { lowerNames = false, drop = [] } = {}) {
  const skip = new Set(['date', ...drop.map((d) => d.toLowerCase())]);
  return res.rawHeaders
    .filter(([n]) => !skip.has(n.toLowerCase()))
    .map(([n, v]) => `${lowerNames ? n.toLowerCase() : n}: ${v}`)
    .sort();
}

module.exports = { rawRequest, decoded, headerLines };
