/**
 * The full-size parity case of `npm run parity:full` that finishes in well under two minutes on two
 * cores, run in `npm test`: the SAM decoder against onnxruntime-node (see fullSizeParity.ts for the
 * weights, the inputs and the error measure). The other cases run with `npm run parity:full`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../test/backend';
import { MAX_REL_ERROR, runFullSizeParity } from './fullSizeParity';

beforeAll(async () => {
  await setupTestBackend();
});

describe('full-size parity against onnxruntime-node', () => {
  it('SAM decoder, 64 one-point prompts: low-res masks and IoU predictions within max rel error 1e-3', { timeout: 600_000 }, async () => {
    const report = await runFullSizeParity(['decoder']);
    expect(report.outputs.map((o) => [o.output, o.shape])).toEqual([
      ['low_res_masks', [64, 3, 256, 256]],
      ['iou_predictions', [64, 3]],
    ]);
    for (const o of report.outputs) {
      expect(o.maxAbsReference, o.output).toBeGreaterThan(0.1);
      expect(o.relError, `${o.output}: max abs ${o.maxAbsError}, max |ort| ${o.maxAbsReference}`).toBeLessThanOrEqual(MAX_REL_ERROR);
    }
  });
});
