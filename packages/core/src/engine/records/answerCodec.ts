import type { HeaderList, SubResponse } from '../../model/types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a recorded answer keeps besides its body: everything the encoders write. */
interface AnswerHead {
  s: number;
  t?: string;
  h: HeaderList;
  id?: string;
  c?: string;
  p?: string;
  m?: string;
  g?: string;
  f?: true;
}

/**
 * One answer as the store keeps it (opaque bytes to the store): a 4-byte length, its head
 * as JSON (status, reason, headers, id, Content-ID, path, method, group), then its body.
 */
export function encodeRecordedAnswer(answer: SubResponse, body: Uint8Array): Uint8Array {
  const head: AnswerHead = { s: answer.status, h: answer.headers };
  if (answer.statusText !== undefined) head.t = answer.statusText;
  if (answer.id !== undefined) head.id = answer.id;
  if (answer.contentId !== undefined) head.c = answer.contentId;
  if (answer.path !== undefined) head.p = answer.path;
  if (answer.requestMethod !== undefined) head.m = answer.requestMethod;
  if (answer.atomicityGroup !== undefined) head.g = answer.atomicityGroup;
  if (answer.failedGroup === true) head.f = true;
  const headBytes = encoder.encode(JSON.stringify(head));
  const out = new Uint8Array(4 + headBytes.length + body.length);
  new DataView(out.buffer).setUint32(0, headBytes.length);
  out.set(headBytes, 4);
  out.set(body, 4 + headBytes.length);
  return out;
}

/** The answer `encodeRecordedAnswer` made (its body bytes, whole). */
export function decodeRecordedAnswer(data: Uint8Array): SubResponse {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headLength = view.getUint32(0);
  const head = JSON.parse(decoder.decode(data.subarray(4, 4 + headLength))) as AnswerHead;
  const answer: SubResponse = {
    status: head.s,
    headers: head.h,
    body: data.subarray(4 + headLength),
  };
  if (head.t !== undefined) answer.statusText = head.t;
  if (head.id !== undefined) answer.id = head.id;
  if (head.c !== undefined) answer.contentId = head.c;
  if (head.p !== undefined) answer.path = head.p;
  if (head.m !== undefined) answer.requestMethod = head.m;
  if (head.g !== undefined) answer.atomicityGroup = head.g;
  if (head.f === true) answer.failedGroup = true;
  return answer;
}
