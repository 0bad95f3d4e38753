'use strict';
// TLS mode of the end-to-end suites, switched on by E2E_TLS=1: every server is
// spawned with --tls-cert/--tls-key (a self-signed certificate for localhost,
// 127.0.0.1 and ::1), the server objects advertise https:// and wss:// URLs,
// raw HTTP requests go through node:https and raw sockets through
// tls.connect, and the official clients connect over https/wss.
//
// The clients verify the certificate for real: node must be started with
// NODE_EXTRA_CA_CERTS=<the certificate> (read once at startup by OpenSSL's
// default store, which node:https, ws, xmlhttprequest-ssl and fetch all use).
// test/run.sh makes the certificate with openssl and passes
//   E2E_TLS=1 E2E_TLS_CERT=<cert.pem> E2E_TLS_KEY=<key.pem> NODE_EXTRA_CA_CERTS=<cert.pem>
// Without E2E_TLS_CERT/E2E_TLS_KEY this file makes one (once) in
// build/e2e-tls/ and asks for NODE_EXTRA_CA_CERTS to name it.
//
// With E2E_TLS unset nothing here changes the plain mode.

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const TLS = process.env.E2E_TLS === '1';
const SCHEME = TLS ? 'https' : 'http';
const WS_SCHEME = TLS ? 'wss' : 'ws';

/**
 * Makes a self-signed certificate (CN localhost, subjectAltName DNS:localhost,
 * IP:127.0.0.1, IP:::1; P-256 key, 30 days) with the openssl command line in
 * `dir` unless one is there already. Returns { cert, key } (absolute paths).
 * The same command as test/run.sh's.
 */
function makeCert(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  if (fs.existsSync(cert) && fs.existsSync(key)) return { cert, key };
  fs.mkdirSync(dir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', path.join(tmp, 'key.pem'), '-out', path.join(tmp, 'cert.pem'), '-days', '30',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    fs.renameSync(path.join(tmp, 'key.pem'), key);
    fs.renameSync(path.join(tmp, 'cert.pem'), cert);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { cert, key };
}

let CERT = null;
let KEY = null;
if (TLS) {
  if (process.env.E2E_TLS_CERT && process.env.E2E_TLS_KEY) {
    CERT = path.resolve(process.env.E2E_TLS_CERT);
    KEY = path.resolve(process.env.E2E_TLS_KEY);
  } else {
    ({ cert: CERT, key: KEY } = makeCert(path.resolve(__dirname, '..', '..', '..', 'build', 'e2e-tls')));
  }
  for (const f of [CERT, KEY]) {
    if (!fs.existsSync(f)) throw new Error(`E2E_TLS=1: ${f} does not exist`);
  }
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  const trusted = extra && fs.existsSync(extra)
    && fs.readFileSync(extra, 'utf8').includes(fs.readFileSync(CERT, 'utf8').trim());
  if (!trusted) {
    throw new Error(`E2E_TLS=1: the clients verify the server certificate ${CERT}, but node was not `
      + `started with NODE_EXTRA_CA_CERTS naming it (now ${JSON.stringify(extra || '')}); run e.g.\n  `
      + `E2E_TLS=1 E2E_TLS_CERT=${CERT} E2E_TLS_KEY=${KEY} NODE_EXTRA_CA_CERTS=${CERT} node --test ...\n`
      + '(test/run.sh does this)');
  }
}

/** The server arguments that switch TLS on (none in plain mode). */
const SERVER_ARGS = TLS ? ['--tls-cert', CERT, '--tls-key', KEY] : [];

/** node:https in TLS mode, node:http otherwise (same request() interface). */
const httpModule = TLS ? require('node:https') : require('node:http');

/**
 * A raw client socket to host:port: tls.connect (the certificate verified
 * against NODE_EXTRA_CA_CERTS) in TLS mode, net.connect otherwise. Data
 * written before the handshake completed is sent after it. `onConnect` as
 * net.connect's listener ('secureConnect' in TLS mode).
 */
function rawSocket({ host, port }, onConnect) {
  if (!TLS) return require('node:net').connect({ host, port }, onConnect);
  // node sends no SNI for an IP address and checks the IP SAN instead.
  return require('node:tls').connect({ host, port }, onConnect);
}

module.exports = { TLS, SCHEME, WS_SCHEME, CERT, KEY, SERVER_ARGS, httpModule, rawSocket, makeCert };
