/**
 * The models half of the pipeline API: CLIP weights (hub, URL or dropped file) with their config and
 * tokenizer, the weight cache, class names → text embeddings, the CLIP feature stage and the
 * "zero-shot with ground-truth masks" evaluation. Everything crossing is structured-cloneable.
 */
import type { UserMessage } from '../core/errors';
import type { CachedFileInfo } from '../models/weights/cache';

/** Where one file (weights, config or tokenizer vocabulary) comes from. */
export type FileSource =
  /** `file` omitted: the repo's file list is asked from the hub and the best file is taken. */
  | { kind: 'hub'; repo: string; file?: string; revision?: string }
  /** `sha256`: the download (or a cached copy) must have it. */
  | { kind: 'url'; url: string; sha256?: string }
  | { kind: 'file'; file: File };

/** A model's architecture: a named preset, the config that sits next to hub weights, or a config file. */
export type ConfigSource = { kind: 'preset'; preset: string } | { kind: 'next-to-weights' } | FileSource;

export interface ClipLoadRequest {
  weights: FileSource;
  config: ConfigSource;
  /** The CLIP BPE vocabulary (hub repo tokenizer files, bpe_simple_vocab_16e6.txt.gz or tokenizer.json); null: image tower only. */
  tokenizer: FileSource | null;
  /** The card's name (the demo CLIP's); absent: the config's, else the hub repository's or the file's. */
  name?: string;
}

/** A file another browser can fetch: the hub or a URL, never a dropped file. */
export type RemoteFileSource = Exclude<FileSource, { kind: 'file' }>;

/** A CLIP load request with remote files only: what a model bundle names so another browser fetches the same CLIP. */
export interface RemoteClipRequest {
  weights: RemoteFileSource;
  config: { kind: 'preset'; preset: string } | { kind: 'next-to-weights' } | RemoteFileSource;
  tokenizer: RemoteFileSource | null;
}

export type ModelKind = 'clip' | 'sam';

export interface ModelCard {
  kind: ModelKind;
  /** Architecture name (e.g. convnext_base_w_320, slimsam-77). */
  name: string;
  fileName: string;
  parameters: number;
  bytes: number;
  /** Where the weights came from: a hub URL, any URL, or file:<name>. */
  source: string;
  sha256: string;
  /** Extra facts shown on the card (naming, towers, tokenizer). */
  details: string[];
  /** CLIP: how to fetch the same files again (the hub or URLs); absent when a file was dropped. */
  remote?: RemoteClipRequest;
}

/** A loaded model remembered across reloads: its card and the cache keys of its files. */
export interface SavedModel {
  id: string;
  card: ModelCard;
  /** Every file it needs is still in the browser cache (it loads without network). */
  available: boolean;
  savedAt: number;
}

/** A file in the browser's weight cache, as the cache lists it. */
export type CachedFileSummary = CachedFileInfo;

export interface ModelDownloadProgress {
  /** Which file: "weights", "config", "tokenizer", or "loading" while tensors are read. */
  stage: string;
  fileName: string;
  receivedBytes: number;
  totalBytes: number | null;
  megabytesPerSecond: number;
  etaSeconds: number | null;
}

export interface StageProgress {
  done: number;
  total: number;
  /** Items per second. */
  rate: number;
  etaSeconds: number;
  label: string;
}

/** One class of a dataset for the text classifier: the first name is the class name, the rest synonyms. */
export interface ClassNames {
  id: number;
  isthing: boolean;
  names: string[];
}

export interface TextEmbeddingSummary {
  classes: number;
  /** One row per synonym. */
  rows: number;
  dims: number;
  templates: number;
}

export interface FeatureStageSummary {
  computed: number;
  reused: number;
  /** Input side the images were resized to; the cached res5 maps are side/32 square. */
  side: number;
  grid: [number, number];
  channels: number;
}

export interface ZeroShotClassRow {
  id: number;
  name: string;
  isthing: boolean;
  /** Percent, 0..100. */
  pq: number;
  sq: number;
  rq: number;
  gtSegments: number;
  /** GT segments whose mask-pooled CLIP embedding was given their own class. */
  correctSegments: number;
}

export interface ZeroShotReport {
  datasetId: string;
  datasetName: string;
  modelName: string;
  modelSha256: string;
  images: number;
  segments: number;
  /** Which evaluator produced the numbers. */
  evaluator: string;
  all: { pq: number; sq: number; rq: number; n: number };
  things: { pq: number; sq: number; rq: number; n: number };
  stuff: { pq: number; sq: number; rq: number; n: number };
  miou: number;
  perClass: ZeroShotClassRow[];
  createdAt: number;
}

/** What a load brings in: one of each kind may run at once (a share link opened while the start-up CLIP loads cancels neither). */
export type LoadKind = 'clip' | 'sam' | 'model';

export interface ModelsApi {
  /** Downloads (or takes from the cache) the files and builds CLIP in the worker; cancellable. */
  loadClip(request: ClipLoadRequest, onProgress: (p: ModelDownloadProgress) => void): Promise<ModelCard>;
  /** Cancels the running download or load of that kind (CLIP, SAM, or a model the Use view opens). */
  cancelModelLoad(kind: LoadKind): Promise<void>;
  /** The CLIP model loaded in the worker now, or null. */
  currentClip(): Promise<ModelCard | null>;
  /** Unloads CLIP; a reload then loads none. */
  unloadClip(): Promise<void>;
  /**
   * At page start: loads the CLIP this browser loaded last (from the cache only), none after Unload,
   * and `fallback` (the demo CLIP) when no choice was ever made. Null when none is loaded.
   */
  restoreClip(fallback: ClipLoadRequest, onProgress: (p: ModelDownloadProgress) => void): Promise<ModelCard | null>;
  /** Models loaded before (CLIP and SAM), newest first. */
  listSavedModels(): Promise<SavedModel[]>;
  /** Loads a saved model from the browser cache only (no network). */
  loadSavedModel(id: string, onProgress: (p: ModelDownloadProgress) => void): Promise<ModelCard>;
  /** Frees a saved model: its cached files and its record (and unloads it if loaded). */
  freeSavedModel(id: string): Promise<void>;
  listCachedFiles(): Promise<CachedFileSummary[]>;
  freeCachedFile(key: string): Promise<void>;

  /**
   * Class names with synonyms for a dataset: the user's edits, else the dataset's categories. Zero-shot
   * evaluation and new supervised training runs use them (a run keeps the names it started with).
   */
  getClassNames(datasetId: string): Promise<ClassNames[]>;
  /** Stores edited names and, when CLIP is loaded, recomputes the text embeddings. */
  setClassNames(datasetId: string, classes: ClassNames[]): Promise<TextEmbeddingSummary | null>;
  textEmbeddings(datasetId: string): Promise<TextEmbeddingSummary>;

  /** Runs the CLIP image tower over a dataset and caches the dense res5 maps (see README, Design). */
  runFeatureStage(datasetId: string, onProgress: (p: StageProgress) => void): Promise<FeatureStageSummary>;
  cancelStage(): Promise<void>;
  /** Classifies every GT segment of a labeled dataset by mask pooling and scores it with src/core/pq.ts. */
  evaluateZeroShot(datasetId: string, onProgress: (p: StageProgress) => void): Promise<ZeroShotReport>;
  /** The last zero-shot report of a dataset, kept across reloads. */
  lastZeroShotReport(datasetId: string): Promise<ZeroShotReport | null>;
}

export type { UserMessage };
