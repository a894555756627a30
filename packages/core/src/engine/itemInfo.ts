/** What the engine tells the app about items and groups (re-exported by `options.ts`). */

/** What the `onItem` hook learns about each finished item. */
export interface BatchItemInfo {
  /** 0-based position of the item in the batch. */
  index: number;
  method: string;
  /** The path the item was dispatched to, without its query string. */
  path: string;
  status: number;
  /** Milliseconds from the item's start to its response (0 for items never run). */
  durationMs: number;
  /** True when the dispatcher ran for this item (false for 424s, and items never started). */
  ran: boolean;
}

/** The atomicity group a transaction hook is asked to run. */
export interface AtomicityGroupInfo {
  /** JSON `atomicityGroup`, or the decoder's name of a multipart change set. */
  name: string;
  /** How many items the group holds. */
  size: number;
}
