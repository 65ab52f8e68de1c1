/**
 * The demo CLIP shipped in public/demo-clip/ (`npm run demo:clip`): a tiny OpenCLIP ConvNeXt CLIP
 * trained on the demo world only, not a real CLIP. The lab loads it like any CLIP weights from a
 * URL (the one weight cache, config parsing and tokenizer); only its card name says what it is.
 * No tfjs here: the UI takes these values through workers/api.ts.
 */
import type { ClipLoadRequest } from './modelsApi';

/** The name the Models tab, the Train tab, the guide and model cards show. */
export const DEMO_CLIP_NAME = 'demo CLIP (trained on the demo world)';

export const DEMO_CLIP_FILES = {
  weights: 'demo-clip.safetensors',
  config: 'open_clip_config.json',
  vocabulary: 'bpe_simple_vocab_16e6.txt.gz',
} as const;

/** sha256 of the shipped weights: a cached copy of another version is replaced, not used. */
export const DEMO_CLIP_SHA256 = '521d4b68cb978c39a6787f424d4fbd6296f7388e569e422341c13aa7212f0653';

/** The load request of the demo CLIP served from `folderUrl` (absolute, ending in '/'). */
export function demoClipRequest(folderUrl: string): ClipLoadRequest {
  const at = (file: string) => new URL(file, folderUrl).href;
  return {
    name: DEMO_CLIP_NAME,
    weights: { kind: 'url', url: at(DEMO_CLIP_FILES.weights), sha256: DEMO_CLIP_SHA256 },
    config: { kind: 'next-to-weights' },
    tokenizer: { kind: 'url', url: at(DEMO_CLIP_FILES.vocabulary) },
  };
}
