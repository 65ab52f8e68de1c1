import { describe, expect, it } from 'vitest';
import { guideSteps } from './steps';

const demo = [
  { id: 'l', name: 'Demo · labeled', role: 'labeled', imageCount: 8 },
  { id: 'u', name: 'Demo · unlabeled', role: 'unlabeled', imageCount: 48 },
];

describe('pipeline guide steps', () => {
  it('on a fresh profile the next action is importing data, and later steps are blocked', () => {
    const { steps, next } = guideSteps({ datasets: [], clip: null, masked: {}, runs: [] });
    expect(steps.map((s) => s.state)).toEqual(['next', 'optional', 'blocked', 'blocked']);
    expect(next?.tab).toBe('data');
  });

  it('with the demo imported the next action is training; masks count per image', () => {
    const { steps, next } = guideSteps({ datasets: demo, clip: null, masked: { u: 12 }, runs: [] });
    expect(steps.map((s) => [s.tab, s.state])).toEqual([
      ['data', 'done'],
      ['models', 'optional'],
      ['masks', 'partly done'],
      ['train', 'next'],
    ]);
    expect(steps[2].detail).toBe('12 of 56 images have masks');
    expect(next?.tab).toBe('train');
  });

  it('after a finished run the remaining step is the masks, then nothing', () => {
    const runs = [{ status: 'finished' }, { status: 'paused' }];
    const partly = guideSteps({ datasets: demo, clip: 'ViT', masked: {}, runs });
    expect(partly.steps[3]).toMatchObject({ state: 'done', detail: '2 runs: 1 finished, 1 paused' });
    expect(partly.next?.tab).toBe('masks');
    expect(guideSteps({ datasets: demo, clip: 'ViT', masked: { l: 8, u: 48 }, runs }).next).toBeNull();
  });

  it('only unlabeled images: importing labels is the next step (partly done)', () => {
    const { steps, next } = guideSteps({ datasets: [demo[1]], clip: null, masked: {}, runs: [] });
    expect(steps[0].state).toBe('partly done');
    expect(steps[3].state).toBe('blocked');
    expect(next?.tab).toBe('data');
  });
});
