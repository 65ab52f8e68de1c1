/**
 * The Use service: the model the Use view segments with (a stored run's, a dropped bundle's or a
 * share link's), bundles of runs for export and hub push, and predictions of a dataset. A model from
 * elsewhere runs on the backbone its card names, so its predictions are the ones its author saw.
 */
import * as tf from '@tensorflow/tfjs';
import { ZipWriter, BlobWriter, BlobReader } from '@zip.js/zip.js';
import { sha256 } from 'hash-wasm';
import { version as LAB_VERSION } from '../../package.json';
import { DearliError } from '../core/errors';
import type { Category } from '../core/panoptic';
import { baseName, expandZips, readBlob } from '../data/files';
import { exportPanopticPredictions, type PanopticPrediction } from '../data/predictionsExport';
import * as store from '../data/store';
import { buildTextClassifier, disposeTextClassifier } from '../models/decoder/classHead';
import { decoderParamTable } from '../models/decoder/params';
import { M2FLang } from '../models/decoder/m2fLang';
import { SafetensorsFile } from '../models/weights/safetensors';
import { readCheckpointMeta } from '../train/checkpoint';
import type { Backbone } from './backbone';
import type { ClipService } from './clip';
import { bundleFiles, cardText, parseShareLink, pushModelToHub, shareLink } from './hubShare';
import { datasetImages, type ImageDecoder } from './images';
import { buildModelBundle, MAX_CARD_BYTES, readModelBundle, type ModelBundle, type ModelCard } from './modelBundle';
import type { ModelFiles, ProgressSink } from './modelFiles';
import { paintOverlay, segmentColor } from './segmentColors';
import type { RunView } from './trainingApi';
import { predictImageTensor } from './trainingEval';
import type { SegmentedImage, UseApi, UsedModelView } from './useApi';

/** The card's CLIP sha256 for the offline stand-in backbone (no CLIP weights: a seeded random trunk). */
const OFFLINE_BACKBONE_SHA256 = '0'.repeat(64);

/** What the training service stores per run (see training.ts): its view and the last checkpoint. */
interface StoredRun {
  view: RunView;
  stage: { checkpoint: Blob | null } | null;
}

interface UsedModel {
  card: ModelCard;
  from: string;
  model: M2FLang;
}

export interface UseServiceDeps {
  db: store.DearliDB;
  files: ModelFiles;
  clip: ClipService;
  decode: ImageDecoder;
}

function rgbTensor(rgba: Uint8ClampedArray, width: number, height: number): tf.Tensor3D {
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++) for (let ch = 0; ch < 3; ch++) rgb[3 * p + ch] = rgba[4 * p + ch];
  return tf.tensor3d(rgb, [height, width, 3]);
}

/** The card's classes as categories (contiguous order = the decoder's class index). */
function cardCategories(card: ModelCard): Category[] {
  return card.classes.map((c) => ({ id: c.id, name: c.name, synonyms: c.synonyms, isthing: c.isthing }));
}

export function createUseService({ db, files, clip, decode }: UseServiceDeps) {
  let used: UsedModel | null = null;

  async function storedRun(runId: string): Promise<StoredRun & { checkpoint: Blob }> {
    const rec = await store.getRun<StoredRun>(db, runId);
    if (!rec) throw new DearliError('use-missing-run', `run ${runId} is not stored`, 'Pick another run.');
    const checkpoint = rec.state.stage?.checkpoint;
    if (!checkpoint)
      throw new DearliError(
        'use-untrained',
        'this run has no saved weights yet',
        'Train it a little longer: a run saves every 10 iterations and when paused.',
      );
    return { ...rec.state, checkpoint };
  }

  /** The CLIP model id and sha256 of the backbone a run trained on (it must be the one loaded now, or the offline stand-in). */
  function runClip(view: RunView): ModelCard['clip'] {
    const loaded = clip.current();
    if (loaded && view.backbone.startsWith(`CLIP ${loaded.name}`)) return { model: loaded.name, sha256: loaded.sha256 };
    if (!view.backbone.startsWith('CLIP ')) return { model: view.backbone, sha256: OFFLINE_BACKBONE_SHA256 };
    throw new DearliError(
      'use-clip',
      `this run trained on "${view.backbone}", which is not loaded`,
      'Load that CLIP model (Models tab) so the bundle can name its sha256.',
    );
  }

  async function runBundle(runId: string): Promise<ModelBundle> {
    const { view, checkpoint } = await storedRun(runId);
    const file = await SafetensorsFile.open(checkpoint, `checkpoint of ${runId}`);
    const decoder = (await readCheckpointMeta(file)).config;
    const parameters = new Map<string, Float32Array>();
    for (const name of decoderParamTable(decoder).keys())
      parameters.set(name, (await file.read(`param/${name}`)).data as Float32Array);
    const { config } = view;
    const categories: { id: number; isthing: boolean }[] =
      config.kind === 'dewa'
        ? [{ id: 1, isthing: true }]
        : ((await store.getDataset(db, config.trainDatasetIds[0]))?.categories ?? []);
    if (categories.length !== view.classNames.length) {
      throw new DearliError(
        'use-missing-dataset',
        "the run's training dataset is no longer stored, so its classes are unknown",
        'Import the dataset again, or export another run.',
      );
    }
    const validationDataset = config.validationDatasetId
      ? await store.getDataset(db, config.validationDatasetId)
      : undefined;
    const last = view.evals.at(-1);
    return buildModelBundle({
      labVersion: LAB_VERSION,
      name: `${config.kind} ${config.preset} (${view.iteration} iterations)`,
      decoder,
      classes: categories.map((c, k) => ({
        id: c.id,
        name: view.classNames[k][0],
        synonyms: view.classNames[k].slice(1),
        isthing: c.isthing,
      })),
      clip: runClip(view),
      stages: [{ kind: config.kind, iterations: view.iteration, batch: config.batchSize }],
      validation: last
        ? {
            dataset: validationDataset?.name ?? 'validation',
            pq: 100 * last.pq,
            sq: 100 * last.sq,
            rq: 100 * last.rq,
            miou: 100 * last.miou,
          }
        : null,
      parameters,
    });
  }

  /** The backbone the card names: the loaded CLIP if its sha256 matches, a saved one from the cache, or the offline stand-in. */
  async function backboneFor(card: ModelCard, onProgress: ProgressSink): Promise<Backbone> {
    const want = card.clip.sha256;
    await clip.settled();
    const loaded = clip.current();
    if (want === OFFLINE_BACKBONE_SHA256) {
      if (loaded)
        throw new DearliError(
          'use-clip',
          `the model was trained on the offline random backbone, but CLIP ${loaded.name} is loaded`,
          'Free the CLIP model (Models tab), then open the model again.',
        );
    } else if (loaded?.sha256 !== want) {
      const saved = (await files.listSavedModels()).find(
        (m) => m.card.kind === 'clip' && m.card.sha256 === want && m.available,
      );
      if (!saved) {
        throw new DearliError(
          'use-clip',
          `the model needs CLIP ${card.clip.model} (sha256 ${want.slice(0, 12)}…), which this browser does not have`,
          'Load that CLIP model in the Models tab (from the hub or a file), then open the model again.',
        );
      }
      await clip.loadSaved(await files.savedModelMeta(saved.id), onProgress);
    }
    const backbone = await clip.backbone();
    if (backbone.embedDim !== card.decoder.embedDim || backbone.channels.join() !== card.decoder.trunkChannels.join()) {
      throw new DearliError(
        'use-clip',
        `the backbone ${backbone.name} does not fit the model's decoder`,
        `Load CLIP ${card.clip.model}.`,
      );
    }
    return backbone;
  }

  function use(card: ModelCard, parameters: Map<string, Float32Array>, from: string): UsedModelView {
    const model = new M2FLang(card.decoder, 0);
    for (const [name, v] of model.variables) tf.tidy(() => v.assign(tf.tensor(parameters.get(name)!, v.shape)));
    used?.model.dispose();
    used = { card, from, model };
    return { card, from };
  }

  async function readBundle(
    cardFile: Blob,
    cardFrom: string,
    weights: Blob,
    weightsFrom: string,
    expectedCardSha256?: string,
  ) {
    if (cardFile.size > MAX_CARD_BYTES) {
      throw new DearliError(
        'bundle-card',
        `model.json is ${cardFile.size} bytes (a card is at most ${MAX_CARD_BYTES})`,
        'Check that it is a DEARLi Lab model.json.',
        cardFrom,
      );
    }
    return readModelBundle({
      cardText: await cardFile.text(),
      cardFrom,
      weights,
      weightsFrom,
      expectedCardSha256,
      labVersion: LAB_VERSION,
    });
  }

  async function segmentOne(backbone: Backbone, image: tf.Tensor3D, categories: Category[]) {
    const model = used!.model;
    const classes = await backbone.classRows(used!.card.classes.map((c) => [c.name, ...c.synonyms]));
    const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
    try {
      return (await predictImageTensor(image, backbone, model, classifier, categories)).model.panoptic;
    } finally {
      disposeTextClassifier(classifier);
    }
  }

  function requireUsed(): UsedModel {
    if (!used)
      throw new DearliError(
        'use-no-model',
        'no model is open',
        'Pick a run, drop a bundle or open a share link first.',
      );
    return used;
  }

  const api: UseApi = {
    usableRuns: async () =>
      (await store.listRuns(db))
        .filter((r) => (r.state as StoredRun | undefined)?.stage?.checkpoint && (r.state as StoredRun).view)
        .sort((a, b) => b.updatedAt - a.updatedAt)
        .map((r) => {
          const { view } = r.state as StoredRun;
          return {
            id: r.id,
            label: `${view.config.kind} · ${view.config.preset} · ${view.iteration}/${view.totalIterations} iterations · ${view.status}`,
            updatedAt: r.updatedAt,
          };
        }),

    exportModelBundle: async (runId) => {
      const bundle = await runBundle(runId);
      const files = bundleFiles(bundle);
      const zip = new ZipWriter(new BlobWriter('application/zip'));
      for (const f of files) await zip.add(f.path, new BlobReader(f.content));
      return { files, zip: await zip.close(), cardSha256: await sha256(cardText(bundle)) };
    },

    useRunModel: async (runId) => {
      const bundle = await runBundle(runId);
      const { card, parameters } = await readBundle(
        new Blob([cardText(bundle)]),
        runId,
        new Blob([bundle.weights as BlobPart]),
        runId,
      );
      await backboneFor(card, () => {});
      return use(card, parameters, runId);
    },

    importModelBundle: async (dropped) => {
      const all = await expandZips(dropped.map((f) => ({ path: f.name, file: f })));
      const find = (name: string) => all.find((f) => baseName(f.path) === name);
      const [cardFile, weightsFile] = [find('model.json'), find('model.safetensors')];
      if (!cardFile || !weightsFile) {
        throw new DearliError(
          'bundle-files',
          `the dropped files hold no ${cardFile ? 'model.safetensors' : 'model.json'}`,
          'Drop model.json and model.safetensors together, or the zip the lab exported.',
        );
      }
      const { card, parameters } = await readBundle(
        await readBlob(cardFile.file),
        cardFile.path,
        await readBlob(weightsFile.file),
        weightsFile.path,
      );
      await backboneFor(card, () => {});
      return use(card, parameters, cardFile.path);
    },

    openSharedModel: async (link, onProgress) => {
      const parsed = parseShareLink(new URL(link, 'http://lab.invalid/').hash);
      if (!parsed) throw new DearliError('share-link', 'the link holds no #model=…', 'Ask for the share link again.');
      const signal = files.beginLoad();
      const fetchFile = async (url: string, role: string) => {
        try {
          return await files.fetchModelFile({ kind: 'url', url }, role, signal, onProgress);
        } catch (e) {
          if (e instanceof DearliError) throw e;
          throw new DearliError(
            'share-unreachable',
            `${url} could not be downloaded (${(e as Error).message})`,
            'Check the link, and that the server allows cross-origin requests (CORS).',
            url,
          );
        }
      };
      const cardFile = await fetchFile(parsed.cardUrl, 'model card');
      const weightsUrl = new URL('model.safetensors', parsed.cardUrl).href;
      const weightsFile = await fetchFile(weightsUrl, 'weights');
      const { card, parameters } = await readBundle(
        cardFile.blob,
        parsed.cardUrl,
        weightsFile.blob,
        weightsUrl,
        parsed.cardSha256,
      );
      await backboneFor(card, onProgress);
      return use(card, parameters, parsed.cardUrl);
    },

    usedModel: async () => (used ? { card: used.card, from: used.from } : null),

    segmentImages: async (images) => {
      const { card } = requireUsed();
      const backbone = await backboneFor(card, () => {});
      const categories = cardCategories(card);
      const out: SegmentedImage[] = [];
      for (const file of images) {
        const { rgba, width, height } = await decode(file, file.name);
        const image = rgbTensor(rgba, width, height);
        const result = await segmentOne(backbone, image, categories).finally(() => image.dispose());
        const colors = new Map(result.segments.map((s) => [s.id, segmentColor(s.id, categories[s.category_id])]));
        const area = new Map<number, number>();
        for (const id of result.idMap) if (id) area.set(id, (area.get(id) ?? 0) + 1);
        out.push({
          fileName: file.name,
          width,
          height,
          image: file,
          overlay: paintOverlay(result.idMap, (id) => colors.get(id)),
          segments: result.segments.map((s) => ({
            id: s.id,
            name: categories[s.category_id].name,
            isthing: s.isthing,
            color: colors.get(s.id)!,
            area: area.get(s.id) ?? 0,
          })),
        });
      }
      return out;
    },

    pushToHub: async (runId, push) => {
      const shared = await pushModelToHub(await runBundle(runId), push);
      return { link: shared.link, cardUrl: shared.cardUrl };
    },

    shareLink: async (labUrl, cardUrl, cardSha256) => shareLink(labUrl, cardUrl, cardSha256),

    exportPredictions: async (datasetId) => {
      const { card } = requireUsed();
      const dataset = await store.getDataset(db, datasetId);
      if (!dataset)
        throw new DearliError('use-missing-dataset', `dataset ${datasetId} is not stored`, 'Pick another dataset.');
      const backbone = await backboneFor(card, () => {});
      const categories = cardCategories(card);
      async function* predictions(): AsyncGenerator<PanopticPrediction> {
        for await (const rec of datasetImages(db, [dataset!])) {
          const { rgba, width, height } = await decode(rec.blob, rec.fileName);
          const image = rgbTensor(rgba, width, height);
          const result = await segmentOne(backbone, image, categories).finally(() => image.dispose());
          yield {
            imageId: rec.id,
            imageFile: rec.fileName,
            width,
            height,
            ids: Uint32Array.from(result.idMap),
            segments: result.segments.map((s) => ({ id: s.id, category_id: categories[s.category_id].id })),
          };
        }
      }
      return exportPanopticPredictions(predictions(), categories);
    },
  };

  return { api, dispose: () => used?.model.dispose() };
}
