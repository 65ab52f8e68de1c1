import { describe, expect, it } from 'vitest';
import { matchClasses, predictionByName } from './classMatch';

const model = [
  { id: 1, name: 'sky', synonyms: [] },
  { id: 2, name: 'dog', synonyms: ['puppy'] },
  { id: 3, name: 'kite', synonyms: [] },
];

describe('model classes against a dataset', () => {
  it('are the same when ids and names agree (case and spaces aside)', () => {
    const dataset = [
      { id: 1, name: 'Sky ', isthing: false },
      { id: 2, name: 'dog', isthing: true },
      { id: 3, name: 'kite', isthing: true },
    ];
    expect(matchClasses(model, dataset)).toMatchObject({ same: true, unmatchedModel: [], unmatchedDataset: [] });
  });

  it('map by name or synonym when they differ, listing what stays unmatched', () => {
    const dataset = [
      { id: 10, name: 'puppy', isthing: true },
      { id: 11, name: 'sky', isthing: false },
      { id: 12, name: 'tree', isthing: false },
    ];
    const match = matchClasses(model, dataset);
    expect(match).toEqual({
      same: false,
      byName: [
        { model: 'sky', modelId: 1, dataset: 'sky', categoryId: 11 },
        { model: 'dog', modelId: 2, dataset: 'puppy', categoryId: 10 },
      ],
      unmatchedModel: ['kite'],
      unmatchedDataset: ['tree'],
    });
    // Segment 1 sky, 2 dog, 3 kite (no counterpart: void).
    const mapped = predictionByName(
      {
        imageId: 7,
        imageFile: 'a.png',
        width: 4,
        height: 1,
        ids: new Uint32Array([1, 2, 3, 0]),
        segments: [
          { id: 1, category_id: 1 },
          { id: 2, category_id: 2 },
          { id: 3, category_id: 3 },
        ],
      },
      match,
    );
    expect([...mapped.ids]).toEqual([1, 2, 0, 0]);
    expect(mapped.segments).toEqual([
      { id: 1, category_id: 11 },
      { id: 2, category_id: 10 },
    ]);
  });
});
