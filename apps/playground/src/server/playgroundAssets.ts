import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';

/** One file of the page, ready to send. */
export interface PlaygroundAsset {
  contentType: string;
  body: Buffer;
}

/** Where the page is served. */
export const PLAYGROUND_PATH = '/playground';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * The built page (`dist/page`, beside this file's `dist/server`), as URL path → asset:
 * `/playground` is `index.html`, every other file is `/playground/<name>`. The map is the
 * whole list of what is served — a path not in it is not looked up on disk.
 */
export function playgroundAssets(
  directory: URL = new URL('../page/', import.meta.url),
): Map<string, PlaygroundAsset> {
  const assets = new Map<string, PlaygroundAsset>();
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    throw new Error(
      `the playground is not built (${directory.pathname}): run pnpm build in apps/playground`,
      { cause: error },
    );
  }
  for (const name of names) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (contentType === undefined) continue;
    const asset = { contentType, body: readFileSync(new URL(name, directory)) };
    assets.set(name === 'index.html' ? PLAYGROUND_PATH : `${PLAYGROUND_PATH}/${name}`, asset);
  }
  if (!assets.has(PLAYGROUND_PATH)) {
    throw new Error(`the playground is not built: no index.html in ${directory.pathname}`);
  }
  return assets;
}
