/**
 * Offline, CLIP weights arrive as files: a drop of the weights with their config (and, for text
 * prompts, the tokenizer) is sorted into a load request by file name, or refused saying what is missing.
 */
import type { ClipLoadRequest } from '../../../../workers/api';

const WEIGHTS = /\.(safetensors|bin)$/i;
const CONFIG = /config\.json$/i;
const TOKENIZER = /(^tokenizer\.json$|bpe.*\.txt(\.gz)?$)/i;

export function clipRequestFromFiles(files: File[]): { request: ClipLoadRequest } | { missing: string } {
  const weights = files.filter((f) => WEIGHTS.test(f.name));
  const config = files.find((f) => CONFIG.test(f.name));
  const tokenizer = files.find((f) => TOKENIZER.test(f.name));
  if (weights.length !== 1) {
    return {
      missing:
        weights.length === 0
          ? 'no weight file (.safetensors or .bin) among the dropped files'
          : `${weights.length} weight files: drop one model at a time`,
    };
  }
  if (!config) return { missing: `no config file (open_clip_config.json or config.json) beside ${weights[0].name}` };
  return {
    request: {
      weights: { kind: 'file', file: weights[0] },
      config: { kind: 'file', file: config },
      tokenizer: tokenizer ? { kind: 'file', file: tokenizer } : null,
    },
  };
}
