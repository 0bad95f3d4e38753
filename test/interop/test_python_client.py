#!/usr/bin/env python3
"""Interoperability test: python-socketio's synchronous Client against the C
servers $BUILD_DIR/sio-echo and $BUILD_DIR/sio-test (README "Test servers").

Every check runs over three transport setups: polling only, websocket only,
and the default (polling, then the upgrade to websocket). Prints one line per
check, "ok - name" or "not ok - name" (followed by "# " detail lines), and a
last line "N passed, M failed"; exits 1 if anything failed. Every wait is
bounded, and a watchdog ends the run (as a failure) after TOTAL_LIMIT seconds.

Run by test/run.sh inside build/interop-venv (test/interop/requirements.txt).
"""
import importlib.metadata
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import socketio

HOST = '127.0.0.1'
BUILD_DIR = os.path.abspath(os.environ.get(
    'BUILD_DIR', os.path.join(os.path.dirname(__file__), '..', '..', 'build')))
SLOW = 2 if 'asan' in BUILD_DIR else 1   # AddressSanitizer builds are slower
WAIT = 5 * SLOW                          # any single wait, seconds
TOTAL_LIMIT = 58                         # the whole run, seconds

TRANSPORTS = [
    ('polling', ['polling'], 'polling'),
    ('websocket', ['websocket'], 'websocket'),
    ('upgrade', None, 'websocket'),
]

passed = 0
failed = 0
servers = []
out_lock = threading.Lock()


def emit_line(line):
    with out_lock:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()


def check(name, fn):
    """Runs fn(); an exception (AssertionError or any other) is a failure."""
    global passed, failed
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - every error is a test failure
        failed += 1
        emit_line('not ok - ' + name)
        for line in ('%s: %s' % (type(exc).__name__, exc)).splitlines()[:10]:
            emit_line('#   ' + line)
        return False
    passed += 1
    emit_line('ok - ' + name)
    return True


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def equal(got, want, what='value'):
    if got != want:
        raise AssertionError('%s: got %r, want %r' % (what, got, want))


# ---------------------------------------------------------------- servers

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """A server binary on a free port, started once its banner is printed."""

    def __init__(self, name):
        self.name = name
        self.bin = os.path.join(BUILD_DIR, name)
        self.proc = None
        self.port = None
        self.stderr = tempfile.TemporaryFile()
        self.stdout_lines = []

    @property
    def url(self):
        return 'http://%s:%d' % (HOST, self.port)

    def start(self):
        last = None
        for _ in range(3):
            self.port = free_port()
            self.proc = subprocess.Popen(
                [self.bin, '--port', str(self.port)], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=self.stderr)
            banner = threading.Event()

            def read(proc=self.proc, ev=banner):
                for raw in proc.stdout:
                    line = raw.decode('utf-8', 'replace').rstrip('\n')
                    self.stdout_lines.append(line)
                    if 'listening on' in line:
                        ev.set()
                ev.set()  # EOF: the process ended

            threading.Thread(target=read, daemon=True).start()
            banner.wait(10 * SLOW)
            if self.proc.poll() is None and any('listening on' in line
                                                for line in self.stdout_lines):
                servers.append(self)
                return
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError('%s printed no "listening on" banner in %ds'
                                     % (self.name, 10 * SLOW))
            last = 'exited with status %s before its banner%s' % (
                self.proc.returncode, self.stderr_tail())
        raise AssertionError('%s %s' % (self.name, last))

    def stderr_tail(self, n=30):
        self.stderr.seek(0)
        lines = self.stderr.read().decode('utf-8', 'replace').splitlines()[-n:]
        return ''.join('\n' + line for line in lines)

    def stop(self):
        """SIGTERM, then the exit status must be 0 (sanitizer reports make it non-zero)."""
        if self in servers:
            servers.remove(self)
        if self.proc.poll() is not None:
            raise AssertionError('%s died during the tests with status %s%s' % (
                self.name, self.proc.returncode, self.stderr_tail()))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(15 * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError('%s did not exit within %ds of SIGTERM' % (self.name, 15 * SLOW))
        equal(rc, 0, '%s exit status (stderr:%s)' % (self.name, self.stderr_tail()))


def watchdog():
    emit_line('not ok - the whole run finished within %ds' % TOTAL_LIMIT)
    for srv in list(servers):
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
    emit_line('%d passed, %d failed' % (passed, failed + 1))
    os._exit(1)


# ---------------------------------------------------------------- clients

class Recorder:
    """A python-socketio Client whose received events land in queues."""

    def __init__(self):
        self.sio = socketio.Client(reconnection=False, request_timeout=WAIT)
        self.queues = {}
        self.lock = threading.Lock()

    def q(self, event, namespace='/'):
        with self.lock:
            return self.queues.setdefault((event, namespace), queue.Queue())

    def record(self, event, namespace='/'):
        q = self.q(event, namespace)
        self.sio.on(event, lambda *args: q.put(args), namespace=namespace)

    def next(self, event, namespace='/', timeout=WAIT):
        try:
            return self.q(event, namespace).get(timeout=timeout)
        except queue.Empty:
            raise AssertionError('no "%s" event on %s within %ss' % (event, namespace, timeout))

    def none(self, event, namespace='/', timeout=0.3 * SLOW):
        try:
            got = self.q(event, namespace).get(timeout=timeout)
        except queue.Empty:
            return
        raise AssertionError('unexpected "%s" event on %s: %r' % (event, namespace, got))

    def connect(self, url, transports, namespaces=('/',), auth=None):
        self.sio.connect(url, transports=transports, namespaces=list(namespaces),
                         auth=auth, wait_timeout=WAIT)

    def call(self, event, data=None, namespace='/'):
        return self.sio.call(event, data, namespace=namespace, timeout=WAIT)

    def disconnect(self, timeout=WAIT):
        """Client.disconnect(), bounded; True if it returned in time.

        python-engineio's writer thread leaves as soon as the state is no
        longer "connected", even with DISCONNECT and CLOSE still queued; on
        polling the pending GET then waits for the server's next ping (25 s)
        and the server never hears of the disconnect. So the send queue is
        drained first (the writer is then idle in its queue wait), and the
        call runs in a thread so that a lost race costs at most `timeout`.
        """
        eio = self.sio.eio
        try:
            wait_for(lambda: getattr(eio.queue, 'unfinished_tasks', 0) == 0,
                     'the client send queue to drain', timeout)
        except AssertionError:
            pass
        time.sleep(0.05)
        th = threading.Thread(target=self.sio.disconnect, daemon=True)
        th.start()
        th.join(timeout)
        return not th.is_alive()

    def close(self):
        try:
            if self.sio.connected:
                self.disconnect()
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass


def wait_for(pred, what, timeout=WAIT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError('timed out after %ss waiting for %s' % (timeout, what))


# ---------------------------------------------------------------- sio-echo

ALL_BYTES = bytes(range(256))
NESTED = {'a': [1, 2.5, None, True, False, -7], 'b': {'c': 'caf\u00e9 \u2713 \U0001f600',
                                                      'd': [], 'e': {}}, 'f': ''}


def echo_suite(srv, label, transports, final):
    c = Recorder()
    for nsp in ('/', '/custom'):
        c.record('auth', nsp)
        c.record('message-back', nsp)
    t = '%s: ' % label

    def connect():
        c.connect(srv.url, transports, namespaces=('/', '/custom'), auth={'token': 'x'})
        expect(c.sio.connected, 'not connected')
        for nsp in ('/', '/custom'):
            sid = c.sio.get_sid(nsp)
            expect(isinstance(sid, str) and len(sid) == 20, 'sid on %s: %r' % (nsp, sid))
        wait_for(lambda: c.sio.transport() == final,
                 'transport %r (is %r)' % (final, c.sio.transport()))

    if not check(t + 'sio-echo: connect to "/" and "/custom" on %s' % final, connect):
        c.close()
        return
    for nsp in ('/', '/custom'):
        check(t + 'sio-echo %s: "auth" event carries the CONNECT payload' % nsp,
              lambda nsp=nsp: equal(c.next('auth', nsp), ({'token': 'x'},), 'auth args'))

    def roundtrip(data, want, nsp='/'):
        c.sio.emit('message', data, namespace=nsp)
        equal(c.next('message-back', nsp), want, 'message-back args')

    check(t + 'message-back: a string', lambda: roundtrip('hello \u00e9\u2713', ('hello \u00e9\u2713',)))
    check(t + 'message-back: a string on /custom',
          lambda: roundtrip('on custom', ('on custom',), '/custom'))
    check(t + 'message-back: numbers', lambda: roundtrip((42, 3.25, -1, 0), (42, 3.25, -1, 0)))
    check(t + 'message-back: a nested object', lambda: roundtrip(NESTED, (NESTED,)))

    def binary():
        c.sio.emit('message', ALL_BYTES)
        got = c.next('message-back')
        equal(len(got), 1, 'argument count')
        expect(isinstance(got[0], bytes), 'not bytes: %r' % type(got[0]))
        equal(got[0], ALL_BYTES, 'bytes')
    check(t + 'message-back: bytes come back as bytes', binary)

    def mixed():
        data = ('text', {'bin': b'\x00\x01\xff', 'list': [b'', b'\x02'], 'n': 1}, b'\xfe')
        roundtrip(data, data)
    check(t + 'message-back: several arguments with nested bytes', mixed)

    def ack():
        args = ('a', 1, {'b': [True, None]}, b'\x00\xff')
        equal(c.call('message-with-ack', args), args, 'ack args')
        equal(c.call('message-with-ack', 'one'), 'one', 'single ack arg')
        equal(c.call('message-with-ack', 'cust', namespace='/custom'), 'cust', '/custom ack arg')
    check(t + 'message-with-ack: acknowledged with the same arguments', ack)

    def disconnect():
        expect(c.disconnect(), 'Client.disconnect() did not return within %ss' % WAIT)
        wait_for(lambda: not c.sio.connected, 'client disconnected')
    check(t + 'sio-echo: disconnect', disconnect)
    c.close()


# ---------------------------------------------------------------- sio-test

def test_suite(srv, label, transports, final):
    t = '%s: sio-test: ' % label
    room = 'room-' + label
    a, b = Recorder(), Recorder()
    a.record('hello')
    b.record('hello')
    asked = queue.Queue()

    def on_ask(*args):
        asked.put(args)
        return ('answer',) + args   # a tuple: several ack arguments
    a.sio.on('ask', on_ask)
    try:
        def connect():
            a.connect(srv.url, transports)
            b.connect(srv.url, transports)
            for c in (a, b):
                wait_for(lambda c=c: c.sio.transport() == final, 'transport %r' % final)
        if not check(t + 'two clients connect on %s' % final, connect):
            return
        sid_a = a.sio.get_sid('/')

        def join():
            rooms = a.call('join', room)
            expect(isinstance(rooms, list), 'join ack: %r' % (rooms,))
            equal(sorted(rooms), sorted([sid_a, room]), 'rooms in the join ack')
            equal(sorted(a.call('rooms')), sorted([sid_a, room]), '"rooms" ack')
        check(t + 'join a room, "rooms" lists it', join)

        def emit_to():
            equal(b.call('emit-to', ({'rooms': [room]}, 'hello', 'x', {'k': b'\x01\x02'})), True,
                  'emit-to ack')
            equal(a.next('hello'), ('x', {'k': b'\x01\x02'}), 'delivered args')
            b.none('hello')
        check(t + 'emit-to a room from another client reaches the member only', emit_to)

        def server_ask():
            got = a.call('server-ask', (2000 * SLOW, 'q', 7, {'z': None}))
            equal(asked.get(timeout=WAIT), ('q', 7, {'z': None}), '"ask" arguments')
            equal(got, ('ok', 'answer', 'q', 7, {'z': None}), 'server-ask ack')
        check(t + 'server-ask: the handler\'s return value is the ack', server_ask)

        def mw_refused():
            c = Recorder()
            errors = queue.Queue()
            c.sio.on('connect_error', lambda *args: errors.put(args), namespace='/mw')
            try:
                c.connect(srv.url, transports, namespaces=('/mw',), auth={'token': 'wrong'})
            except socketio.exceptions.ConnectionError:
                pass
            else:
                c.close()
                raise AssertionError('connected to /mw with a wrong token')
            finally:
                c.close()
            try:
                err = errors.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError('no connect_error on /mw')
            equal(err, ({'message': 'unauthorized', 'data': {'code': 42}},), 'connect_error')
        check(t + '/mw with a wrong token: connect error "unauthorized"', mw_refused)

        def mw_ok():
            c = Recorder()
            try:
                c.connect(srv.url, transports, namespaces=('/mw',), auth={'token': 'secret'})
                equal(c.call('echo', 'hi', namespace='/mw'), 'hi', '/mw echo')
            finally:
                c.close()
        check(t + '/mw with the right token connects', mw_ok)

        def reasons():
            # Client.disconnect() queues DISCONNECT and CLOSE and then closes
            # the transport without waiting for its writer thread, so the
            # server sees "client namespace disconnect" or "transport close"
            # (or, on polling, nothing until the ping timeout) depending on
            # timing: Node's socket.io server shows the same spread. So the
            # namespace DISCONNECT packet goes out first, built by the
            # client's own encoder, and Client.disconnect() follows once the
            # server has recorded it.
            a.sio._send_packet(a.sio.packet_class(socketio.packet.DISCONNECT, namespace='/'))

            def entry():
                for e in b.call('reasons'):
                    if e[0] == sid_a:
                        return e
                return None
            e = wait_for(entry, 'an entry for %s in "reasons"' % sid_a)
            equal(e[1:3], ['client namespace disconnect', 'client namespace disconnect'],
                  'disconnecting / disconnect reasons')
            equal(sorted(e[3]), sorted([sid_a, room]), 'rooms when disconnecting')
            expect(a.disconnect(), 'Client.disconnect() did not return within %ss' % WAIT)
            wait_for(lambda: not a.sio.connected, 'client disconnected')
        check(t + 'disconnect: "reasons" shows "client namespace disconnect"', reasons)
    finally:
        a.close()
        b.close()


def main():
    timer = threading.Timer(TOTAL_LIMIT, watchdog)
    timer.daemon = True
    timer.start()
    try:
        version = importlib.metadata.version('python-socketio')
    except importlib.metadata.PackageNotFoundError:
        version = '?'
    emit_line('# python-socketio %s against %s' % (version, BUILD_DIR))
    echo, test = Server('sio-echo'), Server('sio-test')
    started = [s for s in (echo, test)
               if check('%s starts and prints its banner' % s.name, s.start)]
    for label, transports, final in TRANSPORTS:
        if echo in started:
            echo_suite(echo, label, transports, final)
        if test in started:
            test_suite(test, label, transports, final)
    for s in started:
        check('%s exits with status 0 on SIGTERM' % s.name, s.stop)
    timer.cancel()
    emit_line('%d passed, %d failed' % (passed, failed))
    # python-socketio's background threads must not hold the exit
    os._exit(1 if failed else 0)


if __name__ == '__main__':
    main()
