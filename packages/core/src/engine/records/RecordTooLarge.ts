/**
 * An `append` would take a recorded batch past its `maxBytes`: nothing of that call was
 * recorded (never a silently truncated record). The record is otherwise untouched and still
 * the owner's; `bytes` is what it would have held.
 */
export class RecordTooLarge extends Error {
  override readonly name = 'RecordTooLarge';
  /** Stable, for checks across copies of the package: `'record_too_large'`. */
  readonly code = 'record_too_large';
  readonly key: string;
  readonly bytes: number;
  readonly maxBytes: number;

  constructor(key: string, bytes: number, maxBytes: number) {
    super(`recording the answers would take ${bytes} bytes, past the bound of ${maxBytes}`);
    this.key = key;
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}
