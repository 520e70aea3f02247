// SPDX-License-Identifier: MPL-2.0
// Stand-in for KurentoForks/reconnect-ws (only published on GitHub): reconnect-core around a
// `ws` socket exposed as a small stream, one JSON-RPC message per WebSocket frame.
'use strict';

const inject = require('reconnect-core');
const WebSocket = require('ws');
const { EventEmitter } = require('events');

module.exports = inject(function (uri, options) {
  const ws = new WebSocket(uri, options);
  const stream = new EventEmitter();
  const pending = [];
  stream.writable = true;
  stream.write = function (message) {
    if (ws.readyState === WebSocket.OPEN) ws.send(message);
    else pending.push(message);
    return true;
  };
  stream.end = stream.destroy = function () {
    ws.close();
  };
  ws.on('open', function () {
    while (pending.length) ws.send(pending.shift());
    stream.emit('connect');
  });
  ws.on('message', function (data) {
    stream.emit('data', data.toString());
  });
  ws.on('close', function () {
    stream.writable = false;
    stream.emit('close');
  });
  ws.on('error', function (err) {
    stream.emit('error', err);
  });
  return stream;
});
