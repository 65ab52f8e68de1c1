/**
 * Image–caption pairs from the demo world, for training the demo CLIP contrastively: crops centred
 * on one segment, captioned with its class, and whole scenes, captioned with every class they show.
 * Captions use the words that define each class in world.ts (its name, synonyms, colour and
 * texture), so a CLIP trained on them can only learn what the pixels really carry.
 */
import type { Rng } from '../../core/rng';
import { DEMO_CATEGORIES, type DemoImage } from './world';

/** The colour and texture words of each class, as world.ts paints it. */
const DEMO_CLASS_WORDS: Record<number, { colours: string[]; textures: string[] }> = {
  1: { colours: ['red', 'red and white'], textures: ['striped'] },
  2: { colours: ['yellow'], textures: ['sunburst', 'rayed'] },
  3: { colours: ['blue', 'light blue'], textures: ['banded'] },
  4: { colours: ['green', 'dark green'], textures: ['checkered'] },
  5: { colours: ['purple'], textures: ['dotted', 'spotted'] },
  6: { colours: ['orange'], textures: ['zigzag'] },
  7: { colours: ['gold', 'golden'], textures: ['rimmed', 'small'] },
  101: { colours: ['blue', 'light blue'], textures: ['cloudy'] },
  102: { colours: ['green'], textures: ['bladed'] },
  103: { colours: ['blue', 'dark blue'], textures: ['wavy'] },
  104: { colours: ['red', 'brown'], textures: ['brick'] },
  105: { colours: ['brown'], textures: ['wooden', 'plank'] },
  106: { colours: ['beige', 'pale yellow'], textures: ['speckled'] },
};

const NAMES = new Map(DEMO_CATEGORIES.map((c) => [c.id, [...new Set([c.name, ...(c.synonyms ?? [])])]]));

/** One noun phrase for a class: a name or synonym, alone or with its colour and/or texture words. */
function describeClass(rng: Rng, categoryId: number): string {
  const names = NAMES.get(categoryId);
  const words = DEMO_CLASS_WORDS[categoryId];
  if (!names || !words) throw new RangeError(`no demo class ${categoryId}`);
  const name = rng.pick(names);
  // Synonyms such as 'red striped ball' already carry their words.
  if (name.includes(' ')) return name;
  switch (rng.int(0, 3)) {
    case 0:
      return name;
    case 1:
      return `${rng.pick(words.colours)} ${name}`;
    case 2:
      return `${rng.pick(words.textures)} ${name}`;
    default:
      return `${rng.pick(words.colours)} ${rng.pick(words.textures)} ${name}`;
  }
}

/** A caption for one class: a prompt template ('{}' = the phrase) filled with describeClass. */
export function captionClass(rng: Rng, categoryId: number, templates: readonly string[]): string {
  return rng.pick(templates).replaceAll('{}', describeClass(rng, categoryId));
}

/** A caption listing every class in a scene, e.g. 'a photo of a red ball, a star and sky and grass.' */
export function captionScene(rng: Rng, categoryIds: readonly number[]): string {
  const phrases = categoryIds.map((id) => `a ${describeClass(rng, id)}`);
  const list =
    phrases.length === 1 ? phrases[0] : `${phrases.slice(0, -1).join(', ')} and ${phrases[phrases.length - 1]}`;
  return `a photo of ${list}.`;
}

/** The words every caption is built from (for a tokenizer's vocabulary subset). */
export function captionWords(templates: readonly string[]): string[] {
  const words = Object.values(DEMO_CLASS_WORDS).flatMap((w) => [...w.colours, ...w.textures]);
  return [...templates, ...[...NAMES.values()].flat(), ...words, 'a photo of a, b and c.'];
}

export interface DemoCrop {
  /** side × side × 3 RGB bytes. */
  rgb: Uint8Array;
  side: number;
  categoryId: number;
}

/**
 * `count` crops of `side` pixels from the scenes, each centred on a random pixel of one segment
 * (shifted to stay inside the image). Classes are drawn uniformly among those the scenes show, so
 * rare and small classes (kite, coin) are seen as often as the rest.
 */
export function sampleSegmentCrops(rng: Rng, scenes: readonly DemoImage[], count: number, side: number): DemoCrop[] {
  const byClass = new Map<number, { scene: DemoImage; segmentId: number }[]>();
  for (const scene of scenes) {
    if (scene.width < side || scene.height < side)
      throw new RangeError(`a ${scene.width}×${scene.height} scene cannot give ${side}-pixel crops`);
    for (const s of scene.segments) {
      const list = byClass.get(s.category_id) ?? [];
      list.push({ scene, segmentId: s.id });
      byClass.set(s.category_id, list);
    }
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  return Array.from({ length: count }, () => {
    const categoryId = rng.pick(classes);
    const { scene, segmentId } = rng.pick(byClass.get(categoryId)!);
    const centre = randomPixelOf(rng, scene, segmentId);
    const x0 = Math.min(Math.max(0, (centre % scene.width) - (side >> 1)), scene.width - side);
    const y0 = Math.min(Math.max(0, Math.floor(centre / scene.width) - (side >> 1)), scene.height - side);
    const rgb = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++)
      rgb.set(
        scene.rgb.subarray(((y0 + y) * scene.width + x0) * 3, ((y0 + y) * scene.width + x0 + side) * 3),
        y * side * 3,
      );
    return { rgb, side, categoryId };
  });
}

/** A uniformly random pixel index of a segment (reservoir sampling: one pass, no pixel list). */
function randomPixelOf(rng: Rng, scene: DemoImage, segmentId: number): number {
  let chosen = -1;
  let seen = 0;
  for (let i = 0; i < scene.ids.length; i++) {
    if (scene.ids[i] !== segmentId) continue;
    seen++;
    if (rng.next() * seen < 1) chosen = i;
  }
  if (chosen < 0) throw new RangeError(`segment ${segmentId} has no pixel`);
  return chosen;
}
