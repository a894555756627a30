import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  curlCommand,
  MINIMAL_IMPORT_BATCH,
  MULTIPART_EXAMPLE_BATCH,
  shellQuote,
} from './exampleBatches.js';

/** What bash makes of `word`. */
const bash = (words: string[]) =>
  execFileSync('bash', ['-c', `printf '%s\\0' ${words.join(' ')}`], { encoding: 'utf8' })
    .split('\0')
    .slice(0, -1);

describe('shellQuote', () => {
  it('gives bash back the exact text, whatever it holds', () => {
    const texts = fc.sample(fc.string({ unit: 'binary', maxLength: 40 }), 60);
    const printable = texts.map((text) => text.replace(/\0/g, '')); // bash words end at NUL
    expect(bash(printable.map(shellQuote))).toEqual(printable);
  });

  it("keeps a plain line in '…', and escapes CR LF in $'…'", () => {
    expect(shellQuote('{"a":1}')).toBe(`'{"a":1}'`);
    expect(shellQuote("it's\r\n")).toBe("$'it\\'s\\r\\n'");
  });
});

describe('curlCommand', () => {
  it('sends the multipart example byte for byte (--data-binary, CRLF kept)', () => {
    const line = curlCommand('http://localhost:3000', MULTIPART_EXAMPLE_BATCH, "o'brien");
    expect(line).toContain('--data-binary $');
    const words = bash([line.replace(/^curl -s /, '')]);
    expect(words).toEqual([
      'http://localhost:3000/batch',
      '-H',
      "Authorization: Bearer o'brien",
      '-H',
      'Content-Type: multipart/mixed; boundary=batch_curl',
      '--data-binary',
      MULTIPART_EXAMPLE_BATCH.body,
    ]);
  });

  it('sends the minimal import with its Prefer header', () => {
    const line = curlCommand('http://localhost:3000', MINIMAL_IMPORT_BATCH);
    expect(bash([line.replace(/^curl -s /, '')])).toEqual([
      'http://localhost:3000/batch',
      '-H',
      'Authorization: Bearer alice',
      '-H',
      'Content-Type: application/json',
      '-H',
      'Prefer: return=minimal',
      '-d',
      MINIMAL_IMPORT_BATCH.body,
    ]);
  });

  it('leaves Authorization out for an empty token', () => {
    expect(curlCommand('http://x', { contentType: 'application/json', body: '{}' }, '')).toBe(
      "curl -s http://x/batch -H 'Content-Type: application/json' -d '{}'",
    );
  });
});
