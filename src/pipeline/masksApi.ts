/**
 * The masks half of the pipeline API: SAM weights (or the classical fallback), the class-agnostic
 * mask stage over datasets with pause/resume, import of SA-1B style mask files, and a viewer.
 */
import type { UserMessage } from '../core/errors';
import type { DroppedFile } from './datasetsApi';
import type { ConfigSource, FileSource, ModelCard, ModelDownloadProgress } from './modelsApi';

export interface SamLoadRequest {
  weights: FileSource;
  /** A preset, the config.json next to hub weights, or a config file (transformers or fixture format). */
  config: ConfigSource;
}

/** What generates masks now: SAM (with its card) or the Felzenszwalb fallback. */
export type MaskGeneratorInfo = { kind: 'sam'; card: ModelCard } | { kind: 'fallback'; description: string };

/** The user-tunable part of automatic mask generation (segment-anything's SamAutomaticMaskGenerator options). */
export interface MaskStageSettings {
  pointsPerSide: number;
  /** Prompts per decoder batch; 'auto' = as many as the GPU's buffer limits allow, at most upstream's 64. */
  pointsPerBatch: number | 'auto';
  predIouThresh: number;
  stabilityScoreThresh: number;
  boxNmsThresh: number;
  /** Crop layers beyond the whole image (layer i: (2^i)² crops, each encoded on its own). */
  cropNLayers: number;
  /** Crop overlap as a fraction of the image's short side. */
  cropOverlapRatio: number;
  /** NMS IoU threshold between masks of different crops. */
  cropNmsThresh: number;
  /** Layer i prompts pointsPerSide / factor^i points per side. */
  cropNPointsDownscaleFactor: number;
  /** Holes and islands smaller than this many pixels are removed (0 = off). */
  minMaskRegionArea: number;
}

/** segment-anything's automatic mask generator defaults, as DEARLi uses them (no crops, no region clean-up). */
export const DEFAULT_MASK_SETTINGS: MaskStageSettings = {
  pointsPerSide: 32,
  pointsPerBatch: 'auto',
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  boxNmsThresh: 0.7,
  cropNLayers: 0,
  cropOverlapRatio: 512 / 1500,
  cropNmsThresh: 0.7,
  cropNPointsDownscaleFactor: 1,
  minMaskRegionArea: 0,
};

export interface MaskStageProgress {
  done: number;
  total: number;
  imagesPerSecond: number;
  etaSeconds: number;
  /** Current image's file name. */
  current: string;
  generator: 'sam' | 'fallback';
  /** The points per batch SAM runs with ('auto' resolved); null for the fallback. */
  pointsPerBatch: number | null;
}

export interface MaskStageSummary {
  computed: number;
  /** Images whose masks were already stored with the same generator and settings (or imported). */
  skipped: number;
  paused: boolean;
  generator: 'sam' | 'fallback';
}

export interface DatasetMaskStats {
  datasetId: string;
  images: number;
  processed: number;
  bySource: { sam: number; fallback: number; imported: number };
}

export interface Sa1bImportResult {
  imported: number;
  /** Broken or unmatched files, each named. */
  problems: UserMessage[];
}

export interface MaskInfo {
  area: number;
  predictedIou: number | null;
  stabilityScore: number | null;
  color: [number, number, number];
}

export interface MaskView {
  imageId: string;
  fileName: string;
  width: number;
  height: number;
  image: Blob;
  source: 'sam' | 'fallback' | 'imported';
  count: number;
  /** RGBA overlay, every mask in its own random colour (small masks painted over large ones). */
  overlay: Uint8ClampedArray;
  /** Largest first, as listed in the overlay. */
  masks: MaskInfo[];
}

export interface MasksApi {
  loadSam(request: SamLoadRequest, onProgress: (p: ModelDownloadProgress) => void): Promise<ModelCard>;
  /** Drops SAM: the stage falls back to Felzenszwalb. */
  unloadSam(): Promise<void>;
  maskGenerator(): Promise<MaskGeneratorInfo>;
  /** Masks every image of the datasets that has none for the current generator and settings. */
  runMaskStage(
    datasetIds: string[],
    settings: MaskStageSettings,
    onProgress: (p: MaskStageProgress) => void,
  ): Promise<MaskStageSummary>;
  /** Stops after the current image; running the stage again resumes where it stopped. */
  pauseMaskStage(): Promise<void>;
  maskStats(datasetIds: string[]): Promise<DatasetMaskStats[]>;
  /** SA-1B style JSONs (one per image, matched by image file name) into a dataset's masks. */
  importSa1bMasks(datasetId: string, files: DroppedFile[]): Promise<Sa1bImportResult>;
  /** The stored masks of one image, or null when it has none. */
  getMaskView(imageId: string): Promise<MaskView | null>;
}
