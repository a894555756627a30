import { BatchError } from './BatchError.js';
import { parseMediaType } from './contentType.js';

/** The boundary of a `multipart/mixed` content type; throws when missing or too long. */
export function multipartBoundary(contentType: string): string {
  const boundary = parseMediaType(contentType)?.params.get('boundary');
  if (boundary === undefined || boundary === '') {
    throw new BatchError('invalid_batch', 'multipart/mixed Content-Type has no boundary parameter');
  }
  if (boundary.length > 70) {
    throw new BatchError('invalid_batch', 'multipart boundary is longer than 70 characters');
  }
  for (let i = 0; i < boundary.length; i++) {
    const c = boundary.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) {
      throw new BatchError(
        'invalid_batch',
        'multipart boundary has a control or non-ASCII character',
      );
    }
  }
  return boundary;
}

/** A fresh response boundary: `batch_` and a random token, never quoted (SPEC §2). */
export function createBoundary(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let token = '';
  for (const byte of bytes) token += byte.toString(36).padStart(2, '0');
  return `batch_${token}`;
}
