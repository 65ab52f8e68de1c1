/**
 * SAM against the upstream segment-anything outputs of the sam-tiny fixtures, in both key namings.
 * Architecture, prompts, shapes and tolerances all come from the fixture folder ($DEARLI_FIXTURES).
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../../test/backend';
import {
  IN_BROWSER,
  compareToReference,
  expectMatchesReference,
  loadFixtureTensors,
  openFixtureSafetensors,
  readFixtureJson,
  toleranceFor,
  type TolerancePattern,
} from '../../../test/fixtures';
import type { LoadedTensor } from '../weights/safetensors';
import { safetensorsSource } from '../weights/tensorSource';
import { samConfigFromFixture, type SamConfig } from './config';
import { normalizeAndPad, resizedShape, resizeRgbBilinear } from './preprocess';
import { SamModel, SamPredictor } from './sam';

const DIR = 'sam-tiny';
const WEIGHT_FILES = ['sam_original.safetensors', 'sam_hf.safetensors'];
/**
 * Key naming is resolved on the CPU before upload, and the namings are checked to give bit-identical
 * tensors below; on SwiftShader, where each dispatch is slow, the full pipeline runs for one naming.
 */
const PIPELINE_FILES = IN_BROWSER ? WEIGHT_FILES.slice(0, 1) : WEIGHT_FILES;

let config: SamConfig;
let patterns: TolerancePattern[];
let cases: Map<string, LoadedTensor>;
const maxDiffs = new Map<string, number>();

function fixture(name: string): LoadedTensor {
  const t = cases.get(name);
  if (!t) throw new Error(`fixture tensor ${name} is missing`);
  return t;
}

function check(label: string, name: string, actual: ArrayLike<number>, where?: (i: number) => boolean): void {
  const c = expectMatchesReference(name, actual, fixture(name).data, patterns, where);
  const key = `${label} ${name}`;
  maxDiffs.set(key, Math.max(maxDiffs.get(key) ?? 0, c.maxAbsDiff));
}

async function nchwOf(t: tf.Tensor4D): Promise<Float32Array> {
  const nchw = tf.transpose(t, [0, 3, 1, 2]);
  const data = (await nchw.data()) as Float32Array;
  nchw.dispose();
  return data;
}

/** `exact_where: "|masks_logits_orig| >= 1e-3"` → the reference tensor name and the threshold. */
function exactWhere(name: string, tol: TolerancePattern): { reference: string; threshold: number } {
  const m = /^\|(\w+)\|\s*>=\s*([0-9.eE+-]+)$/.exec(tol.exact_where ?? '');
  if (!m) throw new Error(`cannot read exact_where "${tol.exact_where}" for ${name}`);
  return { reference: name.replace(/[^_]+_binary_orig$|masks_binary_orig$/, m[1]), threshold: Number(m[2]) };
}

const promptNames = () =>
  [...cases.keys()].filter((k) => k.endsWith('__sparse_embeddings')).map((k) => k.split('__')[0]);

beforeAll(async () => {
  await setupTestBackend();
  const json = await readFixtureJson<{ tolerances: { patterns: TolerancePattern[] } }>(`${DIR}/config.json`);
  config = samConfigFromFixture(json, `${DIR}/config.json`);
  patterns = json.tolerances.patterns;
  cases = await loadFixtureTensors(`${DIR}/cases.safetensors`);
});

afterAll(() => {
  const lines = [...maxDiffs].map(([k, v]) => `  ${k}: ${v.toExponential(2)}`);
  console.log(`SAM parity max |diff| on ${tf.getBackend()}:\n${lines.join('\n')}`);
});

describe('SAM preprocessing', () => {
  it('resizes the longest side like PIL bilinear (within the fixture tolerance)', () => {
    const original = fixture('image_original_uint8_hwc');
    const resized = fixture('image_resized_uint8_hwc');
    const [h, w] = original.shape;
    expect(resizedShape(h, w, config.imageEncoder.imgSize)).toEqual(resized.shape.slice(0, 2));
    const ours = resizeRgbBilinear(original.data, w, h, 3, resized.shape[1], resized.shape[0]);
    check('resize', 'image_resized_uint8_hwc', ours);
  });

  it('normalises and zero-pads the fixture resized image', async () => {
    const resized = fixture('image_resized_uint8_hwc');
    const input = normalizeAndPad(resized.data as Uint8Array, resized.shape[1], resized.shape[0], config);
    check('preprocess', 'image_input_nchw', await nchwOf(input));
    input.dispose();
  });
});

describe('SAM key namings', () => {
  it('loads both fixture files to identical tfjs tensors', async () => {
    const [original, hf] = await Promise.all(
      WEIGHT_FILES.map(async (f) =>
        SamModel.load(safetensorsSource(await openFixtureSafetensors(`${DIR}/${f}`)), config),
      ),
    );
    expect(original.weights.naming).toBe('segment-anything');
    expect(hf.weights.naming).toBe('transformers');
    expect([...hf.weights.tensors.keys()].sort()).toEqual([...original.weights.tensors.keys()].sort());
    for (const [name, t] of original.weights.tensors) {
      const other = hf.weights.tensors.get(name)!;
      expect(other.shape, name).toEqual(t.shape);
      expect(compareToReference(name, await other.data(), await t.data(), { match: '*', exact: true }).ok, name).toBe(
        true,
      );
    }
    original.dispose();
    hf.dispose();
  });
});

for (const weightFile of PIPELINE_FILES) {
  describe(`SAM with ${weightFile}`, () => {
    let model: SamModel;
    let predictor: SamPredictor;

    beforeAll(async () => {
      model = await SamModel.load(safetensorsSource(await openFixtureSafetensors(`${DIR}/${weightFile}`)), config);
      predictor = new SamPredictor(model);
      const resized = fixture('image_resized_uint8_hwc');
      const original = fixture('image_original_uint8_hwc');
      predictor.setResizedImage(
        resized.data as Uint8Array,
        resized.shape[1],
        resized.shape[0],
        original.shape[0],
        original.shape[1],
      );
    });

    afterAll(() => {
      predictor.resetImage();
      model.dispose();
    });

    it('reproduces the encoder intermediates and the image embeddings', async () => {
      const blockNames = [...cases.keys()].filter((k) => /^enc_block\d+_out_nhwc$/.test(k));
      expect(blockNames.length).toBe(config.imageEncoder.depth);
      const resized = fixture('image_resized_uint8_hwc');
      const input = normalizeAndPad(resized.data as Uint8Array, resized.shape[1], resized.shape[0], config);
      const out = model.imageEncoder.forwardWithIntermediates(input);
      check(weightFile, 'enc_patch_embed_nhwc', await out.patchEmbed.data());
      check(weightFile, 'enc_plus_pos_embed_nhwc', await out.plusPosEmbed.data());
      for (let i = 0; i < out.blocks.length; i++)
        check(weightFile, `enc_block${i}_out_nhwc`, await out.blocks[i].data());
      check(weightFile, 'image_embeddings_nchw', await nchwOf(out.embeddings));
      check(weightFile, 'image_embeddings_nchw', await nchwOf(predictor.imageEmbedding));
      tf.dispose([input, out.patchEmbed, out.plusPosEmbed, ...out.blocks, out.embeddings]);
    });

    it('reproduces the dense PE and the no-mask dense embedding', async () => {
      check(weightFile, 'dense_pe_nchw', await nchwOf(model.densePe));
      const { sparse, dense } = model.promptEncoder.forward({});
      expect(sparse.shape[1]).toBe(0);
      check(weightFile, 'no_mask_dense_embedding_nchw', await nchwOf(dense));
      tf.dispose([sparse, dense]);
    });

    it('reproduces prompt embeddings, logits, IoU and masks for every fixture prompt', async () => {
      const names = promptNames();
      expect(names.length).toBeGreaterThan(0);
      const start = tf.memory().numTensors;
      for (const p of names) {
        const coordsName = `${p}__point_coords_orig`;
        const hasPoints = cases.has(coordsName);
        const hasBox = cases.has(`${p}__box_orig`);
        const pointCoords = hasPoints
          ? Array.from(
              { length: fixture(coordsName).shape[0] },
              (_, i) => [fixture(coordsName).data[2 * i], fixture(coordsName).data[2 * i + 1]] as [number, number],
            )
          : undefined;
        const pointLabels = hasPoints ? Array.from(fixture(`${p}__point_labels`).data) : undefined;
        const box = hasBox
          ? (Array.from(fixture(`${p}__box_orig`).data) as [number, number, number, number])
          : undefined;
        const maskInput = cases.has(`${p}__mask_input`)
          ? (fixture(`${p}__mask_input`).data as Float32Array)
          : undefined;

        if (pointCoords) check(weightFile, `${p}__point_coords_model`, predictor.toModelCoords(pointCoords.flat()));
        if (box) check(weightFile, `${p}__box_model`, predictor.toModelCoords(box));

        const [h, w] = config.promptEncoder.imageEmbeddingSize;
        const prompts = tf.tidy(() => ({
          pointCoords: pointCoords
            ? tf.tensor3d(predictor.toModelCoords(pointCoords.flat()), [1, pointCoords.length, 2])
            : undefined,
          pointLabels: pointLabels ? tf.tensor2d(pointLabels, [1, pointLabels.length], 'int32') : undefined,
          boxes: box ? tf.tensor2d(predictor.toModelCoords(box), [1, 4]) : undefined,
          masks: maskInput ? tf.tensor3d(maskInput, [1, 4 * h, 4 * w]) : undefined,
        }));
        const { sparse, dense } = model.promptEncoder.forward(prompts);
        check(weightFile, `${p}__sparse_embeddings`, await sparse.data());
        check(weightFile, `${p}__dense_embeddings_nchw`, await nchwOf(dense));
        tf.dispose([sparse, dense, ...Object.values(prompts).filter((t) => t !== undefined)]);

        for (const mm of [1, 0]) {
          const prefix = `${p}__mm${mm}__`;
          if (!cases.has(`${prefix}low_res_logits`)) continue;
          const out = predictor.predict({ pointCoords, pointLabels, box, maskInput, multimaskOutput: mm === 1 });
          check(weightFile, `${prefix}low_res_logits`, await out.lowResLogits.data());
          check(weightFile, `${prefix}iou_predictions`, await out.iouPredictions.data());
          if (cases.has(`${prefix}masks_logits_orig`)) {
            const logits = (await out.masks.data()) as Float32Array;
            check(weightFile, `${prefix}masks_logits_orig`, logits);
            const binaryName = `${prefix}masks_binary_orig`;
            const rule = exactWhere(binaryName, toleranceFor(binaryName, patterns));
            const reference = fixture(rule.reference).data;
            const binary = Uint8Array.from(logits, (v) => (v > config.maskThreshold ? 1 : 0));
            check(weightFile, binaryName, binary, (i) => Math.abs(reference[i]) >= rule.threshold);
            // report (not require) the flips in the near-threshold band
            const flips = compareToReference(binaryName, binary, fixture(binaryName).data, { match: '*', exact: true });
            maxDiffs.set(`${weightFile} ${binaryName} (pixels flipped anywhere)`, flips.failures);
          }
          tf.dispose([out.masks, out.iouPredictions, out.lowResLogits]);
        }
      }
      expect(tf.memory().numTensors).toBe(start);
    });

    it('answers prompts alike from an embedding handed over with setImageEmbedding, and refuses a wrong shape', async () => {
      const start = tf.memory().numTensors;
      const other = new SamPredictor(model);
      other.setImageEmbedding(predictor.imageEmbedding.clone(), predictor.originalSize, predictor.inputSize);
      const [height, width] = predictor.originalSize;
      const prompt = {
        pointCoords: [[width / 2, height / 3]] as [number, number][],
        pointLabels: [1],
        multimaskOutput: true,
      };
      const [a, b] = [predictor.predict(prompt), other.predict(prompt)];
      expect(await b.lowResLogits.data()).toEqual(await a.lowResLogits.data());
      expect(await b.masks.data()).toEqual(await a.masks.data());
      const wrong = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      expect(() => other.setImageEmbedding(wrong, [8, 8], [8, 8])).toThrow(/1×2×2×3.*needs/);
      tf.dispose([wrong, a.masks, a.iouPredictions, a.lowResLogits, b.masks, b.iouPredictions, b.lowResLogits]);
      other.resetImage();
      expect(tf.memory().numTensors).toBe(start);
    });
  });
}
