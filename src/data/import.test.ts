import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UserMessage } from '../core/errors';
import { encodeIdPng } from './decode';
import { planImport, planImports, summarizePlan } from './import';
import { commitImport, commitImports } from './importCommit';
import { deleteDataset, listDatasets, listImages, openStore, type DearliDB } from './store';
import {
  blobOf,
  cocoFolder,
  customPng,
  fakeJpeg,
  fakeWebp,
  pngHeaderClaiming,
  rgbPng,
  sceneIds,
  segmentsOf,
  simpleFolder,
  zipOf,
  bytesOf,
} from '../../test/dataBuilders';
import { DEMO_ROOT, demoAsCocoFiles, generateDemoDataset } from './demo';
import type { ImportFile, ImportPlan } from './types';

let db: DearliDB;
let existingId: string;

/** Every test starts with one committed dataset that no failed import may touch. */
beforeEach(async () => {
  db = await openStore(`import-test-${crypto.randomUUID()}`);
  const plan = await planImport(cocoFolder([{ name: 'keep1.png' }, { name: 'keep2.png' }], { root: 'existing' }));
  existingId = (await commitImport(db, plan, { name: 'existing', role: 'labeled' })).id;
});

afterEach(async () => {
  await expectExistingIntact();
  db.close();
});

async function expectExistingIntact(): Promise<void> {
  const datasets = await listDatasets(db);
  expect(datasets.map((d) => d.id)).toContain(existingId);
  const images = await listImages(db, existingId, 0, 10);
  expect(images.map((i) => i.fileName)).toEqual(['keep1.png', 'keep2.png']);
  expect(images.every((i) => i.mask && i.segments?.length === 3)).toBe(true);
}

function only(messages: UserMessage[], code: string): UserMessage {
  const found = messages.filter((m) => m.code === code);
  expect(found, `expected a '${code}' message in ${JSON.stringify(messages, null, 1)}`).toHaveLength(1);
  return found[0];
}

/** Plans the files, expects exactly one error of `code`, and checks that committing it writes nothing. */
async function expectBlocked(files: ImportFile[], code: string, file?: string | RegExp): Promise<UserMessage> {
  const plan = await planImport(files);
  const error = only(plan.errors, code);
  if (typeof file === 'string') expect(error.file).toBe(file);
  else if (file) expect(error.file).toMatch(file);
  expect(error.problem.length).toBeGreaterThan(10);
  const before = await listDatasets(db);
  await expect(commitImport(db, plan, { name: 'bad', role: 'labeled' })).rejects.toMatchObject({ code });
  expect(await listDatasets(db)).toEqual(before);
  return error;
}

describe('layout detection', () => {
  it('detects a COCO panoptic folder and measures segments', async () => {
    const plan = await planImport(cocoFolder([{ name: 'a.png' }, { name: 'b.jpg', image: fakeJpeg(8, 6) }]));
    expect(plan.errors).toEqual([]);
    expect(plan).toMatchObject({
      layout: 'coco-panoptic',
      imageCount: 2,
      labeledCount: 2,
      suggestedRole: 'labeled',
      annotationFile: 'mydata/annotations/panoptic_train.json',
    });
    expect(plan.categories.map((c) => c.name)).toEqual(['ball', 'sky']);
    const segments = plan.images[0].mask!.segments;
    expect(segments).toEqual([
      { id: 1001, category_id: 1, iscrowd: 0, area: 6, bbox: [1, 1, 3, 2] },
      { id: 1002, category_id: 1, iscrowd: 0, area: 1, bbox: [7, 5, 1, 1] },
      { id: 7000, category_id: 7, iscrowd: 0, area: 41, bbox: [0, 0, 8, 6] },
    ]);
    expect(plan.images[1]).toMatchObject({ fileName: 'b.jpg', type: 'jpeg', width: 8, height: 6, sourceImageId: 2 });
  });

  it('detects the simple layout and derives segments from ids (category × 1000 + instance)', async () => {
    const plan = await planImport(simpleFolder(['x.png', 'sub/y.png']));
    expect(plan.errors).toEqual([]);
    expect(plan).toMatchObject({ layout: 'simple', imageCount: 2, labeledCount: 2, suggestedName: 'simple' });
    expect(plan.images.map((i) => i.fileName)).toEqual(['sub/y.png', 'x.png']);
    expect(plan.images[0].mask!.segments.map((s) => [s.id, s.category_id, s.area])).toEqual([
      [1001, 1, 6],
      [1002, 1, 1],
      [7000, 7, 41],
    ]);
  });

  it('detects a folder of unlabeled images, skipping non-image files with a notice', async () => {
    const files: ImportFile[] = [
      { path: 'photos/a.png', file: blobOf(rgbPng(4, 4)) },
      { path: 'photos/b.jpeg', file: blobOf(fakeJpeg(30, 20)) },
      { path: 'photos/deep/c.webp', file: blobOf(fakeWebp(10, 10)) },
      { path: 'photos/notes.txt', file: new Blob(['hello']) },
      { path: 'photos/.DS_Store', file: new Blob(['x']) },
    ];
    const plan = await planImport(files);
    expect(plan.errors).toEqual([]);
    expect(plan).toMatchObject({
      layout: 'unlabeled',
      imageCount: 3,
      labeledCount: 0,
      suggestedRole: 'unlabeled',
      suggestedName: 'photos',
    });
    expect(plan.images.map((i) => i.fileName)).toEqual(['a.png', 'b.jpeg', 'deep/c.webp']);
    expect(only(plan.notices, 'skipped-files').problem).toContain('photos/notes.txt');
  });

  it('reads a .zip the same way as the folder it contains', async () => {
    const folder = cocoFolder([{ name: 'a.png' }, { name: 'b.png' }]);
    const zip = await zipOf(
      await Promise.all(folder.map(async (f) => ({ path: f.path, bytes: await bytesOf(f.file) }))),
    );
    const fromZip = await planImport([{ path: 'upload.zip', file: zip }]);
    const fromFolder = await planImport(folder);
    expect(fromZip.errors).toEqual([]);
    expect(summarizePlan(fromZip)).toEqual(summarizePlan(fromFolder));
    expect(fromZip.images.map((i) => i.mask!.segments)).toEqual(fromFolder.images.map((i) => i.mask!.segments));
    const dataset = await commitImport(db, fromZip, { name: 'zipped', role: 'labeled' });
    const stored = await listImages(db, dataset.id, 0, 5);
    expect(new Uint8Array(await stored[1].mask!.arrayBuffer())).toEqual(await bytesOf(folder[3].file));
  });

  it('names a zip with top-level files after the archive', async () => {
    const zip = await zipOf([{ path: 'one.png', bytes: rgbPng(3, 3) }], 0);
    const plan = await planImport([{ path: 'holiday.zip', file: zip }]);
    expect(plan).toMatchObject({ layout: 'unlabeled', imageCount: 1, suggestedName: 'holiday' });
  });

  it('asks which annotation file to use when there are several, and uses the chosen one', async () => {
    const train = cocoFolder([{ name: 'a.png' }]);
    const val = cocoFolder([{ name: 'v.png' }], { root: 'mydata' }).map((f) => ({
      ...f,
      path: f.path.replace(/train/g, 'val'),
    }));
    const both = [...train, ...val];
    const plan = await planImport(both);
    expect(only(plan.errors, 'several-annotation-files').problem).toContain('panoptic_val.json');
    expect(plan.annotationFiles).toEqual([
      'mydata/annotations/panoptic_train.json',
      'mydata/annotations/panoptic_val.json',
    ]);
    const chosen = await planImport(both, { annotationFile: 'mydata/annotations/panoptic_val.json' });
    expect(chosen.errors).toEqual([]);
    expect(chosen).toMatchObject({ imageCount: 1, suggestedRole: 'validation' });
    // Only the train image is left out: the train masks are not images.
    expect(only(chosen.notices, 'unused-images').problem).toMatch(/^1 image is not part .* \(mydata\/train\/a\.png\)/);
  });

  it('finds COCO images spread over several folders (Cityscapes keeps one per city)', async () => {
    const files = cocoFolder([{ name: 'aachen_1.png' }, { name: 'bremen_1.png' }, { name: 'bremen_2.png' }]).map((f) =>
      f.path.startsWith('mydata/train/')
        ? {
            ...f,
            path: f.path.replace('train/', `leftImg8bit/train/${f.path.includes('aachen') ? 'aachen' : 'bremen'}/`),
          }
        : f,
    );
    const plan = await planImport(files);
    expect(plan.errors).toEqual([]);
    expect(plan.images.map((i) => i.path)).toEqual([
      'mydata/leftImg8bit/train/aachen/aachen_1.png',
      'mydata/leftImg8bit/train/bremen/bremen_1.png',
      'mydata/leftImg8bit/train/bremen/bremen_2.png',
    ]);
  });

  it('explains that a COCO instances file is not panoptic', async () => {
    const instances = JSON.stringify({
      images: [{ id: 1, file_name: 'a.jpg' }],
      annotations: [{ image_id: 1, segmentation: [[0, 0, 1, 1, 1, 0]], category_id: 1 }],
      categories: [],
    });
    const plan = await planImport([
      { path: 'coco/annotations/instances_train.json', file: new Blob([instances]) },
      { path: 'coco/train/a.jpg', file: blobOf(fakeJpeg(8, 6)) },
    ]);
    expect(plan.layout).toBe('unlabeled');
    const notice = only(plan.notices, 'coco-instances-json');
    expect(notice.file).toBe('coco/annotations/instances_train.json');
    expect(notice.fix).toMatch(/detection2panoptic/);
  });

  it('accepts palette masks', async () => {
    const ids = sceneIds();
    const palette = [
      [7000 & 255, (7000 >> 8) & 255, 0],
      [1001 & 255, (1001 >> 8) & 255, 0],
      [1002 & 255, (1002 >> 8) & 255, 0],
    ];
    const indexes = Uint8Array.from(ids, (id) => (id === 7000 ? 0 : id === 1001 ? 1 : 2));
    const plan = await planImport(cocoFolder([{ name: 'a.png', mask: customPng(indexes, 8, 6, 1, 8, palette) }]));
    expect(plan.errors).toEqual([]);
    expect(plan.images[0].mask!.segments.map((s) => s.area)).toEqual([6, 1, 41]);
    // Stored re-encoded as RGB, so every later reader needs only the canonical decoder.
    const dataset = await commitImport(db, plan, { name: 'palette', role: 'labeled' });
    const [stored] = await listImages(db, dataset.id, 0, 1);
    expect(new Uint8Array(await stored.mask!.arrayBuffer())).toEqual(encodeIdPng(ids, 8, 6));
  });
});

describe('bad input is reported with the file and blocks the import', () => {
  it('a folder without images is named as the folder, and says what it holds', async () => {
    const error = await expectBlocked(
      [{ path: 'empty/EXPECT.txt', file: new Blob(['nothing here']) }],
      'no-images',
      'empty/',
    );
    expect(error.problem).toBe('this folder holds no PNG, JPEG or WebP images (only 1 other file).');
    const two = only(
      (
        await planImport([
          { path: 'docs/a.md', file: new Blob(['#']) },
          { path: 'docs/b.md', file: new Blob(['#']) },
        ])
      ).errors,
      'no-images',
    );
    expect(two.problem).toContain('only 2 other files');
    const file = only((await planImport([{ path: 'readme.md', file: new Blob(['#']) }])).errors, 'no-images');
    expect(file).toMatchObject({
      file: 'readme.md',
      problem: 'this file is not a PNG, JPEG or WebP image, nor a .zip of a dataset.',
    });
    await expectBlocked([], 'no-images');
  });

  it('a corrupt or truncated image', async () => {
    const png = rgbPng(8, 6);
    await expectBlocked(
      cocoFolder([{ name: 'a.png', image: png.subarray(0, png.length - 16) }]),
      'corrupt-image',
      'mydata/train/a.png',
    );
    await expectBlocked(
      cocoFolder([{ name: 'a.jpg', image: fakeJpeg(8, 6, { eoi: false }) }]),
      'corrupt-image',
      'mydata/train/a.jpg',
    );
  });

  it('an image larger than 8192 px on a side', async () => {
    const error = await expectBlocked(
      [{ path: 'big/huge.png', file: blobOf(pngHeaderClaiming(9000, 10)) }],
      'image-too-large',
      'big/huge.png',
    );
    expect(error.fix).toMatch(/8192/);
  });

  it('a mask whose size differs from its image', async () => {
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', mask: encodeIdPng(sceneIds(9, 6), 9, 6) }]),
      'mask-size-mismatch',
      'mydata/annotations/panoptic_train/a.png',
    );
    expect(error.problem).toContain('9×6');
    expect(error.problem).toContain('8×6');
  });

  it('mask ids missing from segments_info', async () => {
    const segments = segmentsOf(sceneIds(), 8).filter((s) => s.id !== 1002);
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', segments }]),
      'mask-ids-not-in-segments',
      'mydata/annotations/panoptic_train/a.png',
    );
    expect(error.problem).toContain('1002');
  });

  it('segments_info ids missing from the mask', async () => {
    const segments = [...segmentsOf(sceneIds(), 8), { id: 1003, category_id: 1, iscrowd: 0 }];
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', segments }]),
      'segments-not-in-mask',
      'mydata/annotations/panoptic_train/a.png',
    );
    expect(error.problem).toContain('1003');
  });

  it('a greyscale mask storing id = value gets a hint', async () => {
    const grey = customPng(
      Uint8Array.from({ length: 48 }, () => 5),
      8,
      6,
      1,
      8,
    );
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', mask: grey, segments: [{ id: 5, category_id: 7 }] }]),
      'mask-ids-not-in-segments',
    );
    expect(error.fix).toMatch(/greyscale/);
  });

  it('unknown category ids (COCO and simple layouts)', async () => {
    const segments = segmentsOf(sceneIds(), 8).map((s) => (s.id === 1002 ? { ...s, category_id: 99 } : s));
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', segments }]),
      'unknown-category',
      /panoptic_train\.json/,
    );
    expect(error.problem).toContain('99');
    const ids = sceneIds();
    ids[0] = 42001;
    await expectBlocked(
      simpleFolder(['a.png'], { masks: { a: encodeIdPng(ids, 8, 6) } }),
      'unknown-category',
      'simple/panoptic/a.png',
    );
  });

  it('duplicate image ids, file names and paths', async () => {
    const json = JSON.stringify({
      images: [
        { id: 1, file_name: 'a.png' },
        { id: 1, file_name: 'b.png' },
      ],
      annotations: [],
      categories: [{ id: 1, name: 'ball', isthing: 1 }],
    });
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png' }, { name: 'b.png' }], { json }),
      'duplicate-image-id',
      'mydata/annotations/panoptic_train.json',
    );
    expect(error.problem).toContain('image id 1');
    await expectBlocked(
      [...simpleFolder(['a.png']), { path: 'simple/images/a.jpg', file: blobOf(fakeJpeg(8, 6)) }],
      'duplicate-file-name',
      'simple/images/a.png',
    );
    const folder = cocoFolder([{ name: 'a.png' }]);
    await expectBlocked([...folder, folder[0]], 'duplicate-file', 'mydata/train/a.png');
  });

  it('a JSON syntax error, with line and column', async () => {
    const json = '{\n  "images": [],\n  "annotations": [] oops\n}';
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png' }], { json }),
      'json-syntax',
      'mydata/annotations/panoptic_train.json',
    );
    expect(error.problem).toMatch(/line 3, column 21/);
    const broken = simpleFolder(['a.png'], { categories: '[{"id": 1,' }).map((f) =>
      f.path.endsWith('categories.json') ? { ...f, file: new Blob(['[{"id": 1,']) } : f,
    );
    expect((await expectBlocked(broken, 'json-syntax', 'simple/categories.json')).problem).toMatch(/line 1, column 11/);
  });

  it('JPEG masks', async () => {
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', mask: fakeJpeg(8, 6) }]),
      'jpeg-mask',
      'mydata/annotations/panoptic_train/a.png',
    );
    expect(error.problem).toMatch(/lossy/);
  });

  it('16-bit masks', async () => {
    await expectBlocked(
      cocoFolder([{ name: 'a.png', mask: customPng(new Uint16Array(48 * 3), 8, 6, 3, 16) }]),
      'mask-16-bit',
      'mydata/annotations/panoptic_train/a.png',
    );
  });

  it('a missing image or mask file', async () => {
    const withoutMask = cocoFolder([{ name: 'a.png' }]).filter((f) => !f.path.includes('panoptic_train/'));
    expect(
      (await expectBlocked(withoutMask, 'missing-mask', 'mydata/annotations/panoptic_train.json')).problem,
    ).toContain('a.png');
    const withoutImage = cocoFolder([{ name: 'a.png' }, { name: 'b.png' }]).filter(
      (f) => f.path !== 'mydata/train/b.png',
    );
    expect((await expectBlocked(withoutImage, 'missing-image')).problem).toContain('b.png');
  });

  it('a file that can no longer be read, and a damaged zip', async () => {
    const gone = { size: 10, read: () => Promise.reject(new DOMException('The file was moved.', 'NotReadableError')) };
    const error = await expectBlocked(
      [
        { path: 'photos/a.png', file: blobOf(rgbPng(3, 3)) },
        { path: 'photos/b.png', file: gone },
      ],
      'unreadable-file',
      'photos/b.png',
    );
    expect(error.fix).toMatch(/drop the folder again/);
    await expectBlocked(
      [{ path: 'upload.zip', file: new Blob(['not a zip archive, just text']) }],
      'bad-zip',
      'upload.zip',
    );
    const zip = new Uint8Array(await (await zipOf([{ path: 'a.png', bytes: rgbPng(30, 30) }])).arrayBuffer());
    zip[60] ^= 0xff; // inside the compressed data: the entry's CRC no longer matches
    const error2 = await expectBlocked([{ path: 'upload.zip', file: blobOf(zip) }], 'bad-zip', 'upload.zip');
    expect(error2.problem).toContain('a.png');
  });

  it('a labeled role for images without masks', async () => {
    const files = [{ path: 'photos/a.png', file: blobOf(rgbPng(4, 4)) }];
    const plan: ImportPlan = await planImport(files, { role: 'validation' });
    only(plan.errors, 'needs-labels');
    const unchecked = await planImport(files);
    await expect(commitImport(db, unchecked, { name: 'x', role: 'labeled' })).rejects.toMatchObject({
      code: 'needs-labels',
    });
  });
});

describe('import messages', () => {
  it('a COCO panoptic JSON without categories is a refused COCO import, and its masks are not photos', async () => {
    const files = cocoFolder([{ name: 'a.png' }, { name: 'b.png' }], { categories: null });
    const error = await expectBlocked(files, 'missing-categories', 'mydata/annotations/panoptic_train.json');
    expect(error.fix).toMatch(/"categories"/);
    const plan = await planImport(files);
    expect(plan.layout).toBe('coco-panoptic');
    expect(plan.notices.map((n) => n.code)).toEqual([]);
    const set = await planImports(files);
    expect(set.splits.map((s) => [s.layout, s.imageCount])).toEqual([['coco-panoptic', 0]]);
    expect(set.splits[0].errors.map((e) => e.code)).toEqual(['missing-categories']);
    await expect(commitImports(db, set, [{ name: 'x', role: 'labeled' }])).rejects.toMatchObject({
      code: 'missing-categories',
    });
  });

  it('a duplicate segment id is reported as such, with a fix for the id', async () => {
    const segments = [...segmentsOf(sceneIds(), 8), { id: 1002, category_id: 1, iscrowd: 0 }];
    const error = await expectBlocked(
      cocoFolder([{ name: 'a.png', segments }]),
      'duplicate-segment-id',
      'mydata/annotations/panoptic_train.json',
    );
    expect(error.problem).toBe('segment id 1002 appears more than once in the segments_info of a.png.');
    expect(error.fix).toMatch(/repeated entry for id 1002/);
  });

  it('a JSON syntax error offers no layout and no image count beside it', async () => {
    const files = cocoFolder([{ name: 'a.png' }, { name: 'b.png' }], { json: '{"images": [' });
    const plan = await planImport(files);
    expect(plan.errors.map((e) => e.code)).toEqual(['json-syntax']);
    expect(plan).toMatchObject({ imageCount: 0, labeledCount: 0 });
    expect(plan.notices).toEqual([]);
    const set = await planImports(files);
    expect(set.splits).toEqual([]);
    expect(set.errors.map((e) => [e.code, e.file])).toEqual([
      ['json-syntax', 'mydata/annotations/panoptic_train.json'],
    ]);
    expect(set.notices).toEqual([]);
  });

  it('leftover images and skipped files are notices, not errors, with counts in the right number', async () => {
    const files = [
      ...cocoFolder([{ name: 'a.png' }]),
      { path: 'mydata/stray.png', file: blobOf(rgbPng(4, 4)) },
      { path: 'mydata/notes.txt', file: new Blob(['x']) },
    ];
    const plan = await planImport(files);
    expect(plan.errors).toEqual([]);
    expect(only(plan.notices, 'unused-images').problem).toBe(
      '1 image is not part of the detected layout and was left out (mydata/stray.png).',
    );
    expect(only(plan.notices, 'skipped-files').problem).toBe(
      '1 file is not an image or annotation JSON and was skipped (mydata/notes.txt).',
    );
    const many = await planImport([...files, { path: 'mydata/more.txt', file: new Blob(['y']) }]);
    expect(only(many.notices, 'skipped-files').problem).toMatch(/^2 files are not/);
  });
});

describe('a drop with several splits', () => {
  const demo = generateDemoDataset({ seed: 3, width: 24, height: 20, labeled: 2, unlabeled: 3, validation: 1 });

  it('plans the demo folder (train, val and unlabeled images) as one dataset per split, masks never as photos', async () => {
    const set = await planImports(demoAsCocoFiles(demo));
    expect(set.errors).toEqual([]);
    expect(set.notices).toEqual([]);
    expect(
      set.splits.map((s) => ({
        layout: s.layout,
        name: s.suggestedName,
        role: s.suggestedRole,
        images: s.imageCount,
        labeled: s.labeledCount,
        errors: s.errors.length,
        notices: s.notices.length,
      })),
    ).toEqual([
      {
        layout: 'coco-panoptic',
        name: `${DEMO_ROOT} (panoptic_labeled)`,
        role: 'labeled',
        images: 2,
        labeled: 2,
        errors: 0,
        notices: 0,
      },
      {
        layout: 'coco-panoptic',
        name: `${DEMO_ROOT} (panoptic_validation)`,
        role: 'validation',
        images: 1,
        labeled: 1,
        errors: 0,
        notices: 0,
      },
      {
        layout: 'unlabeled',
        name: `${DEMO_ROOT} (unlabeled)`,
        role: 'unlabeled',
        images: 3,
        labeled: 0,
        errors: 0,
        notices: 0,
      },
    ]);
    expect(set.splits[2].images.map((i) => i.fileName)).toEqual([
      'unlabeled/demo_unlabeled_00000.png',
      'unlabeled/demo_unlabeled_00001.png',
      'unlabeled/demo_unlabeled_00002.png',
    ]);
    // The single-dataset planner still refuses the folder, and counts no mask as a left-out image.
    const single = await planImport(demoAsCocoFiles(demo), {
      annotationFile: `${DEMO_ROOT}/annotations/panoptic_validation.json`,
    });
    expect(only(single.notices, 'unused-images').problem).toMatch(/^5 images are not part/);
  });

  it('imports each split as its own dataset with the chosen names and roles, or leaves it out', async () => {
    const set = await planImports(demoAsCocoFiles(demo));
    const records = await commitImports(db, set, [
      { name: 'train', role: 'labeled' },
      { name: 'val as train', role: 'labeled' },
      { name: 'photos', role: 'unlabeled' },
    ]);
    expect(records.map((r) => [r.name, r.role, r.layout, r.imageCount, r.labeledCount])).toEqual([
      ['train', 'labeled', 'coco-panoptic', 2, 2],
      ['val as train', 'labeled', 'coco-panoptic', 1, 1],
      ['photos', 'unlabeled', 'unlabeled', 3, 0],
    ]);
    const photos = await listImages(db, records[2].id, 0, 10);
    expect(photos.every((i) => !i.mask && i.fileName.startsWith('unlabeled/'))).toBe(true);
    const skipped = await commitImports(db, await planImports(demoAsCocoFiles(demo)), [
      null,
      { name: 'val', role: 'validation' },
      null,
    ]);
    expect(skipped.map((r) => [r.name, r.role, r.imageCount])).toEqual([['val', 'validation', 1]]);
    await expect(commitImports(db, set, [null, null, null])).rejects.toMatchObject({ code: 'no-split-chosen' });
    for (const r of [...records, ...skipped]) await deleteDataset(db, r.id);
  });

  it('writes all chosen splits or none: a split that fails part-way takes the committed ones with it', async () => {
    let reads = 0;
    const flaky = rgbPng(8, 6, 5);
    // Readable while planning, gone by the time the second split is written.
    const vanishing = {
      size: flaky.length,
      read: async () =>
        ++reads > 1 ? Promise.reject(new DOMException('The file was moved.', 'NotReadableError')) : blobOf(flaky),
    };
    const val = cocoFolder([{ name: 'v.png' }], { split: 'val' }).map((f) =>
      f.path === 'mydata/val/v.png' ? { ...f, file: vanishing } : f,
    );
    const set = await planImports([...cocoFolder([{ name: 'a.png' }, { name: 'b.png' }]), ...val]);
    expect(set.splits.map((s) => [s.annotationFile, s.suggestedRole, s.errors.length])).toEqual([
      ['mydata/annotations/panoptic_train.json', 'labeled', 0],
      ['mydata/annotations/panoptic_val.json', 'validation', 0],
    ]);
    const before = await listDatasets(db);
    const choices = set.splits.map((s) => ({ name: s.suggestedName, role: s.suggestedRole }));
    await expect(commitImports(db, set, choices)).rejects.toMatchObject({
      code: 'unreadable-file',
      file: 'mydata/val/v.png',
    });
    expect(await listDatasets(db)).toEqual(before);
  });

  it('offers no left-over images while a split has problems: they may be its masks', async () => {
    const broken = simpleFolder(['a.png', 'b.png']).map((f) =>
      f.path.endsWith('categories.json') ? { ...f, file: new Blob(['[{"id": 1,']) } : f,
    );
    const set = await planImports([...broken, { path: 'simple/extra/c.png', file: blobOf(rgbPng(4, 4)) }]);
    expect(set.splits.map((s) => [s.layout, s.imageCount, s.errors.map((e) => e.code)])).toEqual([
      ['simple', 0, ['json-syntax']],
    ]);
    const plan = await planImport(broken);
    expect(plan.notices.filter((n) => n.code === 'unused-images')).toEqual([]);
  });

  it('a split with problems blocks the import unless it is left out', async () => {
    const set = await planImports([
      ...cocoFolder([{ name: 'a.png' }]),
      ...cocoFolder([{ name: 'v.png' }], { split: 'val', categories: null }),
    ]);
    expect(set.splits.map((s) => s.errors.map((e) => e.code))).toEqual([[], ['missing-categories']]);
    const before = await listDatasets(db);
    await expect(
      commitImports(db, set, [
        { name: 't', role: 'labeled' },
        { name: 'v', role: 'validation' },
      ]),
    ).rejects.toMatchObject({ code: 'missing-categories' });
    expect(await listDatasets(db)).toEqual(before);
    const [train] = await commitImports(db, set, [{ name: 't', role: 'labeled' }, null]);
    expect(train).toMatchObject({ name: 't', imageCount: 1, labeledCount: 1 });
    await deleteDataset(db, train.id);
  });

  it('reports progress over all chosen splits', async () => {
    const set = await planImports(demoAsCocoFiles(demo));
    const events: { done: number; total: number }[] = [];
    const records = await commitImports(
      db,
      set,
      set.splits.map((s) => ({ name: s.suggestedName, role: s.suggestedRole })),
      { batchSize: 1, onProgress: (p) => events.push(p) },
    );
    expect(events.every((e) => e.total === 6)).toBe(true);
    expect(events[events.length - 1].done).toBe(6);
    expect(events.map((e) => e.done)).toEqual([...events.map((e) => e.done)].sort((a, b) => a - b));
    for (const r of records) await deleteDataset(db, r.id);
  });
});

describe('commit', () => {
  it('stores images, masks and segments; an unlabeled role drops the masks', async () => {
    const files = cocoFolder([{ name: 'a.png' }, { name: 'b.png' }, { name: 'c.png' }]);
    const labeled = await commitImport(
      db,
      await planImport(files),
      { name: 'train', role: 'labeled' },
      { batchSize: 2 },
    );
    expect(labeled).toMatchObject({
      name: 'train',
      role: 'labeled',
      layout: 'coco-panoptic',
      imageCount: 3,
      labeledCount: 3,
      committed: true,
    });
    const images = await listImages(db, labeled.id, 0, 10);
    expect(images.map((i) => [i.index, i.fileName, i.blob.type, i.mask?.type, i.segments?.length])).toEqual([
      [0, 'a.png', 'image/png', 'image/png', 3],
      [1, 'b.png', 'image/png', 'image/png', 3],
      [2, 'c.png', 'image/png', 'image/png', 3],
    ]);
    expect(images[0].thumbnail).toBeUndefined(); // no OffscreenCanvas in Node
    const plan = await planImport(files, { role: 'unlabeled' });
    only(plan.notices, 'masks-ignored');
    const unlabeled = await commitImport(db, plan, { name: 'u', role: 'unlabeled' });
    expect(unlabeled).toMatchObject({ labeledCount: 0, categories: [] });
    expect((await listImages(db, unlabeled.id, 0, 10)).every((i) => !i.mask && !i.segments)).toBe(true);
    await deleteDataset(db, unlabeled.id);
  });

  it('reports progress with rate and remaining time', async () => {
    const events: { done: number; total: number; bytes: number; filesPerSecond: number; etaSeconds: number }[] = [];
    await commitImport(
      db,
      await planImport(cocoFolder([{ name: 'a.png' }, { name: 'b.png' }])),
      { name: 'p', role: 'labeled' },
      { onProgress: (p) => events.push(p), batchSize: 1 },
    );
    const last = events[events.length - 1];
    expect(last).toMatchObject({ done: 2, total: 2, etaSeconds: 0 });
    expect(last.bytes).toBeGreaterThan(0);
    expect(last.filesPerSecond).toBeGreaterThan(0);
  });
});
