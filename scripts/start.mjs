// The main job. Until the example API lands (the "Example apps" issue), this checks that
// the build worked by running one batch through @batch/core and says what is next.
import { decodeBatchRequest, encodeBatchResponse } from '@batch/core';

const body = new TextEncoder().encode(
  JSON.stringify({
    defaults: { method: 'POST', path: '/articles' },
    requests: [
      { body: { title: 'MoFo' } },
      { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
    ],
  }),
);
const batch = await decodeBatchRequest({ contentType: 'application/json', body });
const encoded = encodeBatchResponse(
  'json',
  batch.items.map((item, index) => ({
    status: 200,
    headers: [['content-type', 'application/json']],
    body: item.body,
    path: item.target,
    id: String(index),
  })),
);
let text = '';
const decoder = new TextDecoder();
for await (const chunk of encoded.body) text += decoder.decode(chunk, { stream: true });

console.log('@batch is installed and built.');
console.log(
  `@batch/core decoded a ${batch.format} batch of ${batch.items.length} requests and answered:`,
);
console.log(`  ${text}`);
console.log('');
console.log(
  'The example API with POST /batch on localhost:3000 is not built yet: it comes with the',
);
console.log('"Example apps" issue. Until then, run the tests with `pnpm test`.');
