/** The training part of the pipeline API: decoder stages (supervised, DeWa, Mean Teacher) with live curves. */
import type { UserMessage } from '../core/errors';
import type { AlphaChange } from '../train/meanTeacherTrainer';

export type TrainingKind = 'supervised' | 'dewa' | 'meanTeacher';

export interface TrainingConfig {
  kind: TrainingKind;
  /** Decoder preset (src/models/decoder/config.ts); the backbone fixes which presets fit. */
  preset: string;
  /** Training crop side in pixels. */
  cropSize: number;
  /** Labeled dataset (supervised) or the datasets whose SAM masks drive DeWa. */
  trainDatasetIds: string[];
  /** A labeled dataset: PQ for supervised and Mean Teacher runs, class-agnostic mask recall for DeWa. */
  validationDatasetId: string | null;
  iterations: number;
  batchSize: number;
  /** Validation every this many iterations (0: only at the end). */
  evalEvery: number;
  /** Validation images used per evaluation (the first ones of the dataset). */
  validationImages: number;
  learningRate: number;
  seed: number;
  /** Mean Teacher: the unlabeled datasets (trainDatasetIds are the labeled ones). */
  unlabeledDatasetIds?: string[];
  /** Mean Teacher: a finished DeWa run whose weights start student and teacher (DEARLi, constant γ); null from scratch (DEAR, γ ramp). */
  dewaRunId?: string | null;
  /** Mean Teacher: P_MT's weight in P_ENS at the start (default 0.6: upstream's 0.4 on CLIP). */
  alpha?: number;
  /** Mean Teacher: the EMA decay γ (default upstream's 0.999; a lower one is a deviation for short runs). */
  emaDecay?: number;
  /** Mean Teacher, beyond the paper: every `every` iterations sweep α over the validation images with the teacher and use its best (absent or null: off, α stays as set). */
  adaptiveAlpha?: { every: number } | null;
  /** Test-time ensembling with CLIP in evaluation (review §5b): P_MT's weight α, null for off; absent = on at UPSTREAM_ENSEMBLE_ALPHA. */
  testTimeEnsembleAlpha?: number | null;
}

export interface LossPoint {
  iteration: number;
  total: number;
  classLoss: number;
  maskLoss: number;
  diceLoss: number;
  learningRate: number;
  iterationsPerSecond: number;
  /** Mean Teacher: the total of the labeled term and of the pseudo-labeled term, and the α used. */
  supervised?: number;
  unlabeled?: number;
  alpha?: number;
}

/** Fractions 0..1 as the evaluators report them. */
export interface QualityFigures {
  pq: number;
  sq: number;
  rq: number;
  pqThings: number;
  pqStuff: number;
  miou: number;
}

export interface EvalPoint extends QualityFigures {
  iteration: number;
  images: number;
  /** The same forward with test-time ensembling (student ⊗ CLIP, weight 1 − α on CLIP); absent when off. */
  ensembled?: QualityFigures & { alpha: number };
  /** PQ/SQ/RQ per category of the run's classes, in category order (zeros where a class never occurred). */
  perClass?: ClassScores[];
}

/** DeWa's validation: its masks as class-agnostic proposals against the validation split's segments (src/core/maskRecall.ts). */
export interface MaskRecallPoint {
  iteration: number;
  images: number;
  /** Ground-truth masks (segments) scored. */
  masks: number;
  /** AR: recall averaged over IoU 0.50:0.05:0.95 (fraction). */
  averageRecall: number;
  /** Recall at each IoU threshold 0.50, 0.55, …, 0.95. */
  recall: number[];
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
  /** The student's validation (the trained model's for other kinds). */
  evals: EvalPoint[];
  /** DeWa: class-agnostic mask recall and AR on the validation split, in place of PQ. */
  recallEvals?: MaskRecallPoint[];
  /** Mean Teacher: the teacher's validation at the same iterations. */
  teacherEvals?: EvalPoint[];
  /**
   * Mean Teacher: per iteration (index = iteration − 1), the mean number of segments in the teacher's
   * pseudo-labels of the unlabeled images; 0 means the unlabeled loss taught "no object" to every query.
   */
  pseudoLabelSegments?: number[];
  /** Mean Teacher: every α the run used, from the iteration it applied. */
  alphaHistory?: AlphaChange[];
  /** Mean Teacher: the α asked for, applied from the next iteration. */
  requestedAlpha?: number;
  /** Where the requested α came from: the slider, or the best α of a sweep. */
  requestedAlphaSource?: 'slider' | 'sweep';
  /** ms per iteration split by phase, averaged over the last steps. */
  timings: {
    forwardAndReadbackMs: number;
    matchingMs: number;
    lossAndUpdateMs: number;
    dataMs: number;
    /** Mean Teacher: P_ENS and panoptic inference on the host. */ pseudoLabelsMs?: number;
  } | null;
  error: UserMessage | null;
}

export interface PresetView {
  name: string;
  parameterCount: number;
  /** Rough GPU memory for training at the given batch (weights, moments, activations). */
  estimatedMemoryBytes: number;
  cropSize: number;
  /** What a new run with this preset starts from, for the chosen training images (src/pipeline/presetDefaults.ts). */
  proposed: ProposedSettings;
}

export interface ProposedSettings {
  learningRate: number;
  cropSize: number;
  iterations: number;
  /** "Run DEARLi": its DeWa warm-up and Mean Teacher (which runs `iterations`; crop and learning rate apply to both). */
  dearli: DearliProposal;
}

export interface DearliProposal {
  dewaIterations: number;
  /** The constant EMA decay γ of Mean Teacher started from DeWa's weights. */
  emaDecay: number;
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

export interface AlphaSweepView {
  runId: string;
  /** The teacher's iteration the sweep ran on. */
  iteration: number;
  images: number;
  /** PQ/SQ/RQ (fractions) of the ensembled teacher at α = 0, 0.1, …, 1; the best α (first on ties). */
  points: { alpha: number; pq: number; sq: number; rq: number }[];
  best: { alpha: number; pq: number; sq: number; rq: number };
}

export interface PseudoLabelStripView {
  alpha: number;
  /** Side of the weak views and overlays. */
  crop: number;
  /** How many times the teacher has run for this strip (unchanged when only α moved). */
  decoderRuns: number;
  /** RGBA, crop × crop: the weak view, and the hard pseudo-labels from P_MT, P_CLIP and P_ENS at α. */
  items: {
    imageId: string;
    fileName: string;
    weakView: Uint8ClampedArray;
    teacher: Uint8ClampedArray;
    clip: Uint8ClampedArray;
    ensemble: Uint8ClampedArray;
  }[];
}

export interface TrainingApi {
  /** The presets that fit the backbone, with what each proposes for the training images of `trainDatasetIds`. */
  trainingPresets(batchSize: number, trainDatasetIds?: string[]): Promise<{ backbone: string; presets: PresetView[] }>;
  startTraining(config: TrainingConfig): Promise<RunView>;
  pauseTraining(): Promise<void>;
  resumeTraining(runId: string): Promise<void>;
  /** The latest run (after a reload: as last saved, 'paused' if it was running). */
  latestRun(): Promise<RunView | null>;
  /** Calls back with the run's view after every step, evaluation and status change. */
  watchTraining(onUpdate: (view: RunView) => void): Promise<void>;
  /** The last validation's predictions of `runId` (stored with the run), or of the run trained last. */
  validationPredictions(limit: number, runId?: string): Promise<PredictionView[]>;
  /** Mean Teacher: α for the running (else the latest) run, from its next iteration; recorded in its history with its source (default the slider). */
  setAlpha(alpha: number, source?: 'slider' | 'sweep'): Promise<void>;
  /** Mean Teacher: the teacher (live, else the latest run's saved one) once over the validation images, then PQ(α) from that cache. */
  sweepAlpha(): Promise<AlphaSweepView>;
  /** Mean Teacher: the pseudo-label strip at α; the teacher runs only on the first call or with `refresh`, otherwise it re-ensembles its cached outputs. */
  pseudoLabelStrip(alpha: number, options: { count: number; refresh: boolean }): Promise<PseudoLabelStripView>;
}
