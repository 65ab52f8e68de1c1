import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupTestBackend } from '../../test/backend';
import { decoderPreset } from '../models/decoder/config';
import { M2FLang } from '../models/decoder/m2fLang';
import { emaDecay, MeanTeacher, UPSTREAM_EMA_DECAY } from './meanTeacher';

beforeAll(async () => {
  await setupTestBackend();
});

describe('Mean Teacher EMA', () => {
  it('constant γ (DEARLi) and the ramp min(1 − 1/(t+1), γ) (DEAR)', () => {
    const constant = { kind: 'constant', decay: UPSTREAM_EMA_DECAY } as const;
    const ramp = { kind: 'ramp', decay: UPSTREAM_EMA_DECAY } as const;
    expect([0, 1, 500, 80000].map((t) => emaDecay(constant, t))).toEqual([0.999, 0.999, 0.999, 0.999]);
    // t = 0: 0 (teacher := student); t = 1: 1/2; t = 3: 3/4; t = 998: 998/999 < 0.999; t = 999: 999/1000 = 0.999; then capped.
    expect(emaDecay(ramp, 0)).toBe(0);
    expect(emaDecay(ramp, 1)).toBe(0.5);
    expect(emaDecay(ramp, 3)).toBe(0.75);
    expect(emaDecay(ramp, 998)).toBeCloseTo(998 / 999, 15);
    expect(emaDecay(ramp, 999)).toBeCloseTo(0.999, 15);
    expect(emaDecay(ramp, 5000)).toBe(0.999);
    expect(emaDecay({ kind: 'ramp', decay: 0.9 }, 20)).toBe(0.9);
  });

  it('θ_T ← γθ_T + (1 − γ)θ_S on every parameter, starting from a copy of the student', async () => {
    const config = decoderPreset('tiny', { numQueries: 4, decoderLayers: 1, cropSize: 32, trainPoints: 16 });
    const student = new M2FLang(config, 3);
    const mt = new MeanTeacher(student);
    const names = [...student.variables.keys()];
    for (const n of names) expect(await mt.model.params.get(n).data()).toEqual(await student.params.get(n).data());
    // Hand values on two parameters: teacher 1, student 3 → γ = 0.75: 1.5; then student −1, γ = 0.5: 0.25.
    const [a, b] = names;
    const setAll = (m: M2FLang, name: string, value: number) =>
      tf.tidy(() => m.params.get(name).assign(tf.fill(m.params.get(name).shape, value)));
    setAll(mt.model, a, 1);
    setAll(student, a, 3);
    setAll(mt.model, b, -2);
    setAll(student, b, 2);
    mt.update(student, 0.75);
    expect(new Set(await mt.model.params.get(a).data())).toEqual(new Set([1.5]));
    expect(new Set(await mt.model.params.get(b).data())).toEqual(new Set([-1]));
    setAll(student, a, -1);
    mt.update(student, 0.5);
    expect(new Set(await mt.model.params.get(a).data())).toEqual(new Set([0.25]));
    // γ = 0 copies the student exactly (the ramp's first step).
    mt.update(student, 0);
    for (const n of names) expect(await mt.model.params.get(n).data()).toEqual(await student.params.get(n).data());
    const before = tf.memory().numTensors;
    mt.update(student, 0.999);
    expect(tf.memory().numTensors).toBe(before);
    mt.dispose();
    student.dispose();
  });
});
