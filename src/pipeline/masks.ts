/**
 * The masks service (DEARLi stage 1): class-agnostic masks for every image of chosen datasets, by
 * SAM automatic mask generation when SAM weights are loaded, else by the Felzenszwalb fallback.
 * Results are stored per image in the samMasks store with the generator and settings that made
 * them, so a reload or a resumed run skips finished images and a change of generator redoes them.
 */
import { DearliError, toUserMessage, type UserMessage } from '../core/errors';
import { DEFAULT_FELZENSZWALB_OPTIONS, type FelzenszwalbOptions } from '../core/felzenszwalb';
import { decodeMask, fromCocoRle } from '../core/rle';
import { readJsonText } from '../data/files';
import { parseSa1bJson } from '../data/sa1b';
import * as store from '../data/store';
import {
  samConfigFromFixture,
  samConfigFromHfConfig,
  samPreset,
  type SamConfig,
  type SamPresetName,
} from '../models/sam/config';
import {
  autoPointsPerBatch,
  decoderBytesPerPrompt,
  maxPointsPerBatch,
  type AutoMaskOptions,
  type GpuBufferLimits,
} from '../models/sam/autoMask';
import { SamModel } from '../models/sam/sam';
import { generateMasksForImage, type MaskGenerator } from '../models/sam/samStage';
import type {
  DatasetMaskStats,
  MaskGeneratorInfo,
  MaskInfo,
  MasksApi,
  MaskStageProgress,
  MaskStageSettings,
  MaskStageSummary,
  MaskView,
  SamLoadRequest,
} from './masksApi';
import {
  configFileSource,
  fileRecord,
  modelCard,
  openModelWeights,
  parameterCount,
  readJson,
  type ModelFile,
  type ModelFiles,
  type ProgressSink,
  type SavedModelMeta,
} from './modelFiles';
import type { ModelCard } from './modelsApi';
import { requireDataset } from './clip';
import { datasetImages, ImageSequence, type ImageDecoder } from './images';
import type { JobSlot } from './jobs';
import { imageStage, type ImageStageState } from './stages/imageStage';
import type { StageProgress } from './runner';
import { runStoredStage } from './stageStore';
import { segmentColor } from './segmentColors';

const SAM_PRESETS: readonly SamPresetName[] = ['sam-vit-b', 'sam-vit-l', 'sam-vit-h', 'slimsam-77'];

/**
 * The fallback's segment scale for an image of this size. Felzenszwalb's k and minimum size are in
 * pixels, so fixed values that suit a small image cut a large one into its texture (one mask per
 * brick on a 256² demo wall). Both grow with the image's area, from the defaults at 128².
 */
const FALLBACK_REFERENCE_AREA = 128 * 128;

export function fallbackScale(width: number, height: number): FelzenszwalbOptions {
  const area = (width * height) / FALLBACK_REFERENCE_AREA;
  const grow = Math.max(1, area);
  return {
    ...DEFAULT_FELZENSZWALB_OPTIONS,
    scale: Math.round(DEFAULT_FELZENSZWALB_OPTIONS.scale * Math.sqrt(grow)),
    minSize: Math.round(DEFAULT_FELZENSZWALB_OPTIONS.minSize * grow),
  };
}

const FALLBACK_DESCRIPTION = 'fallback: Felzenszwalb-Huttenlocher graph segmentation on colour (no SAM weights loaded)';

// --- Loading ------------------------------------------------------------------------------------

/** transformers config.json or the fixtures' segment_anything_constructor_args. */
function samConfigFromJson(json: unknown, file: string, name: string): SamConfig {
  if (json !== null && typeof json === 'object' && 'segment_anything_constructor_args' in json)
    return { ...samConfigFromFixture(json, file), name };
  return samConfigFromHfConfig(json, file, name);
}

function presetConfig(name: string): SamConfig {
  if (!SAM_PRESETS.includes(name as SamPresetName)) {
    throw new DearliError(
      'sam-config',
      `"${name}" is not a SAM preset (known: ${SAM_PRESETS.join(', ')})`,
      'Choose one of the listed presets.',
    );
  }
  return samPreset(name as SamPresetName);
}

interface LoadedSam {
  model: SamModel;
  card: ModelCard;
}

async function buildSam(
  config: SamConfig,
  weights: ModelFile,
  onProgress: ProgressSink,
  signal: AbortSignal,
): Promise<LoadedSam> {
  const source = await openModelWeights(weights, onProgress);
  signal.throwIfAborted();
  const model = await SamModel.load(source, config);
  if (signal.aborted) {
    model.dispose();
    signal.throwIfAborted();
  }
  const e = config.imageEncoder;
  const details = [
    `${model.weights.naming} key naming`,
    `ViT ${e.depth} blocks × ${e.embedDim}`,
    `input ${e.imgSize} px`,
  ];
  return { model, card: modelCard('sam', config.name, weights, parameterCount(source), details) };
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
function generatorParams(sam: LoadedSam | null, settings: MaskStageSettings): Record<string, unknown> {
  if (!sam) return { generator: 'felzenszwalb', ...DEFAULT_FELZENSZWALB_OPTIONS, scaledAbove: FALLBACK_REFERENCE_AREA };
  return { generator: 'sam', model: sam.card.sha256, ...maskDecidingOptions(settings) };
}

function sameParams(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const MAX_CROP_LAYERS = 4;
const MAX_POINTS_PER_BATCH = 1024;

function checkSettings(s: MaskStageSettings): void {
  const bad = (field: string, range: string) =>
    new DearliError('mask-settings', `${field} must be ${range}`, 'Correct the value and run again.');
  const whole = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  if (!whole(s.pointsPerSide, 1, 64)) throw bad('points per side', 'a whole number from 1 to 64');
  for (const [field, v] of [
    ['the predicted IoU threshold', s.predIouThresh],
    ['the stability score threshold', s.stabilityScoreThresh],
    ['the box NMS threshold', s.boxNmsThresh],
    ['the crop NMS threshold', s.cropNmsThresh],
  ] as const) {
    if (!(v >= 0 && v <= 1)) throw bad(field, 'between 0 and 1');
  }
  if (s.pointsPerBatch !== 'auto' && !whole(s.pointsPerBatch, 1, MAX_POINTS_PER_BATCH))
    throw bad('points per batch', `"auto" or a whole number from 1 to ${MAX_POINTS_PER_BATCH}`);
  if (!whole(s.cropNLayers, 0, MAX_CROP_LAYERS))
    throw bad('crop layers', `a whole number from 0 to ${MAX_CROP_LAYERS}`);
  if (!(s.cropOverlapRatio >= 0 && s.cropOverlapRatio < 1)) throw bad('the crop overlap', 'at least 0 and below 1');
  if (!whole(s.cropNPointsDownscaleFactor, 1, 64))
    throw bad('the points downscale factor', 'a whole number from 1 to 64');
  if (Math.trunc(s.pointsPerSide / s.cropNPointsDownscaleFactor ** s.cropNLayers) < 1) {
    throw bad(
      'points per side',
      `at least ${s.cropNPointsDownscaleFactor ** s.cropNLayers} with ${s.cropNLayers} crop layers downscaled by ${s.cropNPointsDownscaleFactor}, so that the last layer keeps a point`,
    );
  }
  if (!(Number.isInteger(s.minMaskRegionArea) && s.minMaskRegionArea >= 0))
    throw bad('the minimum region area', 'a whole number of pixels, 0 or more');
}

/** The points per batch to run SAM with: 'auto' from the GPU's buffer limits, a number checked against them. */
function resolvePointsPerBatch(
  setting: MaskStageSettings['pointsPerBatch'],
  model: SamModel,
  limits: GpuBufferLimits | undefined,
): number {
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

/** A short stable name for a stage's inputs (FNV-1a of their JSON). */
function fingerprint(value: unknown): string {
  let h = 2166136261;
  for (const ch of JSON.stringify(value)) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h.toString(16).padStart(8, '0');
}

const stem = (name: string) => (name.split('/').pop() ?? name).replace(/\.[^.]*$/, '');

/** What the masks service needs from its session. */
export interface MaskServiceDeps {
  db: store.DearliDB;
  files: ModelFiles;
  decode: ImageDecoder;
  jobs: JobSlot;
  gpuLimits: GpuBufferLimits | undefined;
}

export type MaskService = ReturnType<typeof createMaskService>;

export function createMaskService({ db, files, decode, jobs, gpuLimits }: MaskServiceDeps) {
  let sam: LoadedSam | null = null;

  function use(next: LoadedSam | null): void {
    sam?.model.dispose();
    sam = next;
  }

  async function loadSam(request: SamLoadRequest, onProgress: ProgressSink): Promise<ModelCard> {
    const signal = files.beginLoad('sam');
    const weights = await files.fetchModelFile(request.weights, 'weights', signal, onProgress);
    const configSource = await configFileSource(request.config, request.weights, 'config.json', signal);
    const configFile = configSource ? await files.fetchModelFile(configSource, 'config', signal, onProgress) : null;
    const name =
      request.weights.kind === 'hub' ? request.weights.repo.split('/').pop()! : weights.name.replace(/\.[^.]+$/, '');
    const config = configFile
      ? samConfigFromJson(await readJson(configFile), configFile.name, name)
      : presetConfig((request.config as { preset: string }).preset);
    const loaded = await buildSam(config, weights, onProgress, signal);
    await files.saveModel({
      kind: 'sam',
      card: loaded.card,
      files: [weights, ...(configFile ? [configFile] : [])].map(fileRecord),
      preset: configFile ? undefined : config.name,
    });
    use(loaded);
    return loaded.card;
  }

  /** Loads a saved SAM from the weight cache alone. */
  async function loadSaved(meta: SavedModelMeta, onProgress: ProgressSink): Promise<ModelCard> {
    const { signal, weights, config: configFile } = await files.openSaved(meta, 'sam');
    const config = configFile
      ? samConfigFromJson(await readJson(configFile), configFile.name, meta.card.name)
      : presetConfig(meta.preset ?? meta.card.name);
    const loaded = await buildSam(config, weights, onProgress, signal);
    use(loaded);
    return loaded.card;
  }

  /**
   * The mask stage on the runner: one image per step. An image already masked with the same
   * generator and settings (or imported) is skipped; a pause mid-image drops that image's work only.
   */
  async function maskStage(
    datasetIds: string[],
    settings: MaskStageSettings,
    signal: AbortSignal,
    onProgress: (p: MaskStageProgress) => void,
  ): Promise<MaskStageSummary> {
    checkSettings(settings);
    const datasets = (await Promise.all(datasetIds.map((id) => store.getDataset(db, id)))).filter(
      (x): x is store.DatasetRecord => !!x,
    );
    if (datasets.length === 0)
      throw new DearliError('no-datasets', 'no dataset is selected', 'Tick the datasets to mask.');
    const pointsPerBatch = sam ? resolvePointsPerBatch(settings.pointsPerBatch, sam.model, gpuLimits) : null;
    const generator: MaskGenerator = sam ? { kind: 'sam', model: sam.model } : { kind: 'fallback' };
    const params = generatorParams(sam, settings);
    const autoMask: Partial<AutoMaskOptions> = {
      ...maskDecidingOptions(settings),
      ...(pointsPerBatch !== null && { pointsPerBatch }),
    };
    const images = new ImageSequence(db, datasets);
    const stage = imageStage(images, async (image, dataset, stepSignal) => {
      const existing = await store.getSamMasks(db, image.id);
      if (existing && (existing.source === 'imported' || sameParams(existing.params, params))) return false;
      const { rgba, width, height } = await decode(image.blob, image.fileName);
      const records = await generateMasksForImage(
        generator,
        rgba,
        width,
        height,
        { autoMask, fallback: fallbackScale(width, height) },
        stepSignal,
      );
      await store.putSamMasks(db, {
        imageId: image.id,
        datasetId: dataset.id,
        source: generator.kind,
        masks: records.map((m) => ({
          segmentation: m.segmentation,
          area: m.area,
          bbox: m.bbox,
          predicted_iou: m.predicted_iou,
          stability_score: m.stability_score,
        })),
        params,
        createdAt: Date.now(),
      });
      return true;
    });
    const start = performance.now();
    const report = (p: StageProgress) => {
      const seconds = (performance.now() - start) / 1000;
      const computed = (p.details?.computed as number | undefined) ?? 0;
      const imagesPerSecond = seconds > 0 ? computed / seconds : 0;
      const current = (p.details?.current as string | undefined) ?? '';
      onProgress({
        done: p.done,
        total: p.total,
        imagesPerSecond,
        etaSeconds: imagesPerSecond > 0 ? (p.total - p.done) / imagesPerSecond : 0,
        current,
        generator: generator.kind,
        pointsPerBatch,
      });
    };
    report({ done: 0, total: images.total });
    const key = `stage:masks:${fingerprint({ params, datasetIds: datasets.map((d) => d.id) })}`;
    const { outcome, state } = await runStoredStage<ImageStageState>(db, key, stage, signal, report);
    return { computed: state.computed, skipped: state.reused, paused: outcome === 'paused', generator: generator.kind };
  }

  async function maskStats(datasetIds: string[]): Promise<DatasetMaskStats[]> {
    const out: DatasetMaskStats[] = [];
    for (const id of datasetIds) {
      const dataset = await store.getDataset(db, id);
      if (!dataset) continue;
      const bySource = { sam: 0, fallback: 0, imported: 0 };
      const index = db.transaction('samMasks').store.index('byDataset');
      for (let c = await index.openCursor(IDBKeyRange.only(id)); c; c = await c.continue()) bySource[c.value.source]++;
      out.push({
        datasetId: id,
        images: dataset.imageCount,
        processed: bySource.sam + bySource.fallback + bySource.imported,
        bySource,
      });
    }
    return out;
  }

  async function importSa1bMasks(datasetId: string, dropped: Parameters<MasksApi['importSa1bMasks']>[1]) {
    const dataset = await requireDataset(db, datasetId);
    const byStem = new Map<string, store.ImageRecord>();
    for await (const image of datasetImages(db, [dataset])) byStem.set(stem(image.fileName), image);
    const problems: UserMessage[] = [];
    let imported = 0;
    for (const { path, file } of dropped) {
      if (!path.toLowerCase().endsWith('.json')) {
        problems.push({
          code: 'skipped',
          file: path,
          problem: 'not a JSON file',
          fix: 'Only SA-1B style .json mask files are read.',
        });
        continue;
      }
      try {
        const parsed = parseSa1bJson(await readJsonText(file, path), path);
        // SA-1B names the JSON after the image (sa_1.json ↔ sa_1.jpg); image.file_name says it too.
        const image = byStem.get(stem(parsed.image.file_name)) ?? byStem.get(stem(path));
        if (!image) {
          throw new DearliError(
            'sa1b-unmatched',
            `no image "${parsed.image.file_name}" in "${dataset.name}"`,
            'Import the masks into the dataset that holds this image.',
            path,
          );
        }
        if (image.width !== parsed.image.width || image.height !== parsed.image.height) {
          throw new DearliError(
            'sa1b-size',
            `the masks are ${parsed.image.width}×${parsed.image.height} but ${image.fileName} is ${image.width}×${image.height}`,
            'Regenerate the masks for this image at its stored size.',
            path,
          );
        }
        await store.putSamMasks(db, {
          imageId: image.id,
          datasetId,
          source: 'imported',
          masks: parsed.annotations.map((a) => ({
            segmentation: a.segmentation,
            area: a.area,
            bbox: a.bbox,
            predicted_iou: a.predicted_iou,
            stability_score: a.stability_score,
          })),
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

  async function getMaskView(imageId: string): Promise<MaskView | null> {
    const [record, image] = await Promise.all([store.getSamMasks(db, imageId), store.getImage(db, imageId)]);
    if (!record || !image) return null;
    const { width, height } = image;
    const overlay = new Uint8ClampedArray(width * height * 4);
    const sorted = [...record.masks].sort((a, b) => b.area - a.area);
    // Small masks are painted over large ones; mask k (largest first) is segment k + 1.
    const masks: MaskInfo[] = sorted.map((m, k) => {
      const color = segmentColor(k + 1, undefined);
      const bits = decodeMask(fromCocoRle(m.segmentation));
      for (let p = 0; p < bits.length; p++) {
        if (!bits[p]) continue;
        overlay.set(color, 4 * p);
        overlay[4 * p + 3] = 170;
      }
      return { area: m.area, predictedIou: m.predicted_iou ?? null, stabilityScore: m.stability_score ?? null, color };
    });
    return {
      imageId,
      fileName: image.fileName,
      width,
      height,
      image: image.blob,
      source: record.source,
      count: masks.length,
      overlay,
      masks,
    };
  }

  const stageName = 'the mask stage';
  return {
    use,
    loadSaved,
    maskStage,
    current: () => sam?.card ?? null,
    api: {
      loadSam,
      unloadSam: async () => use(null),
      maskGenerator: async (): Promise<MaskGeneratorInfo> =>
        sam ? { kind: 'sam', card: sam.card } : { kind: 'fallback', description: FALLBACK_DESCRIPTION },
      runMaskStage: (datasetIds: string[], settings: MaskStageSettings, onProgress: (p: MaskStageProgress) => void) =>
        jobs.start(stageName, (signal) => maskStage(datasetIds, settings, signal, onProgress)),
      pauseMaskStage: () => jobs.stop(stageName),
      maskStats,
      importSa1bMasks,
      getMaskView,
    },
  };
}
