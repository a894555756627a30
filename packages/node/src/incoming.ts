/**
 * `@batch/node/incoming`: what reading a Node `IncomingMessage` as a batch request (and
 * learning that its client went away) takes,
 * without any `node:` module — so that an adapter for a fetch-native framework can use it
 * when it runs on node:http (Hono on @hono/node-server) and still load everywhere else.
 */
export { type ClosingResponse, clientGone } from './clientGone.js';
export { discardUnreadBody } from './discardUnreadBody.js';
export { headerPairs } from './headerPairs.js';
export { chunksOf } from './readNodeBody.js';
