/**
 * OpenCLIP ConvNeXt CLIP against upstream PyTorch outputs (fixtures/openclip-convnext-tiny): runs on
 * tfjs cpu in Node and on WebGPU in Chromium. Sizes, names and tolerances come from the fixture files.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DearliError } from '../../core/errors';
import type { LoadedTensor, SafetensorsFile } from '../weights/safetensors';
import { takeGpuError } from '../backend';
import { setupTestBackend } from '../../../test/backend';
import {
  expectMatchesReference,
  loadFixtureTensors,
  openFixtureSafetensors,
  readFixtureJson,
  type TolerancePattern,
} from '../../../test/fixtures';
import { CLIP_IMAGE_MEAN, CLIP_IMAGE_STD, ClipModel, l2Normalize, normalizeClipImage } from './clip';
import { clipConfigFromFixture, type ClipConfig, type ClipFixtureConfig } from './config';
import { eotIndices } from './textTransformer';
import { safetensorsSource, type TensorSource } from '../weights/tensorSource';
import { clipWeightSpecs, loadClipWeights } from './weights';
import { buildTextClassifier, disposeTextClassifier } from '../decoder/classHead';
import { encodeSynonyms, maskPool, zeroShotLogits, zeroShotMaskProbabilities } from './zeroShot';

const DIR = 'openclip-convnext-tiny';

interface FixtureJson extends ClipFixtureConfig {
  tolerances: { patterns: TolerancePattern[] };
  texts: string[];
  state_dict_keys: Record<string, number[]>;
}

let backendName = '';
let fixture: FixtureJson;
let config: ClipConfig;
let cases: Map<string, LoadedTensor>;
let weightsFile: SafetensorsFile;
let model: ClipModel;
const maxDiffs = new Map<string, number>();

function ref(name: string): LoadedTensor {
  const t = cases.get(name);
  if (!t) throw new Error(`fixture tensor "${name}" is missing from cases.safetensors`);
  return t;
}

function input(name: string): tf.Tensor4D {
  const t = ref(name);
  return tf.tidy(() =>
    tf.transpose(tf.tensor4d(t.data as Float32Array, t.shape as [number, number, number, number]), [0, 2, 3, 1]),
  );
}

function textIds(): Int32Array[] {
  const t = ref('text_ids');
  const [rows, n] = t.shape;
  return Array.from({ length: rows }, (_, i) => (t.data as Int32Array).slice(i * n, (i + 1) * n));
}

/** Compares a tfjs result (NHWC where the fixture is NCHW) with its reference; disposes it. */
async function check(name: string, actual: tf.Tensor, fixtureIsNchw = name.endsWith('_nchw')): Promise<void> {
  const expected = ref(name);
  const laidOut = fixtureIsNchw ? tf.transpose(actual, [0, 3, 1, 2]) : actual;
  try {
    expect(laidOut.shape, name).toEqual(expected.shape);
    const c = expectMatchesReference(name, await laidOut.data(), expected.data, fixture.tolerances.patterns);
    maxDiffs.set(`${name}`, Math.max(maxDiffs.get(name) ?? 0, c.maxAbsDiff));
  } finally {
    tf.dispose([actual, laidOut]);
  }
}

/** Every image-tower output the fixtures name, computed for one input batch (names without prefix). */
function imageOutputs(x: tf.Tensor4D): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  let h = model.trunk.stem(x);
  out.set('stem_out_nchw', h);
  config.trunk.dims.forEach((_, s) => {
    h = model.trunk.stage(s, h);
    out.set(`stage${s}_out_nchw`, h);
  });
  const head = model.imageHead;
  out.set('dense_features_nchw', model.trunk.forwardDense(x));
  const pooled = head.pool(h);
  out.set('pooled_prenorm_avg', pooled);
  out.set('pooled_normed', head.norm(pooled));
  const embeds = model.encodeImage(x);
  out.set('image_embeds', embeds);
  out.set('image_embeds_normalized', l2Normalize(embeds));
  const denseNorm = head.norm(h);
  out.set('dense_head_norm_nchw', denseNorm);
  out.set('dense_proj_nchw', head.projectNormed(denseNorm));
  return out;
}

async function checkImageOutputs(prefix: string, inputName: string): Promise<string[]> {
  const x = input(inputName);
  const outputs = imageOutputs(x);
  x.dispose();
  const checked: string[] = [];
  for (const [name, t] of outputs) {
    if (cases.has(prefix + name)) {
      await check(prefix + name, t.clone());
      checked.push(prefix + name);
    }
  }
  tf.dispose([...outputs.values()]);
  return checked;
}

/** A source over the fixture weights with names, shapes or tensors changed. */
function editedSource(edit: {
  rename?: (n: string) => string | null;
  extra?: Record<string, LoadedTensor>;
  reshape?: Record<string, number[]>;
}): TensorSource {
  const base = safetensorsSource(weightsFile);
  const originalOf = new Map<string, string>();
  for (const n of base.names) {
    const renamed = edit.rename ? edit.rename(n) : n;
    if (renamed !== null) originalOf.set(renamed, n);
  }
  const extra = edit.extra ?? {};
  return {
    fileName: 'edited fixture weights',
    names: [...originalOf.keys(), ...Object.keys(extra)],
    has: (name) => originalOf.has(name) || name in extra,
    shape: (name) => extra[name]?.shape ?? edit.reshape?.[name] ?? base.shape(originalOf.get(name) ?? name),
    read: async (name) => {
      const e = extra[name];
      if (e) return e;
      const t = await base.read(originalOf.get(name) ?? name);
      return { ...t, shape: edit.reshape?.[name] ?? t.shape };
    },
  };
}

beforeAll(async () => {
  backendName = (await setupTestBackend()).name;
  fixture = await readFixtureJson<FixtureJson>(`${DIR}/config.json`);
  config = clipConfigFromFixture(fixture);
  cases = await loadFixtureTensors(`${DIR}/cases.safetensors`);
  weightsFile = await openFixtureSafetensors(`${DIR}/weights.safetensors`);
  model = await ClipModel.load(safetensorsSource(weightsFile), config);
});

// WebGPU validation errors otherwise only show up as wrong numbers.
afterEach(() => {
  expect(takeGpuError()).toBeNull();
});

afterAll(() => {
  model?.dispose();
  const lines = [...maxDiffs].map(([n, d]) => `  ${n.padEnd(34)} ${d.toExponential(2)}`);
  console.log(`CLIP parity max |diff| on ${backendName}:\n${lines.join('\n')}`);
});

describe('OpenCLIP ConvNeXt parity', () => {
  it('maps exactly the fixture state_dict keys and shapes', () => {
    const specs = clipWeightSpecs(config);
    expect(Object.fromEntries(specs.map((s) => [s.name, s.shape]))).toEqual(fixture.state_dict_keys);
    expect(config.text.contextLength).toBe(ref('text_ids').shape[1]);
  });

  it('image tower: stem, stages, dense map, head, embeddings', async () => {
    const checked = await checkImageOutputs('', 'image_input');
    expect(checked).toContain('image_embeds');
    expect(checked.filter((n) => /^stage\d+_out_nchw$/.test(n))).toHaveLength(config.trunk.dims.length);
  });

  it('image tower at the extra size', async () => {
    const checked = await checkImageOutputs('extra_', 'extra_image_input');
    expect(checked).toEqual(
      expect.arrayContaining(['extra_dense_features_nchw', 'extra_pooled_prenorm_avg', 'extra_image_embeds']),
    );
  });

  it('normalises [0, 1] RGB with the fixture mean/std', async () => {
    const mean = ref('image_mean');
    const std = ref('image_std');
    expectMatchesReference('image_mean', CLIP_IMAGE_MEAN, mean.data, fixture.tolerances.patterns);
    expectMatchesReference('image_std', CLIP_IMAGE_STD, std.data, fixture.tolerances.patterns);
    const raw = input('image_raw01');
    const normalized = normalizeClipImage(raw);
    // image_input is NCHW without the suffix.
    await check('image_input', normalized, true);
    raw.dispose();
  });

  it('head projection of arbitrary pooled vectors', async () => {
    const probe = ref('probe_pooled_vectors');
    const pooled = tf.tensor2d(probe.data as Float32Array, probe.shape as [number, number]);
    await check('probe_pooled_projected', model.imageHead.project(pooled));
    pooled.dispose();
  });

  it('mask pooling: all-ones masks give the global average, a quadrant mask its own average', async () => {
    const x = input('extra_image_input');
    const dense = model.trunk.forwardDense(x);
    const [b, h, w, c] = dense.shape;
    // Mask logits at stride 4 (as the decoder emits them): mask 0 everywhere positive, mask 1 positive on the top-left quadrant.
    const mh = x.shape[1] / 4;
    const mw = x.shape[2] / 4;
    const logits = new Float32Array(b * 2 * mh * mw);
    for (let i = 0; i < b; i++)
      for (let y = 0; y < mh; y++)
        for (let z = 0; z < mw; z++) {
          logits[((i * 2 + 0) * mh + y) * mw + z] = 3;
          logits[((i * 2 + 1) * mh + y) * mw + z] = y < mh / 2 && z < mw / 2 ? 2 : -2;
        }
    const masks = tf.tensor4d(logits, [b, 2, mh, mw]);
    const pooled = maskPool(dense, masks);
    const [allOnes, quadrant] = tf.split(pooled, 2, 1);
    await check('extra_pooled_prenorm_avg', tf.reshape(allOnes, [b, c]));
    await check(
      'extra_image_embeds',
      tf.tidy(() => tf.reshape(model.imageHead.project(allOnes), [b, -1])),
    );

    // Quadrant reference from the fixture's own dense map (NCHW).
    const ref5 = ref('extra_dense_features_nchw').data as Float32Array;
    const expected = new Float32Array(b * c);
    const qh = h / 2;
    const qw = w / 2;
    for (let i = 0; i < b; i++)
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let y = 0; y < qh; y++) for (let z = 0; z < qw; z++) s += ref5[((i * c + ch) * h + y) * w + z];
        expected[i * c + ch] = s / (qh * qw + 1e-8);
      }
    const got = await quadrant.data();
    expectMatchesReference('extra_pooled_prenorm_avg', got, expected, fixture.tolerances.patterns);
    tf.dispose([x, dense, masks, pooled, allOnes, quadrant]);
  });

  it('text tower: embeddings, blocks, ln_final, EOT pooling, projection', async () => {
    const ids = textIds();
    expect(Array.from(eotIndices(ids))).toEqual(Array.from(ref('text_eot_index').data));
    const text = model.text!;
    const embedded = text.embed(ids);
    await check('text_embed_plus_pos', embedded.clone());
    const blocksOut = text.forwardBlocks(embedded);
    await check('text_transformer_out', blocksOut.clone());
    const normed = text.finalNorm(blocksOut);
    await check('text_ln_final_out', normed.clone());
    await check('text_embeds', text.pool(normed, ids));
    tf.dispose([embedded, blocksOut, normed]);
    const embeds = model.encodeText(ids);
    await check('text_embeds', embeds.clone());
    await check('text_embeds_normalized', l2Normalize(embeds));
    embeds.dispose();
  });

  it('logit scale and logits_per_image', async () => {
    const scale = ref('logit_scale');
    expect(model.logitScale).toBe(scale.data[0]);
    await check('logit_scale_exp', tf.tensor1d([model.logitScaleExp()]));
    const x = input('image_input');
    const images = model.encodeImage(x);
    const texts = model.encodeText(textIds());
    await check('logits_per_image', model.logitsPerImage(images, texts));
    tf.dispose([x, images, texts]);
  });

  it('loads the image tower from timm naming (timm checkpoint_filter_fn) and gives the same image_embeds', async () => {
    const proj = await weightsFile.read('visual.head.proj.weight');
    const source = editedSource({
      rename: (n) =>
        n.startsWith('visual.trunk.')
          ? n.slice('visual.trunk.'.length)
          : n === 'visual.head.proj.weight'
            ? 'head.fc.weight'
            : null,
      extra: { 'head.fc.bias': { dtype: 'F32', shape: [proj.shape[0]], data: new Float32Array(proj.shape[0]) } },
    });
    const timmModel = await ClipModel.load(source, config, { naming: 'timm' });
    expect(timmModel.text).toBeNull();
    const x = input('image_input');
    await check('image_embeds', timmModel.encodeImage(x));
    x.dispose();
    timmModel.dispose();
  });

  describe('weight errors name the tensor', () => {
    const victim = () => {
      const specs = clipWeightSpecs(config);
      return specs[Math.floor(specs.length / 3)];
    };
    const expectError = async (source: TensorSource, name: string) => {
      const before = tf.memory().numTensors;
      const err = await loadClipWeights(config, source).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DearliError);
      expect((err as DearliError).message).toContain(`"${name}"`);
      // Tensors uploaded before the failure are released.
      expect(tf.memory().numTensors).toBe(before);
    };

    it('missing', async () => {
      const { name } = victim();
      await expectError(editedSource({ rename: (n) => (n === name ? null : n) }), name);
    });

    it('extra', async () => {
      const name = 'visual.trunk.unexpected.weight';
      await expectError(editedSource({ extra: { [name]: ref('logit_scale') } }), name);
    });

    it('mis-shaped', async () => {
      const { name, shape } = victim();
      await expectError(editedSource({ reshape: { [name]: [...shape, 1] } }), name);
    });
  });

  it('zero-shot classification: synonym max, template mean, softmax over classes', async () => {
    const texts = fixture.texts;
    const ids = textIds();
    const lookup = (batch: string[]) =>
      batch.map((t) => {
        const i = texts.indexOf(t);
        if (i < 0) throw new Error(`no fixture ids for "${t}"`);
        return ids[i];
      });
    // One template "{}" makes each row the text's own normalised embedding (text_embeds_normalized).
    const classes = [[texts[0]], [texts[1], texts[2]], [texts[3]]];
    const rows = encodeSynonyms(model, classes.flat(), lookup, { templates: ['{}'], textsPerBatch: 2 });
    const classifier = buildTextClassifier(
      (await rows.data()) as Float32Array,
      rows.shape[1],
      classes.flatMap((c, k) => c.map(() => k)),
      classes.length,
    );
    await check('text_embeds_normalized', rows);
    // Two identical templates average to the same rows.
    const doubled = encodeSynonyms(model, classes.flat(), lookup, { templates: ['{}', '{}'] });
    const expectedRows = ref('text_embeds_normalized');
    expectMatchesReference(
      'text_embeds_normalized',
      await doubled.data(),
      expectedRows.data,
      fixture.tolerances.patterns,
    );
    doubled.dispose();

    // Class logits = clamp(exp(scale)) · max over synonyms of logits_per_image / exp(scale).
    const x = input('image_input');
    const images = model.encodeImage(x);
    const logits = zeroShotLogits(images, classifier, model.logitScale!);
    const perText = ref('logits_per_image');
    const [bi, bt] = perText.shape;
    const s = Math.exp(model.logitScale!);
    const clamped = Math.min(s, 100);
    const expected = new Float32Array(bi * classes.length);
    for (let i = 0; i < bi; i++) {
      const row = (t: number) => (perText.data[i * bt + t] / s) * clamped;
      expected.set([row(0), Math.max(row(1), row(2)), row(3)], i * classes.length);
    }
    expectMatchesReference('logits_per_image', await logits.data(), expected, fixture.tolerances.patterns);

    // Full branch with all-ones masks = softmax of the image-level class logits.
    const dense = model.trunk.forwardDense(x);
    const masks = tf.ones([bi, 1, x.shape[1] / 4, x.shape[2] / 4]) as tf.Tensor4D;
    const probs = zeroShotMaskProbabilities(model, dense, masks, classifier);
    const softmaxed = tf.softmax(logits);
    // Derived quantities take the fixture's tolerance of the tensor they come from.
    expectMatchesReference('logits_per_image', await probs.data(), await softmaxed.data(), fixture.tolerances.patterns);
    expect(probs.shape).toEqual([bi, 1, classes.length]);
    tf.dispose([images, logits, x, dense, masks, probs, softmaxed]);
    disposeTextClassifier(classifier);
  });

  it('leaks no tensors over repeated forward passes', async () => {
    const x = input('image_input');
    const ids = textIds();
    const masks = tf.ones([x.shape[0], 3, x.shape[1] / 4, x.shape[2] / 4]) as tf.Tensor4D;
    const run = async () => {
      const img = model.encodeImage(x);
      const txt = model.encodeText(ids);
      const logits = model.logitsPerImage(img, txt);
      const features = model.trunk.forwardFeatures(x);
      const pooled = maskPool(features.res5, masks);
      await logits.data();
      tf.dispose([img, txt, logits, pooled, ...Object.values(features)]);
    };
    await run();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      await run();
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose([x, masks]);
  });
});
