/** The runs part of the pipeline API: every training run kept, listed, opened, renamed and deleted. */
import type { QualityFigures, RunStatus, RunView, TrainingKind } from './trainingApi';

export interface RunSummary {
  id: string;
  /** The user's name, or one made from the stage and preset. */
  name: string;
  kind: TrainingKind;
  preset: string;
  /** Names of the training datasets (a deleted one reads "deleted dataset"). */
  datasets: string[];
  status: RunStatus;
  iteration: number;
  totalIterations: number;
  /** Fractions 0..1; null before the first validation. */
  lastPq: number | null;
  bestPq: number | null;
  /** DeWa runs validate by class-agnostic mask recall, not PQ: AR fractions 0..1; null otherwise or before the first. */
  lastAr: number | null;
  bestAr: number | null;
  updatedAt: number;
}

/** Runs side by side: their validation PQ on one iteration axis, and each one's final figures. */
export interface RunComparison {
  /** Every iteration any of the runs was validated at, ascending. */
  iterations: number[];
  runs: {
    id: string;
    name: string;
    kind: TrainingKind;
    /** PQ (0..1) at each of `iterations`; null where this run was not validated. */
    pq: (number | null)[];
    /** The run's last validation as it stored it (Mean Teacher: the student's), with its iteration; null if never validated. */
    final: (QualityFigures & { iteration: number }) | null;
  }[];
}

export interface RunsApi {
  /** Every stored training run, the most recently updated first. */
  listTrainingRuns(): Promise<RunSummary[]>;
  /** One run's full view (curves, evaluations), to show it and resume it. */
  trainingRun(runId: string): Promise<RunView>;
  renameTrainingRun(runId: string, name: string): Promise<void>;
  deleteTrainingRun(runId: string): Promise<void>;
  /** Stored runs in the order given, side by side (from the evaluations each run stored). */
  compareTrainingRuns(runIds: string[]): Promise<RunComparison>;
}
