import { equalsLower } from '../http/headerNames.js';
import type { HeaderList } from '../model/types.js';

/**
 * Whether a batch request is an OData batch (SPEC §2): the batch route's last segment is
 * `$batch` (any case; `%24batch` too; a trailing `/` and a query string are ignored), or the
 * request carries an `OData-Version` (or `OData-MaxVersion`) header. An OData batch's
 * multipart answers echo each request's `Content-ID` unchanged — pass
 * `{ echoContentId: isODataBatch(path, headers) }` to `encodeBatchResponse`.
 */
export function isODataBatch(path: string, headers: HeaderList): boolean {
  for (const [name] of headers) {
    if (equalsLower(name, 'odata-version') || equalsLower(name, 'odata-maxversion')) return true;
  }
  let end = path.length;
  const query = path.search(/[?#]/);
  if (query !== -1) end = query;
  while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
  const segment = path.slice(path.lastIndexOf('/', end - 1) + 1, end).toLowerCase();
  return segment === '$batch' || segment === '%24batch';
}
