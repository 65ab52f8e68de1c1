/**
 * The CLIP service: CLIP weights, config and tokenizer from the hub, a URL or a drop (all through
 * the weight cache), class names → text embeddings, the CLIP feature stage, the zero-shot
 * evaluation with ground-truth masks, and the backbone training runs on. SAM loading lives in
 * ./masks.ts; the session lists and frees saved models of both kinds.
 */
import * as tf from '@tensorflow/tfjs';
import { DearliError } from '../core/errors';
import type { Category } from '../core/panoptic';
import { PanopticEvaluator, type PanopticImage } from '../core/pq';
import { decodeMaskPng } from '../data/decode';
import * as store from '../data/store';
import { promptNames } from '../data/vocabulary';
import { collectTensors } from '../models/clip/layers';
import { encodeSynonyms, VILD_TEMPLATES } from '../models/clip/zeroShot';
import { buildTextClassifier, disposeTextClassifier, type TextClassifier } from '../models/decoder/classHead';
import {
  ModelFiles,
  readJson,
  configFileSource,
  fileRecord,
  savedModelId,
  type ModelFile,
  type ProgressSink,
  type SavedModelMeta,
} from './modelFiles';
import type {
  ClassNames,
  ClipLoadRequest,
  FeatureStageSummary,
  ModelCard,
  StageProgress,
  TextEmbeddingSummary,
  ZeroShotClassRow,
  ZeroShotReport,
} from './modelsApi';
import { DEFAULT_LOGIT_SCALE, randomBackbone, seededClassRows, type Backbone, type ClassRows } from './backbone';
import { remoteClipRequest } from './clipRemote';
import { buildClip, clipConfigFromJson, presetConfig, tokenizerSources, type LoadedClip } from './clipLoading';
import { classifySegments, computeDense, featureKey, featureSide, type DenseMap } from './clipFeatures';
import { datasetImages, ImageSequence, type ImageDecoder } from './images';
import type { JobSlot } from './jobs';
import { imageStage } from './stages/imageStage';
import { runStoredStage, StageMeter } from './stageStore';

/** What the CLIP service needs from its session. */
export interface ClipServiceDeps {
  db: store.DearliDB;
  files: ModelFiles;
  decode: ImageDecoder;
  jobs: JobSlot;
}

export type ClipService = ReturnType<typeof createClipService>;

/** Decoder presets by trunk size: the fixture-sized towers get the tiny decoder. */
const presetsForTrunk = (dims: readonly number[]) =>
  dims[3] <= 256 ? ['tiny'] : ['laptop-small', 'laptop-fpn', 'laptop', 'paper'];

const classNamesKey = (datasetId: string) => `classes:${datasetId}`;
/** The models-store record of the browser's CLIP choice: a saved model's id, or null after Unload. */
const CHOSEN_CLIP_KEY = 'clip:chosen';
const reportKey = (datasetId: string) => `zeroshot:${datasetId}`;
const textKey = (card: ModelCard, synonym: string) => `clip-text:${card.sha256.slice(0, 16)}:${synonym}`;
const featureStageKey = (card: ModelCard, datasetId: string) =>
  `stage:features:${card.sha256.slice(0, 16)}:${datasetId}`;

/** Synonyms encoded per text-tower call: small enough to report progress, large enough to batch. */
const SYNONYMS_PER_CALL = 4;

export async function requireDataset(db: store.DearliDB, datasetId: string): Promise<store.DatasetRecord> {
  const dataset = await store.getDataset(db, datasetId);
  if (!dataset)
    throw new DearliError(
      'not-found',
      `dataset ${datasetId} is not stored`,
      'It may have been deleted; pick another dataset.',
    );
  return dataset;
}

function stageCancelled(): DearliError {
  return new DearliError(
    'stage-cancelled',
    'the stage was cancelled',
    'Run it again: finished images are kept and not recomputed.',
  );
}

function embeddingSummary(classifier: TextClassifier): TextEmbeddingSummary {
  return {
    classes: classifier.numClasses,
    rows: classifier.rows.shape[0],
    dims: classifier.rows.shape[1],
    templates: VILD_TEMPLATES.length,
  };
}

export function createClipService({ db, files, decode, jobs }: ClipServiceDeps) {
  let clip: LoadedClip | null = null;
  let offline: Promise<Backbone> | null = null;
  /** The CLIP load under way (settled when none): the backbone waits for it, so training starts on the chosen CLIP. */
  let loading: Promise<unknown> = Promise.resolve();
  const tracked = <T>(load: Promise<T>): Promise<T> => {
    loading = load.catch(() => undefined);
    return load;
  };
  /** Text classifier per dataset, valid while the names and the model stay the same. */
  const classifiers = new Map<string, { key: string; classifier: TextClassifier }>();

  function use(next: LoadedClip | null): void {
    clip?.model.dispose();
    for (const { classifier } of classifiers.values()) disposeTextClassifier(classifier);
    classifiers.clear();
    clip = next;
  }

  function requireClip(needText: boolean): LoadedClip {
    if (!clip)
      throw new DearliError('clip-not-loaded', 'no CLIP model is loaded', 'Load CLIP weights on the Models tab first.');
    if (needText && (!clip.model.text || !clip.tokenizer || clip.model.logitScale === null)) {
      throw new DearliError(
        'clip-no-text',
        'the loaded CLIP has no text tower or no tokenizer',
        'Load a full open_clip checkpoint together with the CLIP tokenizer vocabulary.',
      );
    }
    return clip;
  }

  /** What a reload loads: a saved model's id, or null for none. */
  const choose = (savedId: string | null) =>
    store.putModel(db, { id: CHOSEN_CLIP_KEY, updatedAt: Date.now(), meta: { savedId } });

  async function activate(next: LoadedClip, savedId: string, signal: AbortSignal): Promise<ModelCard> {
    if (signal.aborted) {
      next.model.dispose();
      signal.throwIfAborted();
    }
    use(next);
    await choose(savedId);
    return next.card;
  }

  async function unload(): Promise<void> {
    use(null);
    await choose(null);
  }

  /** The seeded random stand-in, whatever CLIP is loaded (models trained on it open beside a CLIP). */
  function offlineBackbone(): Promise<Backbone> {
    return (offline ??= randomBackbone());
  }

  /** The loaded CLIP as the training backbone (its image trunk, its text embeddings as class rows), else the offline stand-in. */
  async function backbone(): Promise<Backbone> {
    await loading;
    if (!clip) return offlineBackbone();
    const loaded = clip;
    const config = loaded.model.config;
    const hasText = !!(loaded.model.text && loaded.tokenizer);
    return {
      name: `CLIP ${loaded.card.name}${hasText ? '' : ' (image tower only: random class rows)'}`,
      trunk: loaded.model.trunk,
      channels: config.trunk.dims as [number, number, number, number],
      embedDim: config.embedDim,
      presets: presetsForTrunk(config.trunk.dims),
      clip: { head: loaded.model.imageHead, logitScale: loaded.model.logitScale ?? DEFAULT_LOGIT_SCALE },
      classRows: async (classNames) =>
        hasText ? textRows(loaded, classNames) : seededClassRows(classNames, config.embedDim),
    };
  }

  async function loadClip(request: ClipLoadRequest, onProgress: ProgressSink): Promise<ModelCard> {
    const signal = files.beginLoad('clip');
    const weights = await files.fetchModelFile(request.weights, 'weights', signal, onProgress);
    const configSource = await configFileSource(request.config, request.weights, 'open_clip_config.json', signal);
    const configFile = configSource ? await files.fetchModelFile(configSource, 'config', signal, onProgress) : null;
    const tokenizerFiles: ModelFile[] = [];
    for (const s of request.tokenizer ? await tokenizerSources(request.tokenizer, signal) : [])
      tokenizerFiles.push(await files.fetchModelFile(s, 'tokenizer', signal, onProgress));
    const fallbackName = request.weights.kind === 'hub' ? request.weights.repo.split('/').pop()! : weights.name;
    const parsed = configFile
      ? clipConfigFromJson(await readJson(configFile), configFile.name, fallbackName)
      : presetConfig((request.config as { preset: string }).preset);
    const config = request.name ? { ...parsed, name: request.name } : parsed;
    const loaded = await buildClip(config, weights, tokenizerFiles, onProgress, signal);
    const remote = remoteClipRequest(request, weights.name);
    if (remote) loaded.card.remote = remote;
    const savedId = await files.saveModel({
      kind: 'clip',
      card: loaded.card,
      files: [weights, ...(configFile ? [configFile] : []), ...tokenizerFiles].map(fileRecord),
      preset: configFile ? undefined : parsed.name,
    });
    return activate(loaded, savedId, signal);
  }

  async function loadSavedClip(meta: SavedModelMeta, onProgress: ProgressSink): Promise<ModelCard> {
    const { signal, weights, config: configFile, others } = await files.openSaved(meta, 'clip');
    const parsed = configFile
      ? clipConfigFromJson(await readJson(configFile), configFile.name, meta.card.name)
      : presetConfig(meta.preset ?? meta.card.name);
    // The card keeps the name it was loaded under (the demo CLIP's).
    const config = { ...parsed, name: meta.card.name };
    return activate(await buildClip(config, weights, others, onProgress, signal), savedModelId(meta), signal);
  }

  const loadSaved = (meta: SavedModelMeta, onProgress: ProgressSink) => tracked(loadSavedClip(meta, onProgress));

  async function restoreClip(fallback: ClipLoadRequest, onProgress: ProgressSink): Promise<ModelCard | null> {
    if (clip) return clip.card;
    const chosen = await store.getModel(db, CHOSEN_CLIP_KEY);
    if (!chosen) return loadClip(fallback, onProgress);
    const savedId = chosen.meta.savedId as string | null;
    return savedId === null ? null : loadSavedClip(await files.savedModelMeta(savedId), onProgress);
  }

  // --- Class names and text embeddings ----------------------------------------------------------------

  /** Per category of a dataset, the names the user gave it on the Models tab, else its prompt names (synonyms, else its name). */
  async function editedClassNames(datasetId: string, categories: readonly Category[]): Promise<string[][]> {
    const edited = await store.getModel(db, classNamesKey(datasetId));
    const names = new Map(((edited?.meta.classes as ClassNames[] | undefined) ?? []).map((c) => [c.id, c.names]));
    return categories.map((c) => names.get(c.id) ?? promptNames(c));
  }

  async function getClassNames(datasetId: string): Promise<ClassNames[]> {
    const { categories } = await requireDataset(db, datasetId);
    const names = await editedClassNames(datasetId, categories);
    return categories.map((c, k) => ({ id: c.id, isthing: c.isthing, names: names[k] }));
  }

  /**
   * One embedding per synonym (14 templates, mean, normalised), persisted in the features store: editing
   * one class's names encodes only the new names, and a reload encodes nothing.
   */
  async function synonymEmbeddings(
    loaded: LoadedClip,
    synonyms: string[],
    onProgress?: (p: StageProgress) => void,
  ): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const s of synonyms) {
      const hit = await store.getFeature(db, textKey(loaded.card, s));
      if (hit) out.set(s, new Float32Array(await hit.blob.arrayBuffer()));
    }
    const missing = [...new Set(synonyms)].filter((s) => !out.has(s));
    const meter = new StageMeter(missing.length, 'text embeddings (synonyms)');
    const contextLength = loaded.model.config.text.contextLength;
    for (let start = 0; start < missing.length; start += SYNONYMS_PER_CALL) {
      onProgress?.(meter.progress(start));
      const batch = missing.slice(start, start + SYNONYMS_PER_CALL);
      const encoded = encodeSynonyms(loaded.model, batch, (texts) => loaded.tokenizer!.tokenize(texts, contextLength));
      const rows = (await encoded.data()) as Float32Array;
      encoded.dispose();
      const dims = rows.length / batch.length;
      for (const [i, s] of batch.entries()) {
        const row = rows.slice(i * dims, (i + 1) * dims);
        out.set(s, row);
        await store.putFeature(db, {
          key: textKey(loaded.card, s),
          meta: { synonym: s, model: loaded.card.sha256 },
          blob: new Blob([row]),
        });
      }
    }
    return out;
  }

  /** One text row per name of every class, in class order, and the class of each row. */
  async function textRows(
    loaded: LoadedClip,
    classNames: readonly (readonly string[])[],
    onProgress?: (p: StageProgress) => void,
  ): Promise<ClassRows> {
    const synonyms = classNames.flat();
    const bySynonym = await synonymEmbeddings(loaded, synonyms, onProgress);
    const dims = loaded.model.config.embedDim;
    const rows = new Float32Array(synonyms.length * dims);
    synonyms.forEach((s, i) => rows.set(bySynonym.get(s)!, i * dims));
    return { rows, synonymClass: classNames.flatMap((names, k) => names.map(() => k)) };
  }

  /** The classifier of a dataset's classes under the user's names, kept while the names and the model stay the same. */
  async function textClassifier(
    datasetId: string,
    onProgress?: (p: StageProgress) => void,
  ): Promise<{ classifier: TextClassifier; classes: ClassNames[] }> {
    const loaded = requireClip(true);
    const classes = await getClassNames(datasetId);
    const key = `${loaded.card.sha256}:${JSON.stringify(classes.map((c) => c.names))}`;
    const hit = classifiers.get(datasetId);
    if (hit?.key === key) return { classifier: hit.classifier, classes };
    if (hit) disposeTextClassifier(hit.classifier);
    classifiers.delete(datasetId);
    const { rows, synonymClass } = await textRows(
      loaded,
      classes.map((c) => c.names),
      onProgress,
    );
    const classifier = buildTextClassifier(rows, loaded.model.config.embedDim, synonymClass, classes.length);
    classifiers.set(datasetId, { key, classifier });
    return { classifier, classes };
  }

  async function setClassNames(datasetId: string, classes: ClassNames[]): Promise<TextEmbeddingSummary | null> {
    const cleaned = classes.map((c) => ({
      ...c,
      names: [...new Set(c.names.map((n) => n.trim()).filter((n) => n !== ''))],
    }));
    const empty = cleaned.find((c) => c.names.length === 0);
    if (empty)
      throw new DearliError('class-names', `class ${empty.id} has no name`, 'Give every class at least one name.');
    await store.putModel(db, { id: classNamesKey(datasetId), updatedAt: Date.now(), meta: { classes: cleaned } });
    if (!clip?.model.text || !clip.tokenizer) return null;
    return embeddingSummary((await textClassifier(datasetId)).classifier);
  }

  // --- Features ----------------------------------------------------------------------------------------

  /** The cached res5 map of an image, computed and stored when missing. */
  async function denseFor(image: store.ImageRecord, loaded: LoadedClip): Promise<{ dense: DenseMap; reused: boolean }> {
    const side = featureSide(loaded.model.config);
    const key = featureKey(loaded.card, side, image.id);
    const hit = await store.getFeature(db, key);
    if (hit)
      return {
        dense: {
          data: new Float32Array(await hit.blob.arrayBuffer()),
          shape: hit.meta.shape as [number, number, number],
        },
        reused: true,
      };
    const dense = await computeDense(loaded.model, decode, image, side);
    await store.putFeature(db, {
      key,
      datasetId: image.datasetId,
      meta: { shape: dense.shape, side, model: loaded.card.sha256 },
      blob: new Blob([dense.data as BlobPart]),
    });
    return { dense, reused: false };
  }

  /** The feature stage on the runner: one image per step, its state in the runs store. */
  async function featureStage(
    datasetId: string,
    signal: AbortSignal,
    onProgress: (p: StageProgress) => void,
  ): Promise<FeatureStageSummary & { paused: boolean }> {
    const loaded = requireClip(false);
    const dataset = await requireDataset(db, datasetId);
    const meter = new StageMeter(dataset.imageCount, 'CLIP features');
    let shape: [number, number, number] = [0, 0, 0];
    const stage = imageStage(new ImageSequence(db, [dataset]), async (image) => {
      const r = await denseFor(image, loaded);
      shape = r.dense.shape;
      return !r.reused;
    });
    onProgress(meter.progress(0));
    const { outcome, state } = await runStoredStage(db, featureStageKey(loaded.card, datasetId), stage, signal, (p) =>
      onProgress(meter.progress(p.done, p.details?.computed as number)),
    );
    const side = featureSide(loaded.model.config);
    const grid = Math.ceil(side / 32);
    return {
      computed: state.computed,
      reused: state.reused,
      side,
      grid: [shape[0] || grid, shape[1] || grid],
      channels: shape[2] || loaded.model.config.trunk.dims[3],
      paused: outcome === 'paused',
    };
  }

  async function runFeatureStage(
    datasetId: string,
    onProgress: (p: StageProgress) => void,
  ): Promise<FeatureStageSummary> {
    const summary = await jobs.start('the CLIP feature stage', (signal) => featureStage(datasetId, signal, onProgress));
    if (summary.paused) throw stageCancelled();
    return summary;
  }

  // --- Zero-shot with ground-truth masks ----------------------------------------------------------------

  async function zeroShot(
    datasetId: string,
    signal: AbortSignal,
    onProgress: (p: StageProgress) => void,
  ): Promise<ZeroShotReport> {
    const loaded = requireClip(true);
    const dataset = await requireDataset(db, datasetId);
    if (dataset.labeledCount === 0) {
      throw new DearliError(
        'no-ground-truth',
        `"${dataset.name}" has no panoptic masks`,
        'Pick a labeled or validation dataset.',
      );
    }
    const { classifier, classes } = await textClassifier(datasetId, onProgress);
    const evaluator = new PanopticEvaluator(dataset.categories);
    const classIndex = new Map(dataset.categories.map((cat, k) => [cat.id, k]));
    const gtSegments = new Float64Array(classes.length);
    const correct = new Float64Array(classes.length);
    const meter = new StageMeter(dataset.imageCount, 'zero-shot evaluation');
    let done = 0;
    let segments = 0;
    onProgress(meter.progress(0));
    for await (const image of datasetImages(db, [dataset])) {
      if (signal.aborted) throw stageCancelled();
      done++;
      if (!image.mask || !image.segments) continue;
      const { ids } = decodeMaskPng(new Uint8Array(await image.mask.arrayBuffer()), image.fileName);
      const scored = image.segments.filter((s) => s.iscrowd !== 1);
      const { dense } = await denseFor(image, loaded);
      const predicted = await classifySegments(
        loaded,
        classifier,
        dense,
        ids,
        image.width,
        scored.map((s) => s.id),
      );
      scored.forEach((s, n) => {
        const k = classIndex.get(s.category_id)!;
        gtSegments[k]++;
        if (predicted[n] === k) correct[k]++;
      });
      // The prediction: the GT segments relabelled; crowd regions are left VOID.
      const kept = new Set(scored.map((s) => s.id));
      const predIds = ids.map((id) => (kept.has(id) ? id : 0));
      const gt: PanopticImage = {
        ids,
        width: image.width,
        height: image.height,
        segments: image.segments,
        pngFile: image.fileName,
      };
      const pred: PanopticImage = {
        ids: predIds,
        width: image.width,
        height: image.height,
        segments: scored.map((s, n) => ({ id: s.id, category_id: dataset.categories[predicted[n]].id, iscrowd: 0 })),
        pngFile: `zero-shot prediction for ${image.fileName}`,
      };
      evaluator.addImage(gt, pred);
      segments += scored.length;
      onProgress(meter.progress(done));
    }
    const { pq, miou, images } = evaluator.summarize();
    const percent = (s: { pq: number; sq: number; rq: number; n: number }) => ({
      pq: 100 * s.pq,
      sq: 100 * s.sq,
      rq: 100 * s.rq,
      n: s.n,
    });
    const perClass: ZeroShotClassRow[] = dataset.categories.map((cat, k) => {
      const s = pq.per_class[cat.id];
      return {
        id: cat.id,
        name: classes[k].names[0] ?? cat.name,
        isthing: cat.isthing,
        pq: 100 * s.pq,
        sq: 100 * s.sq,
        rq: 100 * s.rq,
        gtSegments: gtSegments[k],
        correctSegments: correct[k],
      };
    });
    const report: ZeroShotReport = {
      datasetId,
      datasetName: dataset.name,
      modelName: loaded.card.name,
      modelSha256: loaded.card.sha256,
      images,
      segments,
      evaluator: 'PanopticEvaluator (src/core/pq.ts, panopticapi rules)',
      all: percent(pq.All),
      things: percent(pq.Things),
      stuff: percent(pq.Stuff),
      miou: 100 * miou.miou,
      perClass,
      createdAt: Date.now(),
    };
    await store.putModel(db, { id: reportKey(datasetId), updatedAt: report.createdAt, meta: { report } });
    return report;
  }

  /** Frees CLIP, its classifiers and the offline backbone (end of a session). */
  async function dispose(): Promise<void> {
    use(null);
    if (offline) {
      const { trunk, clip: branch } = await offline;
      tf.dispose([trunk.weights as unknown as tf.TensorContainer, collectTensors(branch.head.weights)]);
    }
    offline = null;
  }

  return {
    use,
    unload,
    dispose,
    backbone,
    offlineBackbone,
    loadSaved,
    editedClassNames,
    featureStage,
    current: () => clip?.card ?? null,
    /** Resolves once no CLIP load is under way (the one a page starts with included). */
    settled: async () => {
      await loading;
    },
    api: {
      loadClip: (request: ClipLoadRequest, onProgress: ProgressSink) => tracked(loadClip(request, onProgress)),
      restoreClip: (fallback: ClipLoadRequest, onProgress: ProgressSink) => tracked(restoreClip(fallback, onProgress)),
      currentClip: async () => clip?.card ?? null,
      unloadClip: unload,
      getClassNames,
      setClassNames,
      textEmbeddings: async (datasetId: string) => embeddingSummary((await textClassifier(datasetId)).classifier),
      runFeatureStage,
      evaluateZeroShot: (datasetId: string, onProgress: (p: StageProgress) => void) =>
        jobs.start('the zero-shot evaluation', (signal) => zeroShot(datasetId, signal, onProgress)),
      lastZeroShotReport: async (datasetId: string) =>
        ((await store.getModel(db, reportKey(datasetId)))?.meta.report as ZeroShotReport | undefined) ?? null,
    },
  };
}
