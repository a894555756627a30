import { createHash } from 'node:crypto';
import {
  type BatchRecord,
  type ClaimOptions,
  type ClaimResult,
  checkAnswers,
  checkClaim,
  checkDuration,
  checkIndexes,
  checkRecordKey,
  type LeaseStatus,
  type RecordedAnswer,
  type RecordState,
  type RecordStore,
  RecordTooLarge,
  StoreUnavailable,
} from '@batch/core';
import { APPEND, CANCEL, CLAIM, FINISH, READ, RENEW, STARTED } from './recordScripts.js';

/**
 * What the store needs of a node-redis client (`createClient()` of `redis` 6 or
 * `@redis/client` 6), connected by the application: whether it is ready, and `sendCommand`.
 */
export interface RedisRecordClient {
  readonly isReady: boolean;
  sendCommand<T = unknown>(
    args: ReadonlyArray<string | Buffer>,
    options?: { typeMapping?: Record<number, unknown>; timeout?: number },
  ): Promise<T>;
}

/** Options of `createRedisRecordStore`. */
export interface RedisRecordStoreOptions {
  /**
   * What every key of the store starts with: several APIs (or tests) can share one Redis
   * under different prefixes. No `{` or `}` (the store puts each record's key in a hash
   * tag of its own).
   * @default 'batch:'
   */
  prefix?: string;
  /**
   * How long one command may take, waiting to be sent included, before the operation
   * rejects with `StoreUnavailable` (the engine answers `503`). A command that was not sent
   * by then is dropped from the client's queue, never sent later.
   * @default 1000
   */
  commandTimeoutMs?: number;
}

/** The default `prefix` of the Redis record store. */
export const DEFAULT_REDIS_PREFIX = 'batch:';
/** The default `commandTimeoutMs` of the Redis record store. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000;

// node-redis 6 maps RESP types to JavaScript types per command: every bulk string as a Buffer
// (`RESP_TYPES.BLOB_STRING`, '$'), so that answers come back byte for byte.
const BUFFERS = { 36: Buffer } as const;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({
  source,
  sha: createHash('sha1').update(source).digest('hex'),
});

const SCRIPTS = {
  claim: script(CLAIM),
  renew: script(RENEW),
  started: script(STARTED),
  append: script(APPEND),
  finish: script(FINISH),
  cancel: script(CANCEL),
  read: script(READ),
};

type Reply = Buffer | number | null | Reply[];

const text = (reply: Reply | undefined): string =>
  Buffer.isBuffer(reply) ? reply.toString('utf8') : String(reply);

/** A record key inside a hash tag: `%`, `{` and `}` escaped, so the tag is the whole key. */
const tag = (key: string) =>
  `{${key.replace(/[%{}]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}}`;

function toRecord(reply: Reply[]): BatchRecord {
  const [fingerprint, owner, state, total, info, bytes, lapsed, started, answers] = reply;
  const pairs = (answers as Reply[]) ?? [];
  const recorded = new Map<number, Uint8Array>();
  for (let i = 0; i + 1 < pairs.length; i += 2)
    recorded.set(Number(text(pairs[i])), new Uint8Array(pairs[i + 1] as Buffer));
  return {
    fingerprint: text(fingerprint),
    state: text(state) as RecordState,
    owner: text(owner),
    leaseLapsed: lapsed === 1,
    total: Number(total),
    info: text(info),
    started: ((started as Reply[]) ?? []).map((index) => Number(text(index))).sort((a, b) => a - b),
    answers: new Map([...recorded].sort(([a], [b]) => a - b)),
    bytes: Number(bytes),
  };
}

/** A lease status reply, or the error it stands for. */
function ownerReply(key: string, reply: Reply): LeaseStatus {
  const [kind, a, b] = Array.isArray(reply) ? reply : [reply];
  const outcome = text(kind);
  if (outcome === 'range')
    throw new RangeError(`item index ${Number(a)} is not in 0 … ${Number(b) - 1}`);
  if (outcome === 'too_large') throw new RecordTooLarge(key, Number(a), Number(b));
  return outcome as LeaseStatus;
}

const bytesOf = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * The recorded-batch store over Redis, for an API that runs on several instances: a retry
 * that lands on another instance is replayed there (or answered `409` while the first still
 * runs the batch), and every instance answers an asynchronous batch's monitor.
 *
 * It uses the client the application created and connected, and creates no connection of
 * its own. It never waits for Redis: while the client is not ready (connecting,
 * reconnecting) every operation rejects at once with `StoreUnavailable`, and a command that
 * takes longer than `commandTimeoutMs` rejects with it too (the engine answers `503` with
 * `Retry-After`).
 *
 * Each record is four keys in one hash tag (`<prefix>{<key>}:r|l|s|a`: the record, its
 * lease, the started items, the answers), changed only by Lua scripts, each atomic; an alias
 * is one key (`<prefix>{<alias>}:m`). Every key has a TTL.
 */
export function createRedisRecordStore(
  client: RedisRecordClient,
  options: RedisRecordStoreOptions = {},
): RecordStore {
  return new RedisRecordStore(client, options);
}

class RedisRecordStore implements RecordStore {
  readonly #client: RedisRecordClient;
  readonly #prefix: string;
  readonly #commandTimeoutMs: number;

  constructor(client: RedisRecordClient, options: RedisRecordStoreOptions) {
    const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    if (/[{}]/.test(prefix)) throw new TypeError('prefix must not contain { or }');
    checkDuration(commandTimeoutMs, 'commandTimeoutMs');
    this.#client = client;
    this.#prefix = prefix;
    this.#commandTimeoutMs = commandTimeoutMs;
  }

  /** A record's four keys, in one hash tag. */
  #keysOf(key: string): string[] {
    const base = this.#prefix + tag(key);
    return [`${base}:r`, `${base}:l`, `${base}:s`, `${base}:a`];
  }

  #aliasKey(alias: string): string {
    return `${this.#prefix}${tag(alias)}:m`;
  }

  async #send<T extends Reply>(args: ReadonlyArray<string | Buffer>): Promise<T> {
    const client = this.#client;
    const commandTimeoutMs = this.#commandTimeoutMs;
    if (!client.isReady)
      throw new StoreUnavailable('the Redis client is not ready (connecting or reconnecting)');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailable(`Redis did not answer within ${commandTimeoutMs} ms`)),
        commandTimeoutMs,
      );
    });
    try {
      const command = client.sendCommand<T>(args, {
        typeMapping: BUFFERS,
        timeout: commandTimeoutMs,
      });
      command.catch(() => {}); // Its failure after a timeout is nobody's business.
      return await Promise.race([command, timedOut]);
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error;
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailable(`Redis failed: ${message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a script on a record's keys: by its SHA, or whole when the server lacks it. */
  async #run<T extends Reply>(
    { source, sha }: Script,
    key: string,
    args: ReadonlyArray<string | Buffer>,
  ): Promise<T> {
    const keys = this.#keysOf(key);
    const rest = [String(keys.length), ...keys, ...args];
    try {
      return await this.#send<T>(['EVALSHA', sha, ...rest]);
    } catch (error) {
      if (error instanceof StoreUnavailable) throw error;
      // NOSCRIPT: the server does not know the script yet (or flushed it): send it whole.
      return this.#send<T>(['EVAL', source, ...rest]);
    }
  }

  async claim(key: string, claim: ClaimOptions): Promise<ClaimResult> {
    checkClaim(key, claim);
    const reply = await this.#run<Reply[]>(SCRIPTS.claim, key, [
      claim.fingerprint,
      claim.owner,
      String(claim.leaseMs),
      String(claim.retentionMs),
      String(claim.total),
      claim.info,
      String(claim.maxBytes),
    ]);
    const outcome = text(reply[0]);
    switch (outcome) {
      case 'new':
      case 'mismatch':
        return { outcome };
      case 'running':
        return { outcome, retryAfterMs: Number(reply[1]), info: text(reply[2]) };
      case 'finished':
      case 'takeover':
        return { outcome, record: toRecord(reply[1] as Reply[]) };
      default:
        throw new StoreUnavailable(`unexpected reply from Redis: ${outcome}`);
    }
  }

  async renew(key: string, owner: string, leaseMs: number): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkDuration(leaseMs, 'leaseMs');
    return ownerReply(key, await this.#run(SCRIPTS.renew, key, [owner, String(leaseMs)]));
  }

  async started(key: string, owner: string, indexes: readonly number[]): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkIndexes(indexes);
    return ownerReply(key, await this.#run(SCRIPTS.started, key, [owner, ...indexes.map(String)]));
  }

  async append(
    key: string,
    owner: string,
    answers: readonly RecordedAnswer[],
  ): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkAnswers(answers);
    const args: Array<string | Buffer> = [owner];
    for (const { index, data } of answers) args.push(String(index), bytesOf(data));
    return ownerReply(key, await this.#run(SCRIPTS.append, key, args));
  }

  async finish(key: string, owner: string, retentionMs: number): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkDuration(retentionMs, 'retentionMs');
    return ownerReply(key, await this.#run(SCRIPTS.finish, key, [owner, String(retentionMs)]));
  }

  async cancel(key: string): Promise<boolean> {
    checkRecordKey(key, 'key');
    return (await this.#run<number>(SCRIPTS.cancel, key, [])) === 1;
  }

  async read(key: string): Promise<BatchRecord | undefined> {
    checkRecordKey(key, 'key');
    const reply = await this.#run<Reply[] | null>(SCRIPTS.read, key, []);
    return reply === null ? undefined : toRecord(reply);
  }

  async remove(key: string): Promise<void> {
    checkRecordKey(key, 'key');
    await this.#send(['DEL', ...this.#keysOf(key)]);
  }

  async link(alias: string, key: string, ttlMs: number): Promise<void> {
    checkRecordKey(alias, 'alias');
    checkRecordKey(key, 'key');
    checkDuration(ttlMs, 'ttlMs');
    await this.#send(['SET', this.#aliasKey(alias), key, 'PX', String(ttlMs)]);
  }

  async resolve(alias: string): Promise<string | undefined> {
    checkRecordKey(alias, 'alias');
    const reply = await this.#send<Buffer | null>(['GET', this.#aliasKey(alias)]);
    return reply === null ? undefined : text(reply);
  }
}
