export type { ConnectionInfo } from './BatchSocket.js';
export { BatchSocket, connectionOf } from './BatchSocket.js';
export type { NodeBatchHandler } from './createNodeBatchHandler.js';
export { createNodeBatchHandler } from './createNodeBatchHandler.js';
export { discardUnreadBody } from './discardUnreadBody.js';
export type { NodeHandler } from './dispatchToNode.js';
export { dispatchToNode } from './dispatchToNode.js';
export { chunksOf, readNodeBody } from './readNodeBody.js';
export { sendBatchOutput } from './sendBatchOutput.js';
