/** The training part of the pipeline API: decoder stages (supervised, DeWa) with live curves. */
import type { UserMessage } from '../core/errors';

export type TrainingKind = 'supervised' | 'dewa';

export interface TrainingConfig {
  kind: TrainingKind;
  /** Decoder preset (src/models/decoder/config.ts); the backbone fixes which presets fit. */
  preset: string;
  /** Training crop side in pixels. */
  cropSize: number;
  /** Labeled dataset (supervised) or the datasets whose SAM masks drive DeWa. */
  trainDatasetIds: string[];
  validationDatasetId: string | null;
  iterations: number;
  batchSize: number;
  /** Validation every this many iterations (0: only at the end). */
  evalEvery: number;
  /** Validation images used per evaluation (the first ones of the dataset). */
  validationImages: number;
  learningRate: number;
  seed: number;
}

export interface LossPoint {
  iteration: number;
  total: number;
  classLoss: number;
  maskLoss: number;
  diceLoss: number;
  learningRate: number;
  iterationsPerSecond: number;
}

export interface EvalPoint {
  iteration: number;
  /** Fractions 0..1 as the evaluator reports them. */
  pq: number;
  sq: number;
  rq: number;
  pqThings: number;
  pqStuff: number;
  miou: number;
  images: number;
  /** PQ/SQ/RQ per category of the run's classes, in category order (zeros where a class never occurred). */
  perClass?: ClassScores[];
}

export interface ClassScores {
  name: string;
  isthing: boolean;
  pq: number;
  sq: number;
  rq: number;
}

export type RunStatus = 'running' | 'paused' | 'finished' | 'failed';

export interface RunView {
  id: string;
  /** The user's name for the run (runs list); absent until renamed. */
  name?: string;
  config: TrainingConfig;
  status: RunStatus;
  iteration: number;
  totalIterations: number;
  backbone: string;
  /**
   * The names the run's text classifier was built from, per class in category order (class name
   * first, then synonyms): the user's names when the run started, kept on resume.
   */
  classNames: string[][];
  parameterCount: number;
  losses: LossPoint[];
  evals: EvalPoint[];
  /** ms per iteration split by phase, averaged over the last steps. */
  timings: { forwardAndReadbackMs: number; matchingMs: number; lossAndUpdateMs: number; dataMs: number } | null;
  error: UserMessage | null;
}

export interface PresetView {
  name: string;
  parameterCount: number;
  /** Rough GPU memory for training at the given batch (weights, moments, activations). */
  estimatedMemoryBytes: number;
  cropSize: number;
  /** What a new run with this preset starts from (src/pipeline/presetDefaults.ts). */
  proposed: ProposedSettings;
}

export interface ProposedSettings {
  learningRate: number;
  cropSize: number;
  iterations: number;
}

export interface PredictionView {
  imageId: string;
  fileName: string;
  width: number;
  height: number;
  image: Blob;
  /** RGBA overlays at the image size: ground truth and prediction. */
  groundTruth: Uint8ClampedArray | null;
  prediction: Uint8ClampedArray;
  segments: { id: number; name: string; isthing: boolean }[];
}

export interface TrainingApi {
  trainingPresets(batchSize: number): Promise<{ backbone: string; presets: PresetView[] }>;
  startTraining(config: TrainingConfig): Promise<RunView>;
  pauseTraining(): Promise<void>;
  resumeTraining(runId: string): Promise<void>;
  /** The latest run (after a reload: as last saved, 'paused' if it was running). */
  latestRun(): Promise<RunView | null>;
  /** Calls back with the run's view after every step, evaluation and status change. */
  watchTraining(onUpdate: (view: RunView) => void): Promise<void>;
  /** The last validation's predictions of `runId` (stored with the run), or of the run trained last. */
  validationPredictions(limit: number, runId?: string): Promise<PredictionView[]>;
}
