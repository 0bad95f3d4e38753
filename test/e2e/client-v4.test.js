'use strict';
// engine.io-client 6.x (EIO=4) against eio-echo: polling, websocket, upgrade.
require('./lib/client-suite').defineClientSuite(4);
