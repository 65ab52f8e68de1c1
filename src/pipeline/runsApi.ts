/** The runs part of the pipeline API: every training run kept, listed, opened, renamed and deleted. */
import type { RunStatus, RunView, TrainingKind } from './trainingApi';

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
  updatedAt: number;
}

export interface RunsApi {
  /** Every stored training run, the most recently updated first. */
  listTrainingRuns(): Promise<RunSummary[]>;
  /** One run's full view (curves, evaluations), to show it and resume it. */
  trainingRun(runId: string): Promise<RunView>;
  renameTrainingRun(runId: string, name: string): Promise<void>;
  deleteTrainingRun(runId: string): Promise<void>;
}
