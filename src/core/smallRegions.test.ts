import { describe, expect, it } from 'vitest';
import { connectedComponents8, removeSmallRegions } from './smallRegions';

/** Rows of '#' (set) and '.' (unset) → [mask, height, width]. */
function grid(rows: string[]): [Uint8Array, number, number] {
  const mask = Uint8Array.from(rows.join(''), (c) => (c === '#' ? 1 : 0));
  return [mask, rows.length, rows[0].length];
}

function draw(mask: Uint8Array, width: number): string[] {
  const rows: string[] = [];
  for (let y = 0; y < mask.length / width; y++)
    rows.push(Array.from(mask.subarray(y * width, (y + 1) * width), (v) => (v ? '#' : '.')).join(''));
  return rows;
}

describe('connected components (8-connectivity)', () => {
  it('joins diagonal neighbours and numbers labels by first pixel in row-major order', () => {
    const [mask, h, w] = grid([
      '#...#', //
      '.#..#',
      '..#..',
      '#....',
    ]);
    const { labels, sizes } = connectedComponents8(mask, h, w, true);
    // the diagonal (0,0)-(1,1)-(2,2) is one component; the right column is the second (first pixel (0,4))
    expect(sizes).toEqual([3, 2, 1]);
    expect(Array.from(labels)).toEqual([1, 0, 0, 0, 2, 0, 1, 0, 0, 2, 0, 0, 1, 0, 0, 3, 0, 0, 0, 0]);
  });

  it('labels the unset pixels when asked: the diagonal line does not split the background', () => {
    const [mask, h, w] = grid([
      '#..', //
      '.#.',
      '..#',
    ]);
    // 8-connected background: (0,1) touches (1,0) diagonally, so the two sides are one region
    expect(connectedComponents8(mask, h, w, false).sizes).toEqual([6]);
  });
});

describe('removeSmallRegions', () => {
  it("fills holes smaller than the area ('holes' mode) and leaves larger ones", () => {
    const [mask, h, w] = grid([
      '#######', //
      '#.##..#',
      '####..#',
      '#######',
    ]);
    const { mask: out, changed } = removeSmallRegions(mask, h, w, 2, 'holes');
    expect(changed).toBe(true);
    expect(draw(out, w)).toEqual(['#######', '####..#', '####..#', '#######']);
    // a hole of exactly the area is kept (strictly smaller is small)
    expect(removeSmallRegions(mask, h, w, 1, 'holes').changed).toBe(false);
    expect(removeSmallRegions(mask, h, w, 5, 'holes').mask.every((v) => v === 1)).toBe(true);
  });

  it('counts unset regions touching the border as holes too, as upstream', () => {
    const [mask, h, w] = grid([
      '.###', //
      '####',
      '####',
    ]);
    const { mask: out, changed } = removeSmallRegions(mask, h, w, 2, 'holes');
    expect(changed).toBe(true);
    expect(draw(out, w)).toEqual(['####', '####', '####']);
  });

  it("drops islands smaller than the area ('islands' mode)", () => {
    const [mask, h, w] = grid([
      '##...#', //
      '##....',
      '......',
      '...#..',
      '....#.',
    ]);
    // islands: the 2×2 block (4), the lone pixel (1), the diagonal pair (2)
    const { mask: out, changed } = removeSmallRegions(mask, h, w, 3, 'islands');
    expect(changed).toBe(true);
    expect(draw(out, w)).toEqual(['##....', '##....', '......', '......', '......']);
  });

  it('keeps the largest island when all are small, and still reports a change', () => {
    const [mask, h, w] = grid([
      '#..##', //
      '.....',
      '##...',
    ]);
    // sizes in label order: 1 (0,0), 2 (0,3), 2 (2,0): the first of the two largest stays
    const { mask: out, changed } = removeSmallRegions(mask, h, w, 10, 'islands');
    expect(changed).toBe(true);
    expect(draw(out, w)).toEqual(['...##', '.....', '.....']);
    // a single small island: same pixels, but flagged as changed (upstream's behaviour)
    const [one, oh, ow] = grid(['.#.', '...']);
    const single = removeSmallRegions(one, oh, ow, 5, 'islands');
    expect(single.changed).toBe(true);
    expect(Array.from(single.mask)).toEqual(Array.from(one));
  });

  it('leaves empty and full masks unchanged', () => {
    expect(removeSmallRegions(new Uint8Array(6), 2, 3, 100, 'islands')).toEqual({
      mask: new Uint8Array(6),
      changed: false,
    });
    expect(removeSmallRegions(new Uint8Array(6).fill(1), 2, 3, 100, 'holes')).toEqual({
      mask: new Uint8Array(6).fill(1),
      changed: false,
    });
  });
});
