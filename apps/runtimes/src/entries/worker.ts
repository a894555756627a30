import { handler } from '../app/handler.js';

// A Cloudflare Workers module: workerd calls `fetch(request, env, ctx)` with the bindings
// and the execution context, which every sub-request of a batch gets too.
export default handler;
