/**
 * Starts kinesis-mock (LocalStack's DynamoDB Streams backend) bound to 127.0.0.1: it listens on
 * every interface and has no setting for it, so every server it opens is given the loopback
 * host before the real `main.js` (whose path follows this file's text, as `KINESIS_MOCK_MAIN`)
 * starts. LocalStack runs this file as kinesis-mock's `main.js`.
 */
'use strict';
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  if (args[0] !== null && typeof args[0] === 'object') {
    args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))) {
    if (typeof args[1] === 'string') args[1] = '127.0.0.1';
    else args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};
