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
import { M2FLang } from '../models/decoder/m2fLang';
import { UPSTREAM_ENSEMBLE_ALPHA } from '../train/pseudoLabels';
import type { Backbone } from './backbone';
import type { ClipService } from './clip';
import { bundleFiles, cardText, parseShareLink, pushModelToHub, shareLink } from './hubShare';
import { datasetImages, type ImageDecoder } from './images';
import { checkModelCard, MAX_CARD_BYTES, readModelBundle, type ModelCard } from './modelBundle';
import { clipId } from './clipRemote';
import type { ModelFiles, ProgressSink } from './modelFiles';
import type { ModelCard as ClipCard } from './modelsApi';
import { matchClasses, predictionByName } from './classMatch';
import { requireDataset } from './clip';
import { bundleOfRun, OFFLINE_BACKBONE_SHA256, type StoredRun } from './runBundle';
import { paintOverlay, segmentColor } from './segmentColors';
import { predictImageTensor } from './trainingEval';
import type { SegmentedImage, UseApi, UsedModelView } from './useApi';

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
/** model.json's text, its size checked before it is read (a URL may return anything). */
async function cardTextOf(cardFile: Blob, cardFrom: string): Promise<string> {
  if (cardFile.size > MAX_CARD_BYTES) {
    throw new DearliError(
      'bundle-card',
      `model.json is ${cardFile.size} bytes (a card is at most ${MAX_CARD_BYTES})`,
      'Check that it is a DEARLi Lab model.json.',
      cardFrom,
    );
  }
  return cardFile.text();
}

function checkEnsembleAlpha(alpha: number | null): void {
  if (alpha !== null && !(alpha >= 0 && alpha <= 1))
    throw new DearliError(
      'use-alpha',
      `α must lie between 0 and 1, got ${alpha}`,
      'Choose α in [0, 1], or turn the ensemble off.',
    );
}

function cardCategories(card: ModelCard): Category[] {
  return card.classes.map((c) => ({ id: c.id, name: c.name, synonyms: c.synonyms, isthing: c.isthing }));
}

function usedView({ card, from }: UsedModel): UsedModelView {
  // The α its author validated the ensemble at, else upstream's.
  return { card, from, ensembleAlpha: card.validation?.ensembled?.alpha ?? UPSTREAM_ENSEMBLE_ALPHA };
}

export function createUseService({ db, files, clip, decode }: UseServiceDeps) {
  let used: UsedModel | null = null;
  const runBundle = (runId: string) => bundleOfRun(db, clip, runId);

  /** The backbone the card names: the offline stand-in, the loaded CLIP if its sha256 matches, a saved one from the cache, or the one its source fetches. */
  async function backboneFor(card: ModelCard, onProgress: ProgressSink): Promise<Backbone> {
    const want = card.clip.sha256;
    // The stand-in is seeded, so a model trained on it opens the same beside whatever CLIP is loaded.
    if (want === OFFLINE_BACKBONE_SHA256) return clip.offlineBackbone();
    await clip.settled();
    if (clip.current()?.sha256 !== want) {
      const saved = (await files.listSavedModels()).find(
        (m) => m.card.kind === 'clip' && m.card.sha256 === want && m.available,
      );
      if (saved) await clip.loadSaved(await files.savedModelMeta(saved.id), onProgress);
      else await fetchClip(card, onProgress);
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

  /** The CLIP the card's source names, through the one weight cache (hub or URL), checked against the card's sha256. */
  async function fetchClip(card: ModelCard, onProgress: ProgressSink): Promise<void> {
    const { model, sha256: want, source } = card.clip;
    if (!source) {
      throw new DearliError(
        'use-clip',
        `the model needs CLIP ${model} (sha256 ${want.slice(0, 12)}…), which this browser does not have, and its card names no place to fetch it from (its author loaded it from a file)`,
        'Load that CLIP model in the Models tab (from the hub or a file), then open the model again.',
      );
    }
    const id = clipId(source);
    let fetched: ClipCard;
    try {
      fetched = await clip.api.loadClip(source, onProgress);
    } catch (e) {
      throw new DearliError(
        'use-clip-unavailable',
        `CLIP ${id}, which the model needs, could not be fetched (${e instanceof DearliError ? e.problem : (e as Error).message})`,
        `Check the network and that ${id} can be reached from this browser, or load that CLIP on the Models tab (e.g. from a file), then open the model again.`,
        id,
      );
    }
    if (fetched.sha256 !== want) {
      throw new DearliError(
        'use-clip',
        `CLIP ${id} now has weights with sha256 ${fetched.sha256.slice(0, 12)}…, the model was trained on ${want.slice(0, 12)}…`,
        "Load the CLIP weights the model was trained on (Models tab); ask the model's author which file they used.",
        id,
      );
    }
  }

  function use(card: ModelCard, parameters: Map<string, Float32Array>, from: string): UsedModelView {
    const model = M2FLang.load(parameters, card.decoder);
    used?.model.dispose();
    used = { card, from, model };
    return usedView(used);
  }

  async function readBundle(
    cardFile: Blob,
    cardFrom: string,
    weights: Blob,
    weightsFrom: string,
    expectedCardSha256?: string,
  ) {
    return readModelBundle({
      cardText: await cardTextOf(cardFile, cardFrom),
      cardFrom,
      weights,
      weightsFrom,
      expectedCardSha256,
      labVersion: LAB_VERSION,
    });
  }

  /** One image's panoptic result: the model alone (α null) or its test-time ensemble with CLIP at α. */
  async function segmentOne(
    backbone: Backbone,
    image: tf.Tensor3D,
    categories: Category[],
    ensembleAlpha: number | null,
  ) {
    const model = used!.model;
    const classes = await backbone.classRows(used!.card.classes.map((c) => [c.name, ...c.synonyms]));
    const classifier = buildTextClassifier(classes.rows, backbone.embedDim, classes.synonymClass, categories.length);
    try {
      const inferences = await predictImageTensor(image, backbone, model, classifier, categories, ensembleAlpha);
      return (inferences.ensembled ?? inferences.model).panoptic;
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
      const signal = files.beginLoad('model');
      // Two tries: a link whose server is not there should say so in seconds, not after a minute of backoff.
      const fetchFile = async (url: string, role: string) => {
        try {
          return await files.fetchModelFile({ kind: 'url', url }, role, signal, onProgress, { maxAttempts: 2 });
        } catch (e) {
          if (e instanceof DearliError && e.code === 'download-cancelled') throw e;
          throw new DearliError(
            'share-unreachable',
            `${url} could not be downloaded (${e instanceof DearliError ? e.problem : (e as Error).message})`,
            'Check the link, and that its server is up and allows cross-origin requests (CORS).',
            url,
          );
        }
      };
      const cardFile = await fetchFile(parsed.cardUrl, 'model card');
      await checkModelCard({
        cardText: await cardTextOf(cardFile.blob, parsed.cardUrl),
        cardFrom: parsed.cardUrl,
        expectedCardSha256: parsed.cardSha256,
        labVersion: LAB_VERSION,
      });
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

    usedModel: async () => (used ? usedView(used) : null),

    segmentImages: async (images, ensembleAlpha) => {
      checkEnsembleAlpha(ensembleAlpha);
      const { card } = requireUsed();
      const backbone = await backboneFor(card, () => {});
      const categories = cardCategories(card);
      const out: SegmentedImage[] = [];
      for (const file of images) {
        const { rgba, width, height } = await decode(file, file.name);
        const image = rgbTensor(rgba, width, height);
        const result = await segmentOne(backbone, image, categories, ensembleAlpha).finally(() => image.dispose());
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
            score: s.score,
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

    predictionClasses: async (datasetId) =>
      matchClasses(requireUsed().card.classes, (await requireDataset(db, datasetId)).categories),

    exportPredictions: async (datasetId, ensembleAlpha, byName = false) => {
      checkEnsembleAlpha(ensembleAlpha);
      const { card } = requireUsed();
      const dataset = await requireDataset(db, datasetId);
      const match = byName ? matchClasses(card.classes, dataset.categories) : null;
      const backbone = await backboneFor(card, () => {});
      const categories = cardCategories(card);
      async function* predictions(): AsyncGenerator<PanopticPrediction> {
        for await (const rec of datasetImages(db, [dataset])) {
          const { rgba, width, height } = await decode(rec.blob, rec.fileName);
          const image = rgbTensor(rgba, width, height);
          const result = await segmentOne(backbone, image, categories, ensembleAlpha).finally(() => image.dispose());
          // The dataset's own image_id, so the predictions pair with its annotation file.
          const prediction: PanopticPrediction = {
            imageId: rec.sourceImageId ?? rec.id,
            imageFile: rec.fileName,
            width,
            height,
            ids: Uint32Array.from(result.idMap),
            segments: result.segments.map((s) => ({ id: s.id, category_id: categories[s.category_id].id })),
          };
          yield match ? predictionByName(prediction, match) : prediction;
        }
      }
      return exportPanopticPredictions(predictions(), match ? dataset.categories : categories);
    },
  };

  return { api, dispose: () => used?.model.dispose() };
}
