/**
 * The data layer's public API: import (plan, then commit), the IndexedDB store, mask decoding and
 * the demo world. Everything here runs in a Web Worker (IndexedDB, Blobs, no DOM) and in Node
 * tests; nothing imports tfjs, React or workers.
 *
 * Typical use in the pipeline worker:
 *   const db = await openStore();                       // also sweeps crashed imports
 *   const plan = await planImport(files, { onProgress }); // files: { path, file }[], .zip allowed
 *   post(summarizePlan(plan));                            // show layout, counts, notices, errors
 *   const dataset = await commitImport(db, plan, { name, role }, { signal, onProgress });
 *   // or, one dataset per split of a drop (COCO train + val):
 *   const set = await planImports(files, { onProgress });
 *   const datasets = await commitImports(db, set, set.splits.map((s) => ({ name: s.suggestedName, role: s.suggestedRole })));
 */
export type {
  DatasetRole,
  LayoutKind,
  ImageType,
  ImportFile,
  LazyFile,
  ImportPlan,
  ImportPlanSet,
  ImportPlanSummary,
  ImportProgress,
  PlannedImage,
  PlannedMask,
} from './types';

export { planImport, planImports, commitImport, commitImports, summarizePlan, type PlanOptions, type CommitOptions, type CommitControl } from './import';
export { filesFromZip } from './files';

export {
  DB_NAME,
  openStore,
  sweepUncommitted,
  listDatasets,
  getDataset,
  renameDataset,
  deleteDataset,
  listImages,
  getImage,
  countImages,
  storageEstimate,
  requestPersistence,
  putSamMasks,
  getSamMasks,
  countSamMasks,
  deleteSamMasks,
  putFeature,
  getFeature,
  deleteFeature,
  listFeatureKeys,
  putRun,
  getRun,
  listRuns,
  deleteRun,
  putCheckpoint,
  getCheckpoint,
  listCheckpoints,
  deleteCheckpoint,
  putModel,
  getModel,
  listModels,
  deleteModel,
  type DearliDB,
  type DatasetRecord,
  type ImageRecord,
  type StoredMask,
  type SamMaskSource,
  type SamMaskRecord,
  type FeatureRecord,
  type RunRecord,
  type CheckpointRecord,
  type ModelRecord,
  type StorageEstimate,
} from './store';

export { decodeMaskPng, encodeIdPng, encodeRgbPng, probeImage, checkImageIntegrity, sniffImageType, type ImageProbe } from './decode';
export { measureSegments, type SegmentMeasure } from './validate';
export { MAX_IMAGE_SIDE } from './problems';
export { SIMPLE_LABEL_DIVISOR } from './layouts/simple';

export { DEMO_CATEGORIES, generateDemoImage, type DemoImage } from './demo/world';
export {
  DEMO_DEFAULTS,
  DEMO_ROOT,
  DEMO_SPLITS,
  generateDemoDataset,
  iterateDemoSplit,
  demoDatasetName,
  demoSplitEntries,
  demoAsCocoFiles,
  importDemoDatasets,
  type DemoOptions,
  type DemoDataset,
  type DemoSplitData,
  type DemoRecord,
  type DemoSplit,
  type DemoImportProgress,
} from './demo/dataset';
