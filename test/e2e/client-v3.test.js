'use strict';
// engine.io-client 3.x (EIO=3) against eio-echo: polling, websocket, upgrade.
require('./lib/client-suite').defineClientSuite(3);
