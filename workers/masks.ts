/**
 * The masks service (DEARLi stage 1): class-agnostic masks for every image of chosen datasets, by
 * SAM automatic mask generation when SAM weights are loaded, else by the Felzenszwalb fallback.
 * Results are stored per image in the samMasks store with the generator and settings that made
 * them, so a reload or a resumed run skips finished images and a change of generator redoes them.
 */
import { DearliError, toUserMessage, type UserMessage } from '../src/core/errors';
import { DEFAULT_FELZENSZWALB_OPTIONS } from '../src/core/felzenszwalb';
import { Rng } from '../src/core/rng';
import { decodeMask, fromCocoRle } from '../src/core/rle';
import { parseSa1bJson } from '../src/data/sa1b';
import * as store from '../src/data/store';
import { samConfigFromFixture, samConfigFromHfConfig, samPreset, type SamConfig, type SamPresetName } from '../src/models/sam/config';
import { autoPointsPerBatch, decoderBytesPerPrompt, maxPointsPerBatch, type AutoMaskOptions, type GpuBufferLimits } from '../src/models/sam/autoMask';
import { SamModel } from '../src/models/sam/sam';
import { generateMasksForImage, type MaskGenerator } from '../src/models/sam/samStage';
import type { SamTensorSource } from '../src/models/sam/weights';
import { openTensorSource } from '../src/models/weights/tensorSource';
import type { MaskInfo, MasksApi, MaskStageSettings, MaskStageSummary, MaskView, SamLoadRequest } from './masksApi';
import {
  beginModelLoad,
  cachedModelFiles,
  configFileSource,
  decodeImageRgba,
  fetchModelFile,
  fileRecord,
  modelCard,
  parameterCount,
  readJson,
  saveModel,
  type ModelFile,
  type ProgressSink,
  type SavedModelMeta,
} from './modelFiles';
import type { ModelCard } from './modelsApi';
import { db, userFacing, backendReady } from './shared';

const SAM_PRESETS: readonly SamPresetName[] = ['sam-vit-b', 'sam-vit-l', 'sam-vit-h', 'slimsam-77'];

const FALLBACK_DESCRIPTION = 'fallback: Felzenszwalb-Huttenlocher graph segmentation on colour (no SAM weights loaded)';

let sam: { model: SamModel; card: ModelCard } | null = null;
let stageAbort: AbortController | null = null;

function setSam(next: typeof sam): void {
  sam?.model.dispose();
  sam = next;
}

/** Drops the loaded SAM when it is the model with this hash (it was freed). */
export function unloadSamIf(sha256: string): void {
  if (sam?.card.sha256 === sha256) setSam(null);
}

// --- Loading ------------------------------------------------------------------------------------

/** transformers config.json or the fixtures' segment_anything_constructor_args. */
function samConfigFromJson(json: unknown, file: string, name: string): SamConfig {
  if (json !== null && typeof json === 'object' && 'segment_anything_constructor_args' in json) return { ...samConfigFromFixture(json, file), name };
  return samConfigFromHfConfig(json, file, name);
}

function presetConfig(name: string): SamConfig {
  if (!SAM_PRESETS.includes(name as SamPresetName)) {
    throw new DearliError('sam-config', `"${name}" is not a SAM preset (known: ${SAM_PRESETS.join(', ')})`, 'Choose one of the listed presets.');
  }
  return samPreset(name as SamPresetName);
}

async function buildSam(config: SamConfig, weights: ModelFile, onProgress: ProgressSink, signal: AbortSignal): Promise<{ model: SamModel; card: ModelCard }> {
  onProgress({ stage: 'loading', fileName: weights.name, receivedBytes: weights.blob.size, totalBytes: weights.blob.size, megabytesPerSecond: 0, etaSeconds: 0 });
  const source = await openTensorSource(weights.blob, weights.name);
  const samSource: SamTensorSource = {
    fileName: source.fileName,
    names: source.names,
    entry: (name) => ({ shape: source.shape(name) }),
    read: (name) => source.read(name),
  };
  await backendReady();
  signal.throwIfAborted();
  const model = await SamModel.load(samSource, config);
  if (signal.aborted) {
    model.dispose();
    signal.throwIfAborted();
  }
  const e = config.imageEncoder;
  const details = [`${model.weights.naming} key naming`, `ViT ${e.depth} blocks × ${e.embedDim}`, `input ${e.imgSize} px`];
  return { model, card: modelCard('sam', config.name, weights, parameterCount(source), details) };
}

async function loadSam(request: SamLoadRequest, onProgress: ProgressSink): Promise<ModelCard> {
  const signal = beginModelLoad();
  const weights = await fetchModelFile(request.weights, 'weights', signal, onProgress);
  const configSource = await configFileSource(request.config, request.weights, 'config.json', signal);
  const configFile = configSource ? await fetchModelFile(configSource, 'config', signal, onProgress) : null;
  const name = request.weights.kind === 'hub' ? request.weights.repo.split('/').pop()! : weights.name.replace(/\.[^.]+$/, '');
  const config = configFile ? samConfigFromJson(await readJson(configFile), configFile.name, name) : presetConfig((request.config as { preset: string }).preset);
  const loaded = await buildSam(config, weights, onProgress, signal);
  await saveModel({ kind: 'sam', card: loaded.card, files: [weights, ...(configFile ? [configFile] : [])].map(fileRecord), preset: configFile ? undefined : config.name });
  setSam(loaded);
  return loaded.card;
}

/** Loads a saved SAM from the weight cache alone. */
export async function loadSamFromSaved(meta: SavedModelMeta, onProgress: ProgressSink): Promise<ModelCard> {
  const signal = beginModelLoad();
  const files = await cachedModelFiles(meta);
  const weights = files.find((f) => f.role === 'weights')!;
  const configFile = files.find((f) => f.role === 'config');
  const config = configFile ? samConfigFromJson(await readJson(configFile), configFile.name, meta.card.name) : presetConfig(meta.preset ?? meta.card.name);
  const loaded = await buildSam(config, weights, onProgress, signal);
  setSam(loaded);
  return loaded.card;
}

// --- The stage ------------------------------------------------------------------------------------

/** The settings that decide the masks, in a fixed key order (stored params are compared as JSON). */
function maskDecidingOptions(s: MaskStageSettings): Partial<AutoMaskOptions> {
  return {
    pointsPerSide: s.pointsPerSide,
    predIouThresh: s.predIouThresh,
    stabilityScoreThresh: s.stabilityScoreThresh,
    boxNmsThresh: s.boxNmsThresh,
    cropNLayers: s.cropNLayers,
    cropOverlapRatio: s.cropOverlapRatio,
    cropNmsThresh: s.cropNmsThresh,
    cropNPointsDownscaleFactor: s.cropNPointsDownscaleFactor,
    minMaskRegionArea: s.minMaskRegionArea,
  };
}

/**
 * What made a mask record: a change of any of these means the image is masked again. Points per
 * batch is left out: it changes how prompts are grouped on the GPU, not the masks.
 */
function generatorParams(settings: MaskStageSettings): Record<string, unknown> {
  if (!sam) return { generator: 'felzenszwalb', ...DEFAULT_FELZENSZWALB_OPTIONS };
  return { generator: 'sam', model: sam.card.sha256, ...maskDecidingOptions(settings) };
}

function sameParams(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const MAX_CROP_LAYERS = 4;
const MAX_POINTS_PER_BATCH = 1024;

function checkSettings(s: MaskStageSettings): void {
  const bad = (field: string, range: string) => new DearliError('mask-settings', `${field} must be ${range}`, 'Correct the value and run again.');
  const whole = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  if (!whole(s.pointsPerSide, 1, 64)) throw bad('points per side', 'a whole number from 1 to 64');
  for (const [field, v] of [['the predicted IoU threshold', s.predIouThresh], ['the stability score threshold', s.stabilityScoreThresh], ['the box NMS threshold', s.boxNmsThresh], ['the crop NMS threshold', s.cropNmsThresh]] as const) {
    if (!(v >= 0 && v <= 1)) throw bad(field, 'between 0 and 1');
  }
  if (s.pointsPerBatch !== 'auto' && !whole(s.pointsPerBatch, 1, MAX_POINTS_PER_BATCH)) throw bad('points per batch', `"auto" or a whole number from 1 to ${MAX_POINTS_PER_BATCH}`);
  if (!whole(s.cropNLayers, 0, MAX_CROP_LAYERS)) throw bad('crop layers', `a whole number from 0 to ${MAX_CROP_LAYERS}`);
  if (!(s.cropOverlapRatio >= 0 && s.cropOverlapRatio < 1)) throw bad('the crop overlap', 'at least 0 and below 1');
  if (!whole(s.cropNPointsDownscaleFactor, 1, 64)) throw bad('the points downscale factor', 'a whole number from 1 to 64');
  if (Math.trunc(s.pointsPerSide / s.cropNPointsDownscaleFactor ** s.cropNLayers) < 1) {
    throw bad('points per side', `at least ${s.cropNPointsDownscaleFactor ** s.cropNLayers} with ${s.cropNLayers} crop layers downscaled by ${s.cropNPointsDownscaleFactor}, so that the last layer keeps a point`);
  }
  if (!(Number.isInteger(s.minMaskRegionArea) && s.minMaskRegionArea >= 0)) throw bad('the minimum region area', 'a whole number of pixels, 0 or more');
}

/** The points per batch to run SAM with: 'auto' from the GPU's buffer limits, a number checked against them. */
function resolvePointsPerBatch(setting: MaskStageSettings['pointsPerBatch'], model: SamModel, limits: GpuBufferLimits | undefined): number {
  if (setting === 'auto') return autoPointsPerBatch(limits, model.config);
  const fit = limits ? maxPointsPerBatch(limits, model.config) : Infinity;
  if (setting > fit) {
    const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
    throw new DearliError(
      'mask-settings',
      `${setting} points per batch need ${mib(setting * decoderBytesPerPrompt(model.config))} buffers, but this GPU binds at most ${mib(Math.min(limits!.maxStorageBufferBindingSize, limits!.maxBufferSize))}`,
      `Use at most ${fit} points per batch, or "auto".`,
    );
  }
  return setting;
}

async function runMaskStage(datasetIds: string[], settings: MaskStageSettings, onProgress: Parameters<MasksApi['runMaskStage']>[2]): Promise<MaskStageSummary> {
  checkSettings(settings);
  const d = await db();
  const datasets = (await Promise.all(datasetIds.map((id) => store.getDataset(d, id)))).filter((x): x is store.DatasetRecord => !!x);
  if (datasets.length === 0) throw new DearliError('no-datasets', 'no dataset is selected', 'Tick the datasets to mask.');
  const pointsPerBatch = sam ? resolvePointsPerBatch(settings.pointsPerBatch, sam.model, (await backendReady()).limits) : null;
  stageAbort?.abort();
  const abort = new AbortController();
  stageAbort = abort;
  const generator: MaskGenerator = sam ? { kind: 'sam', model: sam.model } : { kind: 'fallback' };
  const params = generatorParams(settings);
  const autoMask: Partial<AutoMaskOptions> = { ...maskDecidingOptions(settings), ...(pointsPerBatch !== null && { pointsPerBatch }) };
  const total = datasets.reduce((n, ds) => n + ds.imageCount, 0);
  const start = performance.now();
  let computed = 0;
  let skipped = 0;
  const report = (current: string) => {
    const seconds = (performance.now() - start) / 1000;
    const imagesPerSecond = seconds > 0 ? computed / seconds : 0;
    const done = computed + skipped;
    onProgress({ done, total, imagesPerSecond, etaSeconds: imagesPerSecond > 0 ? (total - done) / imagesPerSecond : 0, current, generator: generator.kind, pointsPerBatch });
  };
  report('');
  for (const dataset of datasets) {
    for (let offset = 0; offset < dataset.imageCount; offset += 16) {
      for (const image of await store.listImages(d, dataset.id, offset, 16)) {
        if (abort.signal.aborted) return { computed, skipped, paused: true, generator: generator.kind };
        const existing = await store.getSamMasks(d, image.id);
        if (existing && (existing.source === 'imported' || sameParams(existing.params, params))) {
          skipped++;
          report(image.fileName);
          continue;
        }
        const { rgba, width, height } = await decodeImageRgba(image.blob, image.fileName);
        let records;
        try {
          records = await generateMasksForImage(generator, rgba, width, height, { autoMask }, abort.signal);
        } catch (e) {
          if (abort.signal.aborted) return { computed, skipped, paused: true, generator: generator.kind };
          throw e;
        }
        await store.putSamMasks(d, {
          imageId: image.id,
          datasetId: dataset.id,
          source: generator.kind,
          masks: records.map((m) => ({ segmentation: m.segmentation, area: m.area, bbox: m.bbox, predicted_iou: m.predicted_iou, stability_score: m.stability_score })),
          params,
          createdAt: Date.now(),
        });
        computed++;
        report(image.fileName);
      }
    }
  }
  return { computed, skipped, paused: false, generator: generator.kind };
}

async function maskStats(datasetIds: string[]) {
  const d = await db();
  const out = [];
  for (const id of datasetIds) {
    const dataset = await store.getDataset(d, id);
    if (!dataset) continue;
    const bySource = { sam: 0, fallback: 0, imported: 0 };
    const index = d.transaction('samMasks').store.index('byDataset');
    for (let c = await index.openCursor(IDBKeyRange.only(id)); c; c = await c.continue()) bySource[c.value.source]++;
    out.push({ datasetId: id, images: dataset.imageCount, processed: bySource.sam + bySource.fallback + bySource.imported, bySource });
  }
  return out;
}

// --- SA-1B import ------------------------------------------------------------------------------------

const stem = (name: string) => (name.split('/').pop() ?? name).replace(/\.[^.]*$/, '');

async function importSa1bMasks(datasetId: string, files: Parameters<MasksApi['importSa1bMasks']>[1]) {
  const d = await db();
  const dataset = await store.getDataset(d, datasetId);
  if (!dataset) throw new DearliError('not-found', `dataset ${datasetId} is not stored`, 'Pick another dataset.');
  const byStem = new Map<string, store.ImageRecord>();
  for (let offset = 0; offset < dataset.imageCount; offset += 64) {
    for (const image of await store.listImages(d, datasetId, offset, 64)) byStem.set(stem(image.fileName), image);
  }
  const problems: UserMessage[] = [];
  let imported = 0;
  for (const { path, file } of files) {
    if (!path.toLowerCase().endsWith('.json')) {
      problems.push({ code: 'skipped', file: path, problem: 'not a JSON file', fix: 'Only SA-1B style .json mask files are read.' });
      continue;
    }
    try {
      const parsed = parseSa1bJson(await file.text(), path);
      // SA-1B names the JSON after the image (sa_1.json ↔ sa_1.jpg); image.file_name says it too.
      const image = byStem.get(stem(parsed.image.file_name)) ?? byStem.get(stem(path));
      if (!image) {
        throw new DearliError('sa1b-unmatched', `no image "${parsed.image.file_name}" in "${dataset.name}"`, 'Import the masks into the dataset that holds this image.', path);
      }
      if (image.width !== parsed.image.width || image.height !== parsed.image.height) {
        throw new DearliError('sa1b-size', `the masks are ${parsed.image.width}×${parsed.image.height} but ${image.fileName} is ${image.width}×${image.height}`, 'Regenerate the masks for this image at its stored size.', path);
      }
      await store.putSamMasks(d, {
        imageId: image.id,
        datasetId,
        source: 'imported',
        masks: parsed.annotations.map((a) => ({ segmentation: a.segmentation, area: a.area, bbox: a.bbox, predicted_iou: a.predicted_iou, stability_score: a.stability_score })),
        params: { file: path },
        createdAt: Date.now(),
      });
      imported++;
    } catch (e) {
      problems.push({ ...toUserMessage(e), file: path });
    }
  }
  return { imported, problems };
}

// --- Viewer --------------------------------------------------------------------------------------------

async function getMaskView(imageId: string): Promise<MaskView | null> {
  const d = await db();
  const [record, image] = await Promise.all([store.getSamMasks(d, imageId), store.getImage(d, imageId)]);
  if (!record || !image) return null;
  const { width, height } = image;
  const overlay = new Uint8ClampedArray(width * height * 4);
  // Colours from the image id: the same image always looks the same.
  const rng = new Rng([...imageId].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0, 2166136261));
  const sorted = [...record.masks].sort((a, b) => b.area - a.area);
  const masks: MaskInfo[] = sorted.map((m) => {
    const color: [number, number, number] = [64 + Math.floor(rng.next() * 192), 64 + Math.floor(rng.next() * 192), 64 + Math.floor(rng.next() * 192)];
    const bits = decodeMask(fromCocoRle(m.segmentation));
    for (let p = 0; p < bits.length; p++) {
      if (!bits[p]) continue;
      overlay.set(color, 4 * p);
      overlay[4 * p + 3] = 170;
    }
    return { area: m.area, predictedIou: m.predicted_iou ?? null, stabilityScore: m.stability_score ?? null, color };
  });
  return { imageId, fileName: image.fileName, width, height, image: image.blob, source: record.source, count: masks.length, overlay, masks };
}

export const masksService: MasksApi = {
  loadSam: userFacing(loadSam),
  unloadSam: async () => setSam(null),
  maskGenerator: async () => (sam ? { kind: 'sam', card: sam.card } : { kind: 'fallback', description: FALLBACK_DESCRIPTION }),
  runMaskStage: userFacing(runMaskStage),
  pauseMaskStage: async () => {
    stageAbort?.abort();
  },
  maskStats: userFacing(maskStats),
  importSa1bMasks: userFacing(importSa1bMasks),
  getMaskView: userFacing(getMaskView),
};
