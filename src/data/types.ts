/** Types shared by the data layer's import, store and demo modules. */
import type { Category, SegmentInfo } from '../core/panoptic';
import type { UserMessage } from '../core/errors';

export type DatasetRole = 'labeled' | 'unlabeled' | 'validation';

export type LayoutKind = 'coco-panoptic' | 'simple' | 'unlabeled';

export type ImageType = 'png' | 'jpeg' | 'webp';

/**
 * Bytes that are only produced when asked for: a compressed zip entry is inflated when read, so
 * a plan over a large archive holds no file contents.
 */
export interface LazyFile {
  readonly size: number;
  read(): Promise<Blob>;
}

/** One file the user gave, with its path relative to what was dropped ('mydata/images/a.jpg'). */
export interface ImportFile {
  path: string;
  file: Blob | LazyFile;
}

/** The mask of a labeled image, already decoded once during planning to validate it. */
interface PlannedMask {
  path: string;
  source: Blob | LazyFile;
  /** Segments present in the mask, with area and bbox measured from its pixels. */
  segments: SegmentInfo[];
  /** Already 8-bit RGB(A); palette and greyscale masks are stored re-encoded as RGB. */
  canonical: boolean;
}

export interface PlannedImage {
  path: string;
  /** Name stored with the image: its path below the dataset's root folder. */
  fileName: string;
  source: Blob | LazyFile;
  type: ImageType;
  width: number;
  height: number;
  bytes: number;
  /** The image id of the annotation file (COCO), kept so exports can reproduce it. */
  sourceImageId?: number | string;
  mask?: PlannedMask;
}

/**
 * What an import would do, shown to the user before anything is written. `errors` block the
 * commit; `notices` only inform. Messages are plain objects so the summary can cross a worker
 * boundary; `images` stays where the plan was made (it holds the files).
 */
export interface ImportPlan {
  layout: LayoutKind;
  suggestedName: string;
  suggestedRole: DatasetRole;
  imageCount: number;
  labeledCount: number;
  bytes: number;
  categories: Category[];
  /** The panoptic JSON used (COCO layout) and every candidate found, when there were several. */
  annotationFile?: string;
  annotationFiles: string[];
  notices: UserMessage[];
  errors: UserMessage[];
  images: PlannedImage[];
}

/**
 * What one drop would import: a dataset per split found (a COCO folder with train and val JSONs
 * has two). `errors` and `notices` concern the drop as a whole (an unreadable zip or JSON, files
 * given twice, skipped files); each split also has its own.
 */
export interface ImportPlanSet {
  splits: ImportPlan[];
  notices: UserMessage[];
  errors: UserMessage[];
}

/** The part of a plan the UI shows: everything but the files. */
export type ImportPlanSummary = Omit<ImportPlan, 'images'>;

export interface ImportProgress {
  done: number;
  total: number;
  bytes: number;
  filesPerSecond: number;
  etaSeconds: number;
}
