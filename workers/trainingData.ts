/**
 * Training and validation samples for the decoder stages, read from the store on demand: decoded
 * image tensors and decoded labels are kept in small LRU caches so memory stays bounded whatever
 * the dataset size, and each batch is drawn from the run's RNG so a resumed run replays exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../src/core/errors';
import type { Category, SegmentInfo } from '../src/core/panoptic';
import type { Rng } from '../src/core/rng';
import { decodeMask, normalizeRle } from '../src/core/rle';
import { decodeMaskPng } from '../src/data/decode';
import * as store from '../src/data/store';
import type { TrunkFeatures } from '../src/models/decoder/m2fLang';
import { tidyAll } from '../src/models/ops/scope';
import { augmentImage, defaultAugmentOptions, drawAugmentation, type AugmentDraw } from '../src/train/augment';
import { augmentedMaskTargets, augmentedPanopticTargets, cropSourceIndex } from '../src/train/augmentLabels';
import type { TrainingBatch } from '../src/train/stages/decoderTraining';
import { uploadTargets, type HostTargets } from '../src/train/targets';
import { normalizeForClip, type Backbone } from './backbone';

export interface SampleRef {
  imageId: string;
  fileName: string;
  width: number;
  height: number;
}

export interface DecodedLabel {
  ids: Uint32Array;
  segments: SegmentInfo[];
}

class Lru<V> {
  private readonly items = new Map<string, V>();
  constructor(
    private readonly capacity: number,
    private readonly onEvict: (v: V) => void = () => {},
  ) {}

  async get(key: string, make: () => Promise<V>): Promise<V> {
    const hit = this.items.get(key);
    if (hit !== undefined) {
      this.items.delete(key);
      this.items.set(key, hit);
      return hit;
    }
    const v = await make();
    this.items.set(key, v);
    if (this.items.size > this.capacity) {
      const [oldest, value] = this.items.entries().next().value as [string, V];
      this.items.delete(oldest);
      this.onEvict(value);
    }
    return v;
  }

  clear(): void {
    for (const v of this.items.values()) this.onEvict(v);
    this.items.clear();
  }
}

/** Images as float RGB tensors [H, W, 3], 0–255, decoded by the browser in the worker. */
const imageTensors = new Lru<tf.Tensor3D>(32, (t) => t.dispose());
const labels = new Lru<DecodedLabel>(128);
const samMasks = new Lru<{ count: number; masks: Uint8Array }>(128);

export function clearSampleCaches(): void {
  imageTensors.clear();
}

export async function imageTensor(db: store.DearliDB, imageId: string): Promise<tf.Tensor3D> {
  return imageTensors.get(imageId, async () => {
    const rec = await requireImage(db, imageId);
    const bitmap = await createImageBitmap(rec.blob, { premultiplyAlpha: 'none', imageOrientation: 'none' });
    const pixels = tf.browser.fromPixels(bitmap, 3);
    bitmap.close();
    const t = tf.cast(pixels, 'float32') as tf.Tensor3D;
    pixels.dispose();
    return t;
  });
}

export async function panopticLabel(db: store.DearliDB, imageId: string): Promise<DecodedLabel> {
  return labels.get(imageId, async () => {
    const rec = await requireImage(db, imageId);
    if (!rec.mask || !rec.segments) throw new DearliError('train-unlabeled', `${rec.fileName} has no panoptic mask`, 'Train on a labeled dataset.', rec.fileName);
    const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
    return { ids, segments: rec.segments };
  });
}

async function imageMasks(db: store.DearliDB, ref: SampleRef): Promise<{ count: number; masks: Uint8Array }> {
  return samMasks.get(ref.imageId, async () => {
    const rec = await store.getSamMasks(db, ref.imageId);
    if (!rec) throw new DearliError('dewa-no-masks', `${ref.fileName} has no class-agnostic masks`, 'Run the SAM stage (Masks tab) on this dataset first.', ref.fileName);
    const n = ref.width * ref.height;
    const masks = new Uint8Array(rec.masks.length * n);
    rec.masks.forEach((m, k) => masks.set(decodeMask(normalizeRle(m.segmentation, ref.fileName)), k * n));
    return { count: rec.masks.length, masks };
  });
}

async function requireImage(db: store.DearliDB, imageId: string): Promise<store.ImageRecord> {
  const rec = await store.getImage(db, imageId);
  if (!rec) throw new DearliError('train-missing-image', `image ${imageId} is no longer stored`, 'Its dataset was deleted or changed: start a new run.');
  return rec;
}

/** Every image of the given datasets; with `needMasks`, only images that have panoptic masks. */
export async function sampleRefs(db: store.DearliDB, datasetIds: string[], needMasks: boolean): Promise<SampleRef[]> {
  const refs: SampleRef[] = [];
  for (const id of datasetIds) {
    const ds = await store.getDataset(db, id);
    if (!ds) throw new DearliError('train-missing-dataset', `dataset ${id} is no longer stored`, 'Choose another dataset.');
    for (let offset = 0; offset < ds.imageCount; offset += 256) {
      for (const r of await store.listImages(db, id, offset, 256)) {
        if (!needMasks || r.mask) refs.push({ imageId: r.id, fileName: r.fileName, width: r.width, height: r.height });
      }
    }
  }
  return refs;
}

export interface BatchPlan {
  kind: 'supervised' | 'dewa';
  refs: SampleRef[];
  batchSize: number;
  cropSize: number;
  maxTargets: number;
  classOf: (categoryId: number) => number;
}

/** One training batch: augmented crops through the frozen trunk, and their targets. */
export async function trainingBatch(db: store.DearliDB, backbone: Backbone, plan: BatchPlan, rng: Rng): Promise<TrainingBatch> {
  const crop = plan.cropSize;
  const options = defaultAugmentOptions(crop, plan.kind === 'supervised');
  const crops: tf.Tensor3D[] = [];
  const hosts: HostTargets[] = [];
  try {
    for (let b = 0; b < plan.batchSize; b++) {
      const ref = rng.pick(plan.refs);
      const draw: AugmentDraw = drawAugmentation(rng, ref.height, ref.width, options);
      const source = cropSourceIndex(draw, ref.width, ref.height, crop);
      if (plan.kind === 'supervised') {
        const label = await panopticLabel(db, ref.imageId);
        hosts.push(augmentedPanopticTargets(label.ids, label.segments, source, crop, plan.classOf));
      } else {
        const m = await imageMasks(db, ref);
        hosts.push(augmentedMaskTargets(m.masks, m.count, source, crop));
      }
      crops.push(augmentImage(await imageTensor(db, ref.imageId), draw, crop));
    }
    const features: TrunkFeatures = tidyAll(() => backbone.trunk.forwardFeatures(normalizeForClip(tf.stack(crops) as tf.Tensor4D)));
    return { features, targets: uploadTargets(hosts, plan.maxTargets) };
  } finally {
    tf.dispose(crops);
  }
}

/** Contiguous classes of a labeled dataset: its categories in listed order. */
export function classIndex(categories: readonly Category[]): (categoryId: number) => number {
  const index = new Map(categories.map((c, i) => [c.id, i]));
  return (id) => index.get(id) ?? -1;
}
