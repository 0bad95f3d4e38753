# One non-recursive Makefile. `make` builds everything into build/;
# `make test` installs what is missing, builds with ASan+UBSan and runs every test;
# `make run` builds and starts the server. See README.md.

BUILD    ?= build
comma    := ,
SANITIZE ?=
CC       ?= cc
FUZZ_CC  ?= clang

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wmissing-prototypes \
            -Wno-unused-parameter -Werror
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread -I. -MMD -MP $(WARN)
LDLIBS   := -lcivetweb -lhiredis -lmsgpackc -lcjson -lbrotlienc -lz -lssl -lcrypto -lpthread
# crypt_r (libxcrypt: bcrypt for the Admin UI's basic auth, socketio/sio_admin.c); its
# libcrypt-dev comes with build-essential (libc6-dev depends on it)
LDLIBS   += -lcrypt
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
endif
# UBSan stops at the first report (only when it is asked: SANITIZE=thread has no
# "undefined" to stop).
ifneq ($(filter undefined,$(subst $(comma), ,$(SANITIZE))),)
CFLAGS   += -fno-sanitize-recover=undefined
endif

ENGINEIO_SRC := $(wildcard engineio/*.c)
SOCKETIO_SRC := $(wildcard socketio/*.c)
SERVER_SRC   := $(wildcard server/*.c)
CLUSTER_SRC  := $(wildcard cluster/*.c)
EXAMPLES     := $(notdir $(patsubst %/,%,$(dir $(wildcard examples/*/main.c))))
UNIT_SRC     := $(wildcard test/unit/test_*.c)
FUZZ_SRC     := $(wildcard test/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_ENGINEIO := $(BUILD)/libengineio.a
LIB_SOCKETIO := $(BUILD)/libsocketio.a
LIB_SERVER   := $(BUILD)/libsrv.a
LIB_CLUSTER  := $(BUILD)/libcluster.a
LIBS_ALL     := $(LIB_SERVER) $(if $(CLUSTER_SRC),$(LIB_CLUSTER)) $(if $(SOCKETIO_SRC),$(LIB_SOCKETIO)) $(LIB_ENGINEIO)

EXAMPLE_BINS := $(addprefix $(BUILD)/,$(EXAMPLES))
UNIT_BINS    := $(patsubst test/unit/%.c,$(BUILD)/test/%,$(UNIT_SRC))
FUZZ_BINS    := $(patsubst test/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))

.PHONY: all c web unit fuzz fuzz-long test soak run bench deps deps-test clean format format-check \
        client-dist lib install uninstall
all: c web
BENCH_BINS   := $(BUILD)/bench-server $(BUILD)/loadgen
c: $(LIBS_ALL) $(EXAMPLE_BINS) $(BENCH_BINS) client-dist
unit: $(UNIT_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_ENGINEIO): $(call obj,$(ENGINEIO_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIB_SOCKETIO): $(call obj,$(SOCKETIO_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIB_SERVER): $(call obj,$(SERVER_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
$(LIB_CLUSTER): $(call obj,$(CLUSTER_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

.SECONDEXPANSION:
EXAMPLES_COMMON := $(call obj,$(wildcard examples/*.c))
$(EXAMPLE_BINS): $(BUILD)/%: $$(call obj,$$(wildcard examples/%/*.c)) $(EXAMPLES_COMMON) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS_ALL) $(LDLIBS)

$(BUILD)/bench-server: $(BUILD)/obj/bench/server.o $(EXAMPLES_COMMON) $(LIBS_ALL)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIBS_ALL) $(LDLIBS)
$(BUILD)/loadgen: $(BUILD)/obj/bench/loadgen.o
	$(CC) $(LDFLAGS) -o $@ $^ -lm -lssl -lcrypto -lz

$(UNIT_BINS): $(BUILD)/test/%: $(BUILD)/obj/test/unit/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIBS_ALL) $(LDLIBS)

# libFuzzer drivers: clang, with ASan and UBSan, linked with the pure code.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -pthread -fsanitize=fuzzer,address,undefined
build/fuzz/%: test/fuzz/%.c $(ENGINEIO_SRC) $(SOCKETIO_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(ENGINEIO_SRC) $(SOCKETIO_SRC) -lmsgpackc -lcjson -lz -lssl -lcrypto -lcrypt
# The cluster's drivers link the Redis adapters too (and hiredis's reader).
build/fuzz/fuzz_clu_%: test/fuzz/fuzz_clu_%.c $(ENGINEIO_SRC) $(SOCKETIO_SRC) $(CLUSTER_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(ENGINEIO_SRC) $(SOCKETIO_SRC) $(CLUSTER_SRC) -lhiredis -lmsgpackc -lcjson -lz -lssl -lcrypto -lcrypt
fuzz: $(FUZZ_BINS)

# Installs what is missing: Debian packages (as root, with apt-get) and the
# npm packages of the web client and the tests. Does nothing when everything
# is there.
DEB_BUILD := build-essential libcivetweb-dev libcjson-dev libssl-dev libhiredis-dev libmsgpack-dev \
             zlib1g-dev libbrotli-dev
DEB_TEST  := clang libclang-rt-14-dev clang-format chromium python3-venv openssl redis-server haproxy
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: run as root to install:$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get install -y -qq $$missing >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; }; } || exit 1; \
	fi
endef
deps:
	$(call apt_install,$(DEB_BUILD))
deps-test:
	$(call apt_install,$(DEB_BUILD) $(DEB_TEST))
	@cd test/e2e && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; }

# The socket.io-client bundle the servers serve (Socket.IO's serveClient,
# README "What works"): installed with npm ci from server/client-dist's lock
# file, its dist/ files and package.json copied next to the programs, into
# $(BUILD)/client-dist/, where they look for it. Without npm it is skipped
# with a note (the servers then say so at start, and the names answer 404).
CLIENT_PKG := server/client-dist/node_modules/socket.io-client
client-dist: $(BUILD)/client-dist/package.json
$(BUILD)/client-dist/package.json: server/client-dist/package-lock.json server/client-dist/package.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "note: no npm: the client bundle ($@) is not installed (make deps installs npm)"; exit 0; fi; \
	cd server/client-dist && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || \
	  npm ci --no-audit --no-fund --loglevel=error; } && cd ../.. && \
	mkdir -p $(BUILD)/client-dist && \
	cp $(CLIENT_PKG)/dist/socket.io*.js $(CLIENT_PKG)/dist/socket.io*.js.map $(BUILD)/client-dist/ && \
	cp $(CLIENT_PKG)/package.json $@

# The React web client (web/), built with Vite into web/dist.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js web/package.json
ifneq ($(wildcard web/package-lock.json),)
web: web/dist/index.html
else
web:
	@echo "web/ not present: skipping the web client"
endif
web/dist/index.html: $(wildcard $(WEB_SRC)) web/package-lock.json
	cd web && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npx vite build --logLevel warn

test: deps-test
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined c unit
	$(MAKE) BUILD=build/tsan SANITIZE=thread c
	$(MAKE) fuzz web
	@BUILD=build/asan TSAN_BUILD=build/tsan bash test/run.sh

# The soak test (test/soak/soak.js, README "Tests"): SOAK_SECONDS of churn
# against build/asan/bench-server, its RSS and descriptors sampled into
# build/soak/rss.csv and rss.png; fails unless RSS stays flat, descriptors come
# back, every ack is answered and the server exits clean (LeakSanitizer quiet).
SOAK_SECONDS ?= 1800
soak: deps-test
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined c
	node test/soak/soak.js --seconds $(SOAK_SECONDS) --build build/asan --out build/soak

# Each fuzz target for FUZZ_LONG_SECONDS over its seed corpus (and its
# dictionary), one after the other, new inputs kept in build/fuzz-corpus/<target>/
# and crashes in build/fuzz-artifacts/<target>/; a line per target (runs,
# coverage, corpus size); fails if any target crashed.
FUZZ_LONG_SECONDS ?= 300
fuzz-long: fuzz
	@FUZZ_LONG_SECONDS=$(FUZZ_LONG_SECONDS) bash test/fuzz/long.sh $(FUZZ_TARGETS)

# Every benchmark scenario against this server, the Node reference server and
# socketioxide; then WSS against Node on https.createServer; then two C nodes
# against two Node nodes over one redis-server. The tables go to
# build/bench-results{,-wss,-cluster}.txt (README "Benchmarks").
bench:
	$(call apt_install,$(DEB_BUILD) redis-server)
	$(MAKE) c
	bash bench/run.sh
	bash bench/wss.sh
	bash bench/cluster.sh

# The chat server with its web client on http://localhost:5000 (PORT to change).
run: deps
	$(MAKE) c web
	./$(BUILD)/chat

# The house style (.clang-format): `make format` applies it, `make test`
# checks it.
C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '^web/')
format:
	clang-format -i $(C_FILES)
format-check:
	@clang-format --dry-run --Werror $(C_FILES)

# ------------------------------------------------------------------ packaging
# `make install` (PREFIX=/usr/local, DESTDIR for staging): one library of
# every layer (engineio, socketio, cluster, server), static and shared
# (libsocketio-c.a, libsocketio-c.so.0), the public headers under
# $(PREFIX)/include/socketio-c/ (included as "socketio/sio.h" etc.), a
# pkg-config file (socketio-c.pc) and an HTML API reference made from the
# headers (share/doc/socketio-c/api.html). `make uninstall` removes them.
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include/socketio-c
DOCDIR  ?= $(PREFIX)/share/doc/socketio-c
PCDIR   ?= $(LIBDIR)/pkgconfig
VERSION := 0.1.0
SOVER   := 0
LIB_SRC        := $(ENGINEIO_SRC) $(SOCKETIO_SRC) $(CLUSTER_SRC) $(SERVER_SRC)
PUBLIC_HEADERS := $(filter-out %_internal.h,$(wildcard engineio/*.h socketio/*.h cluster/*.h server/*.h))
LIB_A    := $(BUILD)/libsocketio-c.a
LIB_SO   := $(BUILD)/libsocketio-c.so.$(SOVER)
LIB_PC   := $(BUILD)/socketio-c.pc
LIB_DOC  := $(BUILD)/api.html
LIB_PRIVATE := $(filter-out -lpthread,$(LDLIBS)) -lpthread

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@
PIC_OBJS := $(patsubst %.c,$(BUILD)/pic/%.o,$(LIB_SRC))
$(LIB_A): $(PIC_OBJS)
	$(AR) rcs $@ $^
$(LIB_SO): $(PIC_OBJS)
	$(CC) $(LDFLAGS) -shared -Wl,-soname,libsocketio-c.so.$(SOVER) -o $@ $^ $(LDLIBS)
# Written at every install, for the PREFIX given then.
define write_pc
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCDIR)' '' \
	  'Name: socketio-c' 'Description: A Socket.IO server in C (Engine.IO v3/v4, Socket.IO v4/v5, Redis adapters)' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir} -pthread' 'Libs: -L$${libdir} -lsocketio-c' \
	  'Libs.private: $(LIB_PRIVATE)' >$(1)
endef
$(LIB_PC): Makefile
	@mkdir -p $(dir $@)
	$(call write_pc,$@)
# The reference: each public header, its comments being the documentation.
$(LIB_DOC): $(PUBLIC_HEADERS)
	@mkdir -p $(dir $@)
	@{ echo '<!doctype html><meta charset="utf-8"><title>socketio-c $(VERSION) API</title>'; \
	  echo '<h1>socketio-c $(VERSION): the API</h1><p>Every public header; the comments are the reference (ownership, threading, errors).</p><ul>'; \
	  for h in $(PUBLIC_HEADERS); do echo "<li><a href=\"#$$h\">$$h</a></li>"; done; echo '</ul>'; \
	  for h in $(PUBLIC_HEADERS); do echo "<h2 id=\"$$h\">$$h</h2><pre>"; \
	    sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' $$h; echo '</pre>'; done; } >$@
lib: $(LIB_A) $(LIB_SO) $(LIB_PC) $(LIB_DOC)

install: lib
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libsocketio-c.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libsocketio-c.so
	for h in $(PUBLIC_HEADERS); do install -D -m 644 $$h $(DESTDIR)$(INCDIR)/$$h || exit 1; done
	$(call write_pc,$(DESTDIR)$(PCDIR)/socketio-c.pc)
	install -m 644 $(LIB_DOC) $(DESTDIR)$(DOCDIR)/api.html
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libsocketio-c.a $(DESTDIR)$(LIBDIR)/libsocketio-c.so \
	  $(DESTDIR)$(LIBDIR)/libsocketio-c.so.$(SOVER) $(DESTDIR)$(PCDIR)/socketio-c.pc
	rm -rf $(DESTDIR)$(INCDIR) $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
