export type { ConnectionInfo } from './BatchSocket.js';
export { BatchSocket, connectionOf } from './BatchSocket.js';
export type { NodeBatchHandler } from './createNodeBatchHandler.js';
export { createNodeBatchHandler } from './createNodeBatchHandler.js';
export type { NodeHandler } from './dispatchToNode.js';
export { dispatchToNode } from './dispatchToNode.js';
export { readNodeBody } from './readNodeBody.js';
export { sendBatchOutput } from './sendBatchOutput.js';
