/**
 * Mean Teacher state: the student's decoder checkpoint (checkpoint.ts: weights, AdamW moments,
 * iteration, point-sampling RNG) carrying this stage's own JSON (augmentation RNG, α history), and
 * the teacher's weights in a second safetensors file. Restoring both gives a bit-exact resume.
 */
import { DearliError } from '../core/errors';
import { Rng, type RngState } from '../core/rng';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from '../models/weights/safetensors';
import { readCheckpointMeta, restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { ALPHA_SOURCES, storedAlphaChange, type AlphaChange, type MeanTeacherTrainer } from './meanTeacherTrainer';

const TEACHER_FORMAT = 'dearli-mean-teacher/1';

export interface MeanTeacherCheckpoint {
  /** checkpoint.ts format; extra.meanTeacher holds MeanTeacherExtra. */
  student: Uint8Array;
  /** Teacher parameters by name (F32), metadata.dearli = { format, config }. */
  teacher: Uint8Array;
}

interface MeanTeacherExtra {
  rngState: RngState;
  alphaHistory: AlphaChange[];
}

/** Reads every variable back once: call at pauses, not per step. */
export async function saveMeanTeacher(trainer: MeanTeacherTrainer): Promise<MeanTeacherCheckpoint> {
  const extra: MeanTeacherExtra = {
    rngState: trainer.rng.state,
    alphaHistory: trainer.alphaHistory.map((c) => ({ ...c })),
  };
  const student = await saveCheckpoint(trainer.student, { stage: 'mean-teacher', meanTeacher: extra });
  const tensors: Record<string, TensorToWrite> = {};
  for (const [name, v] of trainer.teacher.model.variables)
    tensors[name] = { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array };
  const teacher = writeSafetensors(tensors, {
    dearli: JSON.stringify({ format: TEACHER_FORMAT, config: trainer.teacher.model.config }),
  });
  return { student, teacher };
}

const corrupt = (what: string): never => {
  throw new DearliError(
    'mean-teacher-checkpoint',
    `the Mean Teacher checkpoint is unusable: ${what}`,
    'Start the Mean Teacher stage again from its DeWa weights.',
    'mean-teacher checkpoint',
  );
};

function parseExtra(extra: Record<string, unknown> | undefined): MeanTeacherExtra {
  const mt = extra?.meanTeacher as Partial<MeanTeacherExtra> | undefined;
  const state = mt?.rngState;
  if (!Array.isArray(state) || state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32))
    return corrupt('its RNG state is missing or malformed');
  const history = mt?.alphaHistory;
  if (
    !Array.isArray(history) ||
    history.length === 0 ||
    !history.every(
      (c) =>
        Number.isInteger(c?.iteration) &&
        c.alpha >= 0 &&
        c.alpha <= 1 &&
        (c.source === undefined || (c.source as string) === 'manual' || ALPHA_SOURCES.includes(c.source)),
    )
  )
    return corrupt('its α history is missing or malformed');
  return {
    rngState: state as RngState,
    alphaHistory: history.map(storedAlphaChange),
  };
}

function parseTeacherMeta(raw: string | undefined): { format?: string; config?: unknown } | null {
  try {
    return JSON.parse(raw ?? 'null') as { format?: string; config?: unknown } | null;
  } catch {
    return corrupt("the teacher file's metadata is not JSON");
  }
}

/** Loads a checkpoint into a trainer built with the same decoder config. */
export async function restoreMeanTeacher(
  trainer: MeanTeacherTrainer,
  checkpoint: MeanTeacherCheckpoint,
): Promise<void> {
  const file = await SafetensorsFile.open(new Blob([checkpoint.teacher as BlobPart]), 'teacher.safetensors');
  const meta = parseTeacherMeta(file.metadata.dearli);
  if (meta?.format !== TEACHER_FORMAT) corrupt('the teacher file is not a DEARLi teacher');
  if (JSON.stringify(meta!.config) !== JSON.stringify(trainer.teacher.model.config))
    corrupt(`the teacher was trained with decoder config ${JSON.stringify(meta!.config)}`);
  const values = new Map<string, Float32Array>();
  for (const name of trainer.teacher.model.variables.keys()) {
    if (!file.names.includes(name)) corrupt(`the teacher lacks parameter "${name}"`);
    values.set(name, (await file.read(name)).data as Float32Array);
  }
  // Everything is checked before anything is assigned.
  const extra = parseExtra(
    (
      await readCheckpointMeta(
        await SafetensorsFile.open(new Blob([checkpoint.student as BlobPart]), 'student.safetensors'),
      )
    ).extra,
  );
  await restoreCheckpoint(trainer.student, checkpoint.student);
  trainer.teacher.model.params.assign(values);
  trainer.rng = new Rng(extra.rngState);
  trainer.alphaHistory = extra.alphaHistory;
}
