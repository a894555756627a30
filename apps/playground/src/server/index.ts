export type { PlaygroundAsset } from './playgroundAssets.js';
export { PLAYGROUND_PATH, playgroundAssets } from './playgroundAssets.js';
export {
  MAX_SIMULATED_RTT_MS,
  SIMULATED_RTT_HEADER,
  simulatedRoundTrip,
} from './simulatedRoundTrip.js';
export type { PlaygroundOptions } from './withPlayground.js';
export { withPlayground } from './withPlayground.js';
