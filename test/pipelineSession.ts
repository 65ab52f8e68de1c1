/**
 * Lab sessions in Node for the pipeline tests: IndexedDB from fake-indexeddb (one database per
 * test), an in-memory weight cache, tfjs cpu, and PNG decoding with fast-png (the demo world's images
 * are PNGs; resizing is bilinear in tfjs with half-pixel centres, as the browser's canvas samples and
 * as the demo CLIP's own gate test resizes: without them the demo's 256-px images stretched to the
 * 320-px CLIP input are sampled at other positions, and the demo CLIP, which tells classes by fine
 * textures, fell from 91.6 % to 80.2 % GT-mask zero-shot mean class accuracy through the session).
 */
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { decode as decodePng } from 'fast-png';
import { importDemoDatasets, type DemoOptions } from '../src/data/demo';
import * as store from '../src/data/store';
import { initBackend } from '../src/models/backend';
import { MemoryWeightCache } from '../src/models/weights/cache';
import type { ImageDecoder } from '../src/pipeline/images';
import type { RunView } from '../src/pipeline/trainingApi';
import { LabSession } from '../src/pipeline/session';

export const nodePngDecoder: ImageDecoder = async (blob, _fileName, size) => {
  const png = decodePng(new Uint8Array(await blob.arrayBuffer()));
  const { width, height, channels } = png;
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0; p < width * height; p++)
    for (let ch = 0; ch < 3; ch++) rgb[3 * p + ch] = png.data[p * channels + Math.min(ch, channels - 1)];
  const out = size ?? { width, height };
  const resized = tf.tidy(() =>
    tf.image
      .resizeBilinear(tf.tensor3d(rgb, [height, width, 3]), [out.height, out.width], false, true)
      .round()
      .clipByValue(0, 255),
  );
  const values = await resized.data();
  resized.dispose();
  const rgba = new Uint8ClampedArray(out.width * out.height * 4);
  for (let p = 0; p < out.width * out.height; p++) {
    rgba.set([values[3 * p], values[3 * p + 1], values[3 * p + 2], 255], 4 * p);
  }
  return { rgba, width: out.width, height: out.height };
};

let databases = 0;

/** A fresh database name: each test works on its own storage. */
function freshDatabaseName(): string {
  return `dearli-pipeline-test-${++databases}-${Math.random().toString(36).slice(2)}`;
}

/** A session on the database `name` (opened again for a "reloaded" session). */
async function openNodeSession(name: string, decode: ImageDecoder = nodePngDecoder): Promise<LabSession> {
  // tfjs cpu, set up without test/fixtures.ts (which needs Vitest's defines), so scripts can open sessions too.
  const backend = await initBackend(['cpu']);
  const db = await store.openStore(name);
  return new LabSession({ backend, db, weightCache: new MemoryWeightCache(), decode });
}

/** A new database holding the demo world at a tiny size; returns its name and the dataset ids by split. */
export async function demoDatabase(options: DemoOptions): Promise<{ name: string; ids: Record<string, string> }> {
  const name = freshDatabaseName();
  const db = await store.openStore(name);
  const datasets = await importDemoDatasets(db, options);
  db.close();
  return { name, ids: Object.fromEntries(datasets.map((d) => [d.role, d.id])) };
}

/** Sessions a test opens, closed together (their models freed, their databases closed) by `closeAll`. */
export function sessionPool(): {
  open: (name: string, decode?: ImageDecoder) => Promise<LabSession>;
  closeAll: () => Promise<void>;
} {
  const sessions: LabSession[] = [];
  return {
    open: async (name, decode) => {
      const s = await openNodeSession(name, decode);
      sessions.push(s);
      return s;
    },
    closeAll: async () => {
      for (const s of sessions.splice(0)) {
        await s.dispose();
        s.platform.db.close();
      }
    },
  };
}

/** Trains a run as the session's job, as the Train tab does; `pauseAt` pauses it after that iteration. */
export async function trainAsJob(s: LabSession, runId: string, pauseAt?: number): Promise<RunView> {
  const abort = new AbortController();
  await s.training.api.watchTraining((view) => {
    if (view.id === runId && view.iteration === pauseAt) abort.abort();
  });
  return s.jobs.start('training', (signal) => {
    signal.addEventListener('abort', () => abort.abort());
    return s.training.train(runId, abort.signal);
  });
}
