/** The datasets part of the session's API: import, list, inspect, rename, delete. */
import type { UserMessage } from '../core/errors';

import type { DatasetRole, ImportProgress } from '../data/types';

export type { UserMessage, DatasetRole, ImportProgress };

/** A file the user dropped or picked, with its path relative to what was dropped ("folder/sub/a.png"). */
export interface DroppedFile {
  path: string;
  file: File;
}

/** One dataset a drop would make: a split of it (a COCO folder with train and val JSONs has two). */
interface ImportSplitPreview {
  layout: string;
  /** The panoptic JSON of this split (COCO layout). */
  annotationFile?: string;
  imageCount: number;
  labeledCount: number;
  categories: { id: number; name: string; isthing: boolean }[];
  notices: UserMessage[];
  errors: UserMessage[];
  suggestedName: string;
  suggestedRole: DatasetRole;
}

export interface ImportPreview {
  planId: string;
  splits: ImportSplitPreview[];
  /** Problems of the drop as a whole (unreadable zip or JSON, files given twice, skipped files). */
  notices: UserMessage[];
  errors: UserMessage[];
}

/** What to do with one split of a preview: import it under a name and role, or leave it out (null). */
export type ImportChoice = { name: string; role: DatasetRole } | null;

export interface DatasetSummary {
  id: string;
  name: string;
  role: DatasetRole;
  layout: string;
  imageCount: number;
  bytes: number;
  createdAt: number;
  categoryCount: number;
}

export interface ImageSummary {
  id: string;
  fileName: string;
  width: number;
  height: number;
  /** A small JPEG/PNG when the import could make one, else the original image. */
  thumbnail: Blob;
  labeled: boolean;
}

export interface SegmentView {
  id: number;
  categoryId: number;
  name: string;
  isthing: boolean;
  iscrowd: boolean;
  area: number;
  /** Share of the image's pixels, 0..1. */
  share: number;
  color: [number, number, number];
}

export interface ImageDetail {
  id: string;
  fileName: string;
  width: number;
  height: number;
  image: Blob;
  /** RGBA overlay (one colour per segment, void transparent) and the segment id of every pixel. */
  overlay: { rgba: Uint8ClampedArray; ids: Uint32Array } | null;
  segments: SegmentView[];
}

export interface DatasetApi {
  planImport(files: DroppedFile[]): Promise<ImportPreview>;
  /** Imports the chosen splits of a preview (one choice per split), all or none. */
  commitImport(
    planId: string,
    choices: ImportChoice[],
    onProgress: (p: ImportProgress) => void,
  ): Promise<DatasetSummary[]>;
  cancelImport(): Promise<void>;
  /** On first run, generates the demo world and imports it like user data; null when datasets exist already. */
  ensureDemoDatasets(onProgress: (p: ImportProgress & { stage: string }) => void): Promise<DatasetSummary[] | null>;
  listDatasets(): Promise<DatasetSummary[]>;
  renameDataset(id: string, name: string): Promise<void>;
  deleteDataset(id: string): Promise<void>;
  listImages(datasetId: string, offset: number, limit: number): Promise<ImageSummary[]>;
  getImageDetail(imageId: string): Promise<ImageDetail>;
}
