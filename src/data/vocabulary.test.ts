import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import type { Category } from '../core/panoptic';
import { planImport } from './import';
import { commitImport } from './importCommit';
import { getDataset, openStore } from './store';
import { cocoFolder, simpleFolder } from '../../test/dataBuilders';
import {
  CURATED_VOCABULARIES,
  matchCuratedVocabulary,
  promptNames,
  splitClassNames,
  withCuratedSynonyms,
} from './vocabulary';

/** ADE20K-150 as Mask2Former's prepare_ade20k_pan_seg.py writes the categories (ids 0..149, "window " with its space). */
const ADE20K_150 = [
  'wall',
  'building',
  'sky',
  'floor',
  'tree',
  'ceiling',
  'road, route',
  'bed',
  'window ',
  'grass',
  'cabinet',
  'sidewalk, pavement',
  'person',
  'earth, ground',
  'door',
  'table',
  'mountain, mount',
  'plant',
  'curtain',
  'chair',
  'car',
  'water',
  'painting, picture',
  'sofa',
  'shelf',
  'house',
  'sea',
  'mirror',
  'rug',
  'field',
  'armchair',
  'seat',
  'fence',
  'desk',
  'rock, stone',
  'wardrobe, closet, press',
  'lamp',
  'tub',
  'rail',
  'cushion',
  'base, pedestal, stand',
  'box',
  'column, pillar',
  'signboard, sign',
  'chest of drawers, chest, bureau, dresser',
  'counter',
  'sand',
  'sink',
  'skyscraper',
  'fireplace',
  'refrigerator, icebox',
  'grandstand, covered stand',
  'path',
  'stairs',
  'runway',
  'case, display case, showcase, vitrine',
  'pool table, billiard table, snooker table',
  'pillow',
  'screen door, screen',
  'stairway, staircase',
  'river',
  'bridge, span',
  'bookcase',
  'blind, screen',
  'coffee table',
  'toilet, can, commode, crapper, pot, potty, stool, throne',
  'flower',
  'book',
  'hill',
  'bench',
  'countertop',
  'stove',
  'palm, palm tree',
  'kitchen island',
  'computer',
  'swivel chair',
  'boat',
  'bar',
  'arcade machine',
  'hovel, hut, hutch, shack, shanty',
  'bus',
  'towel',
  'light',
  'truck',
  'tower',
  'chandelier',
  'awning, sunshade, sunblind',
  'street lamp',
  'booth',
  'tv',
  'plane',
  'dirt track',
  'clothes',
  'pole',
  'land, ground, soil',
  'bannister, banister, balustrade, balusters, handrail',
  'escalator, moving staircase, moving stairway',
  'ottoman, pouf, pouffe, puff, hassock',
  'bottle',
  'buffet, counter, sideboard',
  'poster, posting, placard, notice, bill, card',
  'stage',
  'van',
  'ship',
  'fountain',
  'conveyer belt, conveyor belt, conveyer, conveyor, transporter',
  'canopy',
  'washer, automatic washer, washing machine',
  'plaything, toy',
  'pool',
  'stool',
  'barrel, cask',
  'basket, handbasket',
  'falls',
  'tent',
  'bag',
  'minibike, motorbike',
  'cradle',
  'oven',
  'ball',
  'food, solid food',
  'step, stair',
  'tank, storage tank',
  'trade name',
  'microwave',
  'pot',
  'animal',
  'bicycle',
  'lake',
  'dishwasher',
  'screen',
  'blanket, cover',
  'sculpture',
  'hood, exhaust hood',
  'sconce',
  'vase',
  'traffic light',
  'tray',
  'trash can',
  'fan',
  'pier',
  'crt screen',
  'plate',
  'monitor',
  'bulletin board',
  'shower',
  'radiator',
  'glass, drinking glass',
  'clock',
  'flag',
];

/** COCO panoptic categories (panoptic_coco_categories.json): [id, name]. */
const COCO_PANOPTIC: [number, string][] = [
  [1, 'person'],
  [2, 'bicycle'],
  [3, 'car'],
  [4, 'motorcycle'],
  [5, 'airplane'],
  [6, 'bus'],
  [7, 'train'],
  [8, 'truck'],
  [9, 'boat'],
  [10, 'traffic light'],
  [11, 'fire hydrant'],
  [13, 'stop sign'],
  [14, 'parking meter'],
  [15, 'bench'],
  [16, 'bird'],
  [17, 'cat'],
  [18, 'dog'],
  [19, 'horse'],
  [20, 'sheep'],
  [21, 'cow'],
  [22, 'elephant'],
  [23, 'bear'],
  [24, 'zebra'],
  [25, 'giraffe'],
  [27, 'backpack'],
  [28, 'umbrella'],
  [31, 'handbag'],
  [32, 'tie'],
  [33, 'suitcase'],
  [34, 'frisbee'],
  [35, 'skis'],
  [36, 'snowboard'],
  [37, 'sports ball'],
  [38, 'kite'],
  [39, 'baseball bat'],
  [40, 'baseball glove'],
  [41, 'skateboard'],
  [42, 'surfboard'],
  [43, 'tennis racket'],
  [44, 'bottle'],
  [46, 'wine glass'],
  [47, 'cup'],
  [48, 'fork'],
  [49, 'knife'],
  [50, 'spoon'],
  [51, 'bowl'],
  [52, 'banana'],
  [53, 'apple'],
  [54, 'sandwich'],
  [55, 'orange'],
  [56, 'broccoli'],
  [57, 'carrot'],
  [58, 'hot dog'],
  [59, 'pizza'],
  [60, 'donut'],
  [61, 'cake'],
  [62, 'chair'],
  [63, 'couch'],
  [64, 'potted plant'],
  [65, 'bed'],
  [67, 'dining table'],
  [70, 'toilet'],
  [72, 'tv'],
  [73, 'laptop'],
  [74, 'mouse'],
  [75, 'remote'],
  [76, 'keyboard'],
  [77, 'cell phone'],
  [78, 'microwave'],
  [79, 'oven'],
  [80, 'toaster'],
  [81, 'sink'],
  [82, 'refrigerator'],
  [84, 'book'],
  [85, 'clock'],
  [86, 'vase'],
  [87, 'scissors'],
  [88, 'teddy bear'],
  [89, 'hair drier'],
  [90, 'toothbrush'],
  [92, 'banner'],
  [93, 'blanket'],
  [95, 'bridge'],
  [100, 'cardboard'],
  [107, 'counter'],
  [109, 'curtain'],
  [112, 'door-stuff'],
  [118, 'floor-wood'],
  [119, 'flower'],
  [122, 'fruit'],
  [125, 'gravel'],
  [128, 'house'],
  [130, 'light'],
  [133, 'mirror-stuff'],
  [138, 'net'],
  [141, 'pillow'],
  [144, 'platform'],
  [145, 'playingfield'],
  [147, 'railroad'],
  [148, 'river'],
  [149, 'road'],
  [151, 'roof'],
  [154, 'sand'],
  [155, 'sea'],
  [156, 'shelf'],
  [159, 'snow'],
  [161, 'stairs'],
  [166, 'tent'],
  [168, 'towel'],
  [171, 'wall-brick'],
  [175, 'wall-stone'],
  [176, 'wall-tile'],
  [177, 'wall-wood'],
  [178, 'water-other'],
  [180, 'window-blind'],
  [181, 'window-other'],
  [184, 'tree-merged'],
  [185, 'fence-merged'],
  [186, 'ceiling-merged'],
  [187, 'sky-other-merged'],
  [188, 'cabinet-merged'],
  [189, 'table-merged'],
  [190, 'floor-other-merged'],
  [191, 'pavement-merged'],
  [192, 'mountain-merged'],
  [193, 'grass-merged'],
  [194, 'dirt-merged'],
  [195, 'paper-merged'],
  [196, 'food-other-merged'],
  [197, 'building-other-merged'],
  [198, 'rock-merged'],
  [199, 'wall-other-merged'],
  [200, 'rug-merged'],
];

const adeCategories = (): Category[] => ADE20K_150.map((name, id) => ({ id, name, isthing: id % 2 === 0 }));
const cocoCategories = (): Category[] => COCO_PANOPTIC.map(([id, name]) => ({ id, name, isthing: id < 92 }));
const byName = (categories: Category[]) => new Map(categories.map((c) => [c.name, promptNames(c)]));

describe('class vocabulary', () => {
  it('splits names on commas, trims, and drops empties and repeats', () => {
    expect(splitClassNames(['road, route', ' road ', '', 'a,,b'])).toEqual(['road', 'route', 'a', 'b']);
    expect(promptNames({ name: 'road, route' })).toEqual(['road', 'route']);
    expect(promptNames({ name: 'chest of drawers, chest, bureau, dresser' })).toEqual([
      'chest of drawers',
      'chest',
      'bureau',
      'dresser',
    ]);
    expect(promptNames({ name: 'person', synonyms: ['person', 'child, man'] })).toEqual(['person', 'child', 'man']);
  });

  it('ships the curated lists whole: ADE20K-150 150 classes / 402 names, COCO panoptic 133 / 254', () => {
    // ADE's file has 403 entries, one repeated within its class ("kitchen range", line 72); COCO's 321
    // entries include 67 placeholder lines (ids COCO panoptic does not use).
    const [ade, coco] = CURATED_VOCABULARIES;
    const count = (v: (typeof CURATED_VOCABULARIES)[number]) =>
      [...v.prompts.values()].reduce((n, names) => n + names.length, 0);
    expect([ade.name, ade.prompts.size, count(ade)]).toEqual(['ADE20K-150', 150, 402]);
    expect([coco.name, coco.prompts.size, count(coco)]).toEqual(['COCO panoptic', 133, 254]);
  });

  it('matches only the whole vocabulary, whatever the ids, order and letter case', () => {
    expect(matchCuratedVocabulary(adeCategories())?.name).toBe('ADE20K-150');
    expect(matchCuratedVocabulary(cocoCategories())?.name).toBe('COCO panoptic');
    const shuffled = adeCategories()
      .reverse()
      .map((c, i) => ({ ...c, id: i + 1, name: c.name.toUpperCase() }));
    expect(matchCuratedVocabulary(shuffled)?.name).toBe('ADE20K-150');
    expect(matchCuratedVocabulary(adeCategories().slice(1))).toBeNull();
    expect(
      matchCuratedVocabulary(adeCategories().map((c) => (c.id === 3 ? { ...c, name: 'my floor' } : c))),
    ).toBeNull();
    expect(matchCuratedVocabulary([{ name: 'person' }, { name: 'car' }])).toBeNull();
  });

  it('keeps synonyms a category brings and leaves unmatched datasets as they are', () => {
    const own = adeCategories().map((c) => (c.id === 12 ? { ...c, synonyms: ['person', 'pedestrian'] } : c));
    expect(byName(withCuratedSynonyms(own).categories).get('person')).toEqual(['person', 'pedestrian']);
    const subset = withCuratedSynonyms(adeCategories().slice(0, 10));
    expect(subset.vocabulary).toBeNull();
    expect(subset.categories.every((c) => c.synonyms === undefined)).toBe(true);
    expect(byName(subset.categories).get('road, route')).toEqual(['road', 'route']);
  });

  it('the 150 ADE20K category names import with the curated synonyms, stored with the dataset', async () => {
    const plan = await planImport(cocoFolder([{ name: 'a.png' }], { root: 'ade', categories: adeCategories() }));
    expect(plan.errors).toEqual([]);
    expect(plan.notices.find((n) => n.code === 'curated-vocabulary')?.problem).toMatch(
      /ADE20K-150: its 150 classes .* \(402 names\)/,
    );
    const db = await openStore(`vocabulary-test-${crypto.randomUUID()}`);
    const { id } = await commitImport(db, plan, { name: 'ade', role: 'validation' });
    const stored = (await getDataset(db, id))!.categories;
    db.close();
    expect(stored.map((c) => c.name)).toEqual(ADE20K_150);
    const names = byName(stored);
    expect(names.get('wall')).toEqual(['wall', 'walls', 'brick wall', 'stone wall', 'interior wall']);
    expect(names.get('road, route')).toEqual(['road', 'route', 'street', 'roads', 'streets', 'routes']);
    expect(names.get('window ')).toEqual(['windowpane', 'window', 'windows']);
    // The curated list drops the dataset's ambiguous names (can, pot, stool, throne).
    expect(names.get('toilet, can, commode, crapper, pot, potty, stool, throne')).toEqual([
      'toilet',
      'commode',
      'crapper',
      'potty',
    ]);
    expect(names.get('flag')).toEqual(['flag', 'flags']);
    expect(stored.reduce((n, c) => n + promptNames(c).length, 0)).toBe(402);
    expect(names.get('stove')).toEqual(['stove', 'kitchen stove', 'kitchen range', 'cooking stove']);
  });

  it('the 133 COCO panoptic category names import with the curated synonyms', async () => {
    const plan = await planImport(cocoFolder([{ name: 'a.png' }], { root: 'coco', categories: cocoCategories() }));
    expect(plan.errors).toEqual([]);
    const names = byName(plan.categories);
    expect(names.get('person')).toHaveLength(17);
    expect(names.get('wall-other-merged')).toEqual(['wall', 'walls']);
    expect(names.get('tree-merged')).toEqual(['tree', 'trees', 'palm tree', 'bushes']);
    expect(names.get('playingfield')).toEqual([
      'playingfield',
      'tennis court',
      'baseball field',
      'soccer field',
      'tennis field',
    ]);
    expect(plan.categories.reduce((n, c) => n + promptNames(c).length, 0)).toBe(254);
  });

  it('a categories.json keeps its own synonyms, with the name first', async () => {
    const plan = await planImport(
      simpleFolder(['a.png'], {
        categories: [
          { id: 1, name: 'ball', isthing: 1, synonyms: ['toy ball'] },
          { id: 7, name: 'sky', isthing: 0 },
        ],
      }),
    );
    expect(plan.errors).toEqual([]);
    expect(plan.categories.map(promptNames)).toEqual([['ball', 'toy ball'], ['sky']]);
    expect(plan.notices.some((n) => n.code === 'curated-vocabulary')).toBe(false);
  });
});
