import 'fake-indexeddb/auto';
import { test } from 'vitest';
import { encode } from 'fast-png';
import { generateDemoDataset, demoAsCocoFiles, planImport, summarizePlan, openStore, commitImport, listImages } from '.';
test('smoke', async () => {
  let t = performance.now();
  const demo = generateDemoDataset({});
  console.log('gen', performance.now() - t); t = performance.now();
  const im = demo.splits[0].images[0];
  for (const level of [1, 3, 6]) { t = performance.now(); let n = 0; for (let k = 0; k < 5; k++) n = encode({ width: 256, height: 256, data: im.rgb, channels: 3, depth: 8 }, { zlib: { level: level as 1 } }).length; console.log('level', level, n, (performance.now() - t) / 5); }
  t = performance.now();
  for (const split of demo.splits) {
    const files = demoAsCocoFiles(demo, split);
    console.log('files', split.role, files.length, files.reduce((s, f) => s + f.file.size, 0), performance.now() - t); t = performance.now();
    const plan = await planImport(files);
    const s = summarizePlan(plan);
    console.log(s.layout, s.imageCount, s.labeledCount, s.suggestedName, s.suggestedRole, JSON.stringify(s.notices), JSON.stringify(s.errors).slice(0, 500), performance.now() - t); t = performance.now();
    const db = await openStore();
    const ds = await commitImport(db, plan, { name: split.name, role: split.role });
    console.log(ds.name, ds.imageCount, ds.bytes, (await listImages(db, ds.id, 0, 2)).map(r => [r.id, r.segments?.length]), performance.now() - t); t = performance.now();
  }
});
