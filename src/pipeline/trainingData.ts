/**
 * Training and validation samples for the decoder stages, read from the store on demand: decoded
 * image tensors and decoded labels are kept in small LRU caches so memory stays bounded whatever
 * the dataset size, and each batch is drawn from the run's RNG so a resumed run replays exactly.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../core/errors';
import type { Category, SegmentInfo } from '../core/panoptic';
import type { Rng } from '../core/rng';
import { decodeMask, normalizeRle } from '../core/rle';
import { decodeMaskPng } from '../data/decode';
import * as store from '../data/store';
import type { TrunkFeatures } from '../models/decoder/m2fLang';
import { tidyAll } from '../models/ops/scope';
import { augmentImage, defaultAugmentOptions, drawAugmentation, type AugmentDraw } from '../train/augment';
import { augmentedMaskTargets, augmentedPanopticTargets, cropSourceIndex } from '../train/augmentLabels';
import type { TrainingBatch } from './stages/decoderTraining';
import { uploadTargets, type HostTargets } from '../train/targets';
import { normalizeForClip, type Backbone } from './backbone';
import { datasetImages, requireDatasets, type ImageDecoder } from './images';

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

export interface BatchPlan {
  kind: 'supervised' | 'dewa';
  refs: SampleRef[];
  batchSize: number;
  cropSize: number;
  maxTargets: number;
  classOf: (categoryId: number) => number;
}

/**
 * Decoded samples of one session, in bounded LRU caches: images as float RGB tensors [H, W, 3]
 * (0–255), panoptic labels, and class-agnostic masks.
 */
export class TrainingSamples {
  private readonly imageTensors = new Lru<tf.Tensor3D>(32, (t) => t.dispose());
  private readonly labels = new Lru<DecodedLabel>(128);
  private readonly samMasks = new Lru<{ count: number; masks: Uint8Array }>(128);

  constructor(
    readonly db: store.DearliDB,
    private readonly decode: ImageDecoder,
  ) {}

  dispose(): void {
    this.imageTensors.clear();
    this.labels.clear();
    this.samMasks.clear();
  }

  async imageTensor(imageId: string): Promise<tf.Tensor3D> {
    return this.imageTensors.get(imageId, async () => {
      const rec = await this.requireImage(imageId);
      const { rgba, width, height } = await this.decode(rec.blob, rec.fileName);
      const rgb = new Float32Array(width * height * 3);
      for (let p = 0; p < width * height; p++) for (let ch = 0; ch < 3; ch++) rgb[3 * p + ch] = rgba[4 * p + ch];
      return tf.tensor3d(rgb, [height, width, 3]);
    });
  }

  async panopticLabel(imageId: string): Promise<DecodedLabel> {
    return this.labels.get(imageId, async () => {
      const rec = await this.requireImage(imageId);
      if (!rec.mask || !rec.segments)
        throw new DearliError(
          'train-unlabeled',
          `${rec.fileName} has no panoptic mask`,
          'Train on a labeled dataset.',
          rec.fileName,
        );
      const { ids } = decodeMaskPng(new Uint8Array(await rec.mask.arrayBuffer()), rec.fileName);
      return { ids, segments: rec.segments };
    });
  }

  private async imageMasks(ref: SampleRef): Promise<{ count: number; masks: Uint8Array }> {
    return this.samMasks.get(ref.imageId, async () => {
      const rec = await store.getSamMasks(this.db, ref.imageId);
      if (!rec)
        throw new DearliError(
          'dewa-no-masks',
          `${ref.fileName} has no class-agnostic masks`,
          'Run the SAM stage (Masks tab) on this dataset first.',
          ref.fileName,
        );
      const n = ref.width * ref.height;
      const masks = new Uint8Array(rec.masks.length * n);
      rec.masks.forEach((m, k) => masks.set(decodeMask(normalizeRle(m.segmentation, ref.fileName)), k * n));
      return { count: rec.masks.length, masks };
    });
  }

  private async requireImage(imageId: string): Promise<store.ImageRecord> {
    const rec = await store.getImage(this.db, imageId);
    if (!rec)
      throw new DearliError(
        'train-missing-image',
        `image ${imageId} is no longer stored`,
        'Its dataset was deleted or changed: start a new run.',
      );
    return rec;
  }

  /** Every image of the given datasets; with `needMasks`, only images that have panoptic masks. */
  async sampleRefs(datasetIds: string[], needMasks: boolean): Promise<SampleRef[]> {
    const refs: SampleRef[] = [];
    for await (const r of datasetImages(this.db, await requireDatasets(this.db, datasetIds))) {
      if (!needMasks || r.mask) refs.push({ imageId: r.id, fileName: r.fileName, width: r.width, height: r.height });
    }
    return refs;
  }

  /** One training batch: augmented crops through the frozen trunk, and their targets. */
  async trainingBatch(backbone: Backbone, plan: BatchPlan, rng: Rng): Promise<TrainingBatch> {
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
          const label = await this.panopticLabel(ref.imageId);
          hosts.push(augmentedPanopticTargets(label.ids, label.segments, source, crop, plan.classOf));
        } else {
          const m = await this.imageMasks(ref);
          hosts.push(augmentedMaskTargets(m.masks, m.count, source, crop));
        }
        crops.push(augmentImage(await this.imageTensor(ref.imageId), draw, crop));
      }
      const features: TrunkFeatures = tidyAll(() =>
        backbone.trunk.forwardFeatures(normalizeForClip(tf.stack(crops) as tf.Tensor4D)),
      );
      return { features, targets: uploadTargets(hosts, plan.maxTargets) };
    } finally {
      tf.dispose(crops);
    }
  }
}

/** Contiguous classes of a labeled dataset: its categories in listed order. */
export function classIndex(categories: readonly Category[]): (categoryId: number) => number {
  const index = new Map(categories.map((c, i) => [c.id, i]));
  return (id) => index.get(id) ?? -1;
}
