// A gRPC server that misbehaves on purpose, for the exporter's failure tests (node's built-in
// http2, h2c with prior knowledge; no npm packages).
//
//   node grpc_stub_server.js PORT MODE LOG
//
// MODE silent: the HTTP/2 handshake is done, requests are read, and nothing is ever answered.
//      reset:  the connection is dropped (TCP RST) as soon as a request arrives.
// LOG gets one JSON line per event: {"ev":"stream","t":ms,"id":n,"headers":{...},"bytes":b}
// when a request's body is complete (or when it is reset first), and
// {"ev":"close","t":ms,"id":n,"rst":code} when a stream closes; "conn" lines per connection.
'use strict';
const fs = require('fs');
const http2 = require('http2');

const [port, mode, logPath] = process.argv.slice(2);
const log = (o) => fs.appendFileSync(logPath, JSON.stringify(Object.assign({t: Date.now()}, o)) + '\n');

const server = http2.createServer();
// The raw sockets: an Http2Session only hands out a proxy that may not be destroyed.
const sockets = new Set();
server.on('connection', (sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
});
server.on('session', () => log({ev: 'conn'}));
server.on('stream', (stream, headers) => {
    const id = stream.id;
    let bytes = 0;
    let logged = false;
    const opened = () => {
        if (!logged) {
            logged = true;
            log({ev: 'stream', id, headers, bytes});
        }
    };
    if (mode === 'reset') {
        opened();
        for (const sock of sockets) {
            sock.resetAndDestroy();
        }
        return;
    }
    stream.on('data', (chunk) => { bytes += chunk.length; });
    stream.on('end', opened);
    stream.on('close', () => {
        opened();
        log({ev: 'close', id, rst: stream.rstCode});
    });
});
server.listen(Number(port), '127.0.0.1', () => log({ev: 'listening'}));
