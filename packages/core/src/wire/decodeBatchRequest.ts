import { concatBytes, fromUtf8Strict } from '../http/bytes.js';
import { formatOfContentType } from '../http/contentType.js';
import { type BodyInput, bodyChunks, countChunk } from '../http/readBody.js';
import { JsonBatchWatcher } from '../json/JsonBatchWatcher.js';
import { parseJsonBatch } from '../json/parseJsonBatch.js';
import { BatchError } from '../model/BatchError.js';
import { resolveLimits } from '../model/limits.js';
import type {
  BatchFormat,
  BatchLimits,
  DecodedBatch,
  ResolvedBatchLimits,
  SubRequest,
} from '../model/types.js';
import { parseRequestPart } from '../multipart/httpMessage.js';
import { MultipartScanner } from '../multipart/MultipartScanner.js';
import { multipartBoundary } from '../multipart/multipartBoundary.js';

/** The outer batch request, as plain values. */
export interface BatchRequestInput {
  /** The batch request's `Content-Type`; it picks the format. */
  contentType: string | null | undefined;
  /** The body, whole or as a stream of chunks (read incrementally). */
  body: BodyInput;
  /**
   * The batch request's `Host`. Absolute-form sub-request targets must name it; without
   * it they are rejected.
   */
  host?: string | undefined;
  /** Formats the endpoint accepts. @default both */
  formats?: readonly BatchFormat[] | undefined;
  /**
   * JSON: a string body with a Content-Type that is neither JSON nor text is base64
   * (`BatchOptions.base64StringBodies`). @default false
   */
  base64StringBodies?: boolean | undefined;
}

const ALL_FORMATS: readonly BatchFormat[] = ['multipart', 'json'];
const MEDIA_TYPES: Record<BatchFormat, string> = {
  multipart: 'multipart/mixed',
  json: 'application/json',
};

/** The format `contentType` selects among `formats`; throws a 415 `BatchError` otherwise. */
export function requireFormat(
  contentType: string | null | undefined,
  formats: readonly BatchFormat[] = ALL_FORMATS,
): BatchFormat {
  const format = formatOfContentType(contentType);
  if (format === undefined || !formats.includes(format)) {
    const accepted = formats.map((name) => MEDIA_TYPES[name]).join(', ');
    throw new BatchError(
      'unsupported_media_type',
      `Content-Type ${contentType ? `"${contentType.slice(0, 100)}"` : '(none)'} is not a batch format; accepted: ${accepted}`,
    );
  }
  return format;
}

/**
 * Reads and validates a whole batch request (SPEC §2, §3). Limits are enforced while
 * reading. Every failure is a `BatchError` naming the part or JSON member at fault.
 */
export async function decodeBatchRequest(
  input: BatchRequestInput,
  limits?: BatchLimits,
): Promise<DecodedBatch> {
  const resolved = resolveLimits(limits);
  const format = requireFormat(input.contentType, input.formats);
  const items =
    format === 'multipart'
      ? await decodeMultipartRequest(input, resolved)
      : await decodeJsonRequest(input, resolved);
  return { format, items };
}

async function decodeMultipartRequest(
  input: BatchRequestInput,
  limits: ResolvedBatchLimits,
): Promise<SubRequest[]> {
  const boundary = multipartBoundary(input.contentType ?? '');
  // Object literals, field by field: a spread makes its object the slow way, per batch.
  const maxHeadBytes = limits.maxPartHeaderBytes;
  const maxBodyBytes = limits.maxItemBodyBytes;
  const scanner = new MultipartScanner({
    boundary,
    maxParts: limits.maxRequests,
    maxHeadBytes,
    maxBodyBytes,
    changeSets: true,
  });
  const context = { host: input.host, maxHeadBytes, maxBodyBytes };
  const items: SubRequest[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(input.body)) {
    total = countChunk(total, chunk, limits.maxBodyBytes);
    for (const part of scanner.push(chunk)) items.push(parseRequestPart(part, context));
    // Parts first, then what stopped the scan: the first problem of the body is the one told.
    scanner.throwIfFailed();
    // After the close delimiter only the epilogue remains: still counted, never kept.
  }
  scanner.end();
  return items;
}

async function decodeJsonRequest(
  input: BatchRequestInput,
  limits: ResolvedBatchLimits,
): Promise<SubRequest[]> {
  const watcher = new JsonBatchWatcher(limits);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(input.body)) {
    total = countChunk(total, chunk, limits.maxBodyBytes);
    watcher.push(chunk);
    chunks.push(chunk);
  }
  const bytes = concatBytes(chunks);
  const text = fromUtf8Strict(bytes);
  if (text === undefined) throw new BatchError('invalid_batch', 'JSON batch is not valid UTF-8');
  let document: unknown;
  try {
    document = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown reason';
    throw new BatchError('invalid_batch', `JSON batch does not parse: ${reason.slice(0, 200)}`);
  }
  return parseJsonBatch(document, {
    limits,
    host: input.host,
    base64StringBodies: input.base64StringBodies === true,
  });
}
