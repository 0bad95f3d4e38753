#!/usr/bin/env bash
# test/packaging/check.sh: `make install` into a scratch prefix (a plain
# build of its own, build/pkg), then examples/hello compiled against the
# installed copy with pkg-config alone, linked shared and static, and the
# shared one started: it must answer an Engine.IO handshake on port 3000
# (skipped, said, if something else holds that port). Then `make uninstall`
# must leave nothing behind. Prints "packaging: ok" or the reason it failed.
set -eu
cd "$(dirname "$0")/../.."
prefix=$(mktemp -d /tmp/sioc-prefix.XXXXXX)
work=$(mktemp -d /tmp/sioc-pkg.XXXXXX)
trap 'rm -rf "$prefix" "$work"; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; true' EXIT
make -s BUILD=build/pkg -j2 install PREFIX="$prefix" >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
cflags=$(pkg-config --cflags socketio-c)
cc -std=c11 -D_GNU_SOURCE $cflags -o "$work/hello" examples/hello/main.c $(pkg-config --libs socketio-c)
cc -std=c11 -D_GNU_SOURCE $cflags -o "$work/hello-static" examples/hello/main.c \
    $(pkg-config --static --libs socketio-c | sed "s|-lsocketio-c|$prefix/lib/libsocketio-c.a|")
# The shared one needs the installed library: it must be the one it runs with.
LD_LIBRARY_PATH="$prefix/lib" ldd "$work/hello" | grep -q "$prefix/lib/libsocketio-c.so.0" ||
    { echo "packaging: hello is not linked with the installed libsocketio-c.so.0"; exit 1; }
if ss -Htln 'sport = :3000' 2>/dev/null | grep -q .; then
    echo "packaging: port 3000 is in use: hello compiled and linked, not started"
else
    LD_LIBRARY_PATH="$prefix/lib" "$work/hello" >"$work/hello.log" 2>&1 &
    pid=$!
    ok=0
    for _ in $(seq 1 50); do
        if curl -s 'http://127.0.0.1:3000/socket.io/?EIO=4&transport=polling' | grep -q '"sid"'; then ok=1; break; fi
        sleep 0.1
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    [ $ok = 1 ] || { echo "packaging: the installed hello did not answer a handshake"; cat "$work/hello.log"; exit 1; }
fi
[ -s "$prefix/share/doc/socketio-c/api.html" ] && grep -q "sio_server_new" "$prefix/share/doc/socketio-c/api.html" ||
    { echo "packaging: no API reference"; exit 1; }
make -s BUILD=build/pkg uninstall PREFIX="$prefix"
left=$(find "$prefix" -type f | head -5)
[ -z "$left" ] || { echo "packaging: make uninstall left $left"; exit 1; }
echo "packaging: ok"
