/** The datasets part of the session's API: import, list, inspect, rename, delete. */
import type { UserMessage } from '../core/errors';

import type { DatasetRole, ImportProgress } from '../data/types';

export type { UserMessage, DatasetRole, ImportProgress };

/** A file the user dropped or picked, with its path relative to what was dropped ("folder/sub/a.png"). */
export interface DroppedFile {
  path: string;
  file: File;
}

export interface ImportPreview {
  planId: string;
  layout: string;
  imageCount: number;
  labeledCount: number;
  categories: { id: number; name: string; isthing: boolean }[];
  notices: UserMessage[];
  errors: UserMessage[];
  suggestedName: string;
  suggestedRole: DatasetRole;
}

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

export interface StorageInfo {
  usage: number;
  quota: number;
}

export interface DatasetApi {
  planImport(files: DroppedFile[]): Promise<ImportPreview>;
  commitImport(planId: string, options: { name: string; role: DatasetRole }, onProgress: (p: ImportProgress) => void): Promise<DatasetSummary>;
  cancelImport(): Promise<void>;
  /** On first run, generates the demo world and imports it like user data; null when datasets exist already. */
  ensureDemoDatasets(onProgress: (p: ImportProgress & { stage: string }) => void): Promise<DatasetSummary[] | null>;
  listDatasets(): Promise<DatasetSummary[]>;
  renameDataset(id: string, name: string): Promise<void>;
  deleteDataset(id: string): Promise<void>;
  listImages(datasetId: string, offset: number, limit: number): Promise<ImageSummary[]>;
  getImageDetail(imageId: string): Promise<ImageDetail>;
  storageInfo(): Promise<StorageInfo>;
}
