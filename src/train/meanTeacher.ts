/**
 * The Mean Teacher's weights (fidelity-review §9.1, upstream `teacher.py:452-492`): a second decoder
 * with no optimizer, updated after every student step from the updated student as
 * θ_T ← γ·θ_T + (1 − γ)·θ_S over all parameters. Like AdamW (optim.ts), the update runs once over
 * the flat parameter vector instead of once per parameter.
 */
import * as tf from '@tensorflow/tfjs';
import { M2FLang } from '../models/decoder/m2fLang';

/**
 * γ per step. 'constant' (DEARLi: the teacher starts from DeWa weights) uses γ from step 0;
 * 'ramp' (DEAR: teacher = copy of a fresh student) uses γ_t = min(1 − 1/(t+1), γ), so γ₀ = 0.
 */
export interface EmaSchedule {
  kind: 'constant' | 'ramp';
  /** Upstream SEMI_SUPERVISED.EMA_DECAY 0.999. */
  decay: number;
}

export const UPSTREAM_EMA_DECAY = 0.999;

/** γ for the update after 0-based step t. */
export function emaDecay(schedule: EmaSchedule, t: number): number {
  return schedule.kind === 'constant' ? schedule.decay : Math.min(1 - 1 / (t + 1), schedule.decay);
}

export class MeanTeacher {
  /** The teacher decoder (forward only). */
  readonly model: M2FLang;
  private readonly names: string[];
  private readonly sizes: number[];

  /** A teacher with the student's current weights (a deep copy, as upstream's initialisation). */
  constructor(student: M2FLang) {
    this.model = new M2FLang(student.config, 1);
    this.names = [...this.model.variables.keys()];
    this.sizes = this.names.map((n) => this.model.variables.get(n)!.size);
    this.copyFrom(student);
  }

  copyFrom(student: M2FLang): void {
    for (const n of this.names) this.model.params.get(n).assign(student.params.get(n));
  }

  /** θ_T ← γ·θ_T + (1 − γ)·θ_S. */
  update(student: M2FLang, decay: number): void {
    tf.tidy(() => {
      const flat = (m: M2FLang) => tf.concat(this.names.map((n) => tf.reshape(m.params.get(n), [-1])));
      const mixed = tf.add(tf.mul(flat(this.model), decay), tf.mul(flat(student), 1 - decay));
      tf.split(mixed, this.sizes).forEach((t, i) => {
        const v = this.model.params.get(this.names[i]);
        v.assign(tf.reshape(t, v.shape));
      });
    });
  }

  dispose(): void {
    this.model.dispose();
  }
}
