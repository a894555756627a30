/**
 * Every JSON example of docs/protocol.md — each JSON batch request, each JSON and JSON
 * Lines answer, each problem — against `@batch/core`'s JSON Schemas (Ajv, 2020-12).
 */
import { readFileSync } from 'node:fs';
import {
  batchJobStatusSchema,
  batchProblemSchema,
  type JsonSchema,
  jsonBatchRequestSchema,
  jsonBatchResponseSchema,
  jsonLinesLineSchema,
} from '@batch/core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
ajv.addFormat('uri-reference', true);

const protocol = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

interface Example {
  name: string;
  schema: JsonSchema;
  value: unknown;
  /** A request the docs show refused with a `400`: the `detail`s of its `errors`. */
  refusedWith?: string[];
}

/** JSON values written one after another, each over one or more lines. */
function concatenatedJson(text: string): unknown[] {
  const values: unknown[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    pending += `${line}\n`;
    try {
      values.push(JSON.parse(pending));
      pending = '';
    } catch {
      // not a whole value yet
    }
  }
  expect(pending.trim(), 'a JSON Lines example ends with a whole value').toBe('');
  return values;
}

function examples(): Example[] {
  const out: Example[] = [];
  const blocks = [...protocol.matchAll(/```http\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
  blocks.forEach((block, index) => {
    const split = block.indexOf('\n\n');
    const head = split === -1 ? block : block.slice(0, split);
    const body = split === -1 ? '' : block.slice(split + 2).trim();
    const first = head.split('\n')[0] ?? '';
    const type = /^content-type:\s*([^;\s]+)/im.exec(head)?.[1]?.toLowerCase();
    const name = `block ${index + 1}: ${first}`;
    if (body === '' || type === undefined) return;
    if (first.startsWith('POST ') && type === 'application/json') {
      if (body.includes('…')) return; // "… 101 items …": abbreviated on purpose
      const answer = blocks[index + 1] ?? '';
      const example: Example = { name, schema: jsonBatchRequestSchema, value: JSON.parse(body) };
      if (answer.startsWith('HTTP/1.1 400')) {
        const problem = JSON.parse(answer.slice(answer.indexOf('\n\n') + 2)) as {
          errors: Array<{ detail: string }>;
        };
        example.refusedWith = problem.errors.map((error) => error.detail);
      }
      out.push(example);
    } else if (first.startsWith('HTTP/')) {
      // A 202, or a 202 from a monitor: the job's status (SPEC §9); else a batch's answer.
      const jobStatus = /^HTTP\/1\.1 202/.test(first);
      if (type === 'application/json') {
        out.push({
          name,
          schema: jobStatus ? batchJobStatusSchema : jsonBatchResponseSchema,
          value: JSON.parse(body),
        });
      } else if (type === 'application/problem+json') {
        out.push({ name, schema: batchProblemSchema, value: JSON.parse(body) });
      } else if (type === 'application/jsonl') {
        concatenatedJson(body).forEach((value, line) => {
          out.push({ name: `${name}, line ${line + 1}`, schema: jsonLinesLineSchema, value });
        });
      }
    }
  });
  return out;
}

const EXAMPLES = examples();

describe('docs/protocol.md: every JSON example fits the JSON Schemas of @batch/core', () => {
  it('finds the examples (requests, answers, lines, problems)', () => {
    const count = (schema: JsonSchema) => EXAMPLES.filter((e) => e.schema === schema).length;
    expect(count(jsonBatchRequestSchema)).toBeGreaterThanOrEqual(8);
    expect(count(jsonBatchResponseSchema)).toBeGreaterThanOrEqual(5);
    expect(count(jsonLinesLineSchema)).toBe(4);
    expect(count(batchProblemSchema)).toBeGreaterThanOrEqual(5);
    // Two requests shown refused: three shape problems at once, and a nested batch.
    expect(EXAMPLES.filter((example) => example.refusedWith !== undefined)).toHaveLength(2);
  });

  it.each(EXAMPLES)('$name', ({ schema, value, refusedWith }) => {
    const validate = ajv.compile(schema);
    const valid = validate(value);
    if (refusedWith === undefined) {
      expect(valid, ajv.errorsText(validate.errors)).toBe(true);
    } else {
      // Refused by the server: by the schema too when the problem is one of shape (an
      // unknown member, a missing path); a nested batch is the server's own check.
      const shape = refusedWith.some((detail) => /unknown member|is required/.test(detail));
      expect(valid).toBe(!shape);
    }
  });
});
