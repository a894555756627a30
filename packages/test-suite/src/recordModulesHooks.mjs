// The module hooks of recordModules.mjs (they run on the loader's own thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const file = process.env.RECORD_MODULES_FILE;
  if (file) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
