/**
 * SAM throughput on the lab's backend with random weights of the real architectures:
 * image-encoder ms/image, mask-decoder ms per point batch, automatic-mask-generation masks/s, and
 * peak tensor memory. Query string (npm run bench:sam -- "size=1024&models=sam-vit-b"):
 *   models  comma list of sam-vit-b, sam-vit-l, sam-vit-h, slimsam-77 (default slimsam-77; SwiftShader
 *           takes ~5 min for it, ViT-B several times that: ask with models=sam-vit-b,slimsam-77)
 *   size    encoder input img_size (default 128: REDUCED; 1024 = real SAM, for real GPUs)
 *   batch   decoder points per batch (default 64)
 *   side    automatic-mask-generation points per side (default 4; SAM uses 32)
 *   repeats timed runs after one warm-up (default 1)
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { generateSamMasks } from '../src/models/sam/autoMask';
import { samPreset, withImageSize, type SamPresetName } from '../src/models/sam/config';
import { SamModel, SamPredictor } from '../src/models/sam/sam';
import { randomSamTensorSource } from '../src/models/sam/weights';
import type { BrowserBenchmark } from './types';

const PRESETS: SamPresetName[] = ['sam-vit-b', 'sam-vit-l', 'sam-vit-h', 'slimsam-77'];

async function timed(repeats: number, run: () => Promise<void>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return Math.min(...times);
}

export const runBenchmark: BrowserBenchmark = async (log) => {
  const query = new URLSearchParams(location.search);
  const models = (query.get('models') ?? 'slimsam-77').split(',') as SamPresetName[];
  const size = Number(query.get('size') ?? 128);
  const batch = Number(query.get('batch') ?? 64);
  const side = Number(query.get('side') ?? 4);
  const repeats = Number(query.get('repeats') ?? 1);
  for (const m of models) if (!PRESETS.includes(m)) throw new Error(`unknown model ${m} (known: ${PRESETS.join(', ')})`);
  const info = await initBackend();
  log(`backend ${info.name}, encoder img_size ${size}${size < 1024 ? ' (reduced; real SAM uses 1024)' : ''}`);

  // a synthetic 4:3 photo-sized image whose longest side is the encoder size
  const width = size;
  const height = Math.round((size * 3) / 4);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([(i * 13) % 256, (i >> 3) % 256, (i * 7) % 256, 255], 4 * i);

  const rows: (string | number)[][] = [];
  const figures: Record<string, unknown> = { backend: info, size, batch, side, repeats };
  for (const name of models) {
    const config = withImageSize(samPreset(name), size);
    log(`${name}: uploading random weights`);
    const model = await SamModel.load(randomSamTensorSource(config), config);
    const predictor = new SamPredictor(model);

    const encodeProfile = await tf.profile(async () => {
      predictor.setImage(rgba, width, height, 4);
      await predictor.imageEmbedding.data();
    });
    const encoderMs = await timed(repeats, async () => {
      predictor.setImage(rgba, width, height, 4);
      await predictor.imageEmbedding.data();
    });
    log(`${name}: encoder ${encoderMs.toFixed(0)} ms/image, peak tensors ${(encodeProfile.peakBytes / 2 ** 20).toFixed(0)} MiB`);

    const decoderMs = await timed(repeats, async () => {
      const out = tf.tidy(() => {
        const coords = tf.mul(tf.randomUniform([batch, 1, 2]), size * 0.75) as tf.Tensor3D;
        return model.decode(predictor.imageEmbedding, { pointCoords: coords, pointLabels: tf.ones([batch, 1], 'int32') as tf.Tensor2D }, true);
      });
      await out.iouPredictions.data();
      await out.lowResLogits.data();
      tf.dispose([out.lowResLogits, out.iouPredictions]);
    });
    log(`${name}: decoder ${decoderMs.toFixed(0)} ms per ${batch}-point batch`);

    // random weights rarely pass SAM's thresholds: accept every mask so the full path (upsample, score, read back, RLE, NMS) is timed
    let masks = 0;
    const amgMs = await timed(Math.max(1, repeats - 1), async () => {
      masks = (await generateSamMasks(predictor, { pointsPerSide: side, pointsPerBatch: batch, predIouThresh: -Infinity, stabilityScoreThresh: 0 })).length;
    });
    const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    const candidates = side * side * 3;
    log(`${name}: automatic masks ${(candidates / (amgMs / 1000)).toFixed(1)} candidate masks/s (${masks} kept of ${candidates})`);
    rows.push([name, size, encoderMs, decoderMs, candidates / (amgMs / 1000), (encodeProfile.peakBytes / 2 ** 20), (mem.numBytesAllocatedInGPU ?? mem.numBytes) / 2 ** 20]);
    figures[name] = { encoderMs, decoderMs, amgMs, amgCandidates: candidates, amgKept: masks, encoderPeakBytes: encodeProfile.peakBytes, memory: mem };
    predictor.resetImage();
    model.dispose();
  }
  return {
    title: `SAM with random weights (encoder img_size ${size}${size < 1024 ? ', REDUCED' : ''})`,
    columns: ['model', 'img_size', 'encoder ms/img', `decoder ms/${batch} pts`, 'AMG masks/s', 'encoder peak MiB', 'GPU allocated MiB'],
    rows,
    figures,
    notes: [
      'AMG masks/s counts candidate masks (3 per grid point) through upsampling, stability scoring, read-back, RLE and NMS, with thresholds disabled',
      'GPU allocated = tfjs buffer pool after the run (the WebGPU backend keeps freed buffers for reuse)',
    ],
  };
};
