/** The Use part of the pipeline API: a shared or locally trained model, its bundle, and images segmented with it. */
import type { ModelCard } from './modelBundle';
import type { ModelDownloadProgress } from './modelsApi';

/** The three files of a bundle (and one zip of them), as the UI offers them for download. */
export interface BundleDownload {
  files: { path: string; content: Blob }[];
  zip: Blob;
  /** sha256 of model.json as exported (a share link for wherever it is hosted carries it). */
  cardSha256: string;
}

/** The model the Use view segments with. */
export interface UsedModelView {
  card: ModelCard;
  /** Where it came from: a run id, a dropped file name or the URL of model.json. */
  from: string;
  /** The α (P_MT's weight, 1 − α on CLIP) of the test-time ensemble the view starts with. */
  ensembleAlpha: number;
}

export interface SegmentedImage {
  fileName: string;
  width: number;
  height: number;
  image: Blob;
  /** RGBA at the image size in the segments' colours. */
  overlay: Uint8ClampedArray;
  segments: {
    id: number;
    /** The class the panoptic inference gave the segment. */
    name: string;
    isthing: boolean;
    /** That class's probability (the model's, or the ensemble's at the chosen α), as panoptic inference kept it. */
    score: number;
    color: [number, number, number];
    /** Pixels. */
    area: number;
  }[];
}

/** A model's classes against a dataset's categories (src/pipeline/classMatch.ts). */
export interface ClassMatch {
  /** Every model class is a dataset category with the same id and name, and the dataset has no other. */
  same: boolean;
  /** Model class → dataset category by name. */
  byName: { model: string; modelId: number; dataset: string; categoryId: number }[];
  /** Model classes no dataset category is named like: their segments are left out (void) when exporting by name. */
  unmatchedModel: string[];
  /** Dataset categories no model class is named like: the model never predicts them. */
  unmatchedDataset: string[];
}

/** A stored run whose saved weights the Use view can open, export or push. */
export interface UsableRun {
  id: string;
  label: string;
  updatedAt: number;
}

export interface UseApi {
  /** Runs with saved weights (finished or paused), newest first. */
  usableRuns(): Promise<UsableRun[]>;
  /** The bundle of a stored run (finished or paused: its last saved weights). */
  exportModelBundle(runId: string): Promise<BundleDownload>;
  /** Makes a stored run's model the one the Use view segments with. */
  useRunModel(runId: string): Promise<UsedModelView>;
  /** Dropped bundle files (model.json + model.safetensors, or one zip of them) → the model in use. */
  importModelBundle(files: File[]): Promise<UsedModelView>;
  /** A share link's card and weights through the weight cache, both sha256s verified → the model in use. */
  openSharedModel(link: string, onProgress: (p: ModelDownloadProgress) => void): Promise<UsedModelView>;
  usedModel(): Promise<UsedModelView | null>;
  /** Segments images with the model in use, alone (`ensembleAlpha` null) or ensembled with CLIP at test time (α on the model, 1 − α on CLIP). */
  segmentImages(files: File[], ensembleAlpha: number | null): Promise<SegmentedImage[]>;
  /** Pushes a run's bundle to a Hugging Face Hub model repository; returns the share link. The token is used for this call only. */
  pushToHub(
    runId: string,
    push: { repo: string; accessToken: string; labUrl: string; hubUrl?: string },
  ): Promise<{ link: string; cardUrl: string }>;
  /** `<lab URL>#model=…&sha256=…` for a model.json hosted at `cardUrl`. */
  shareLink(labUrl: string, cardUrl: string, cardSha256: string): Promise<string>;
  /** The model's classes against a dataset's categories: the same, or matched by name with what stays unmatched. */
  predictionClasses(datasetId: string): Promise<ClassMatch>;
  /** The model in use on every image of a dataset → COCO panoptic predictions zip; `byName`: in the dataset's categories, matched by name (unmatched classes void). */
  exportPredictions(datasetId: string, ensembleAlpha: number | null, byName?: boolean): Promise<Blob>;
}
