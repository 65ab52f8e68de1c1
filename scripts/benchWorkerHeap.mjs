// The JS heap of a page's dedicated workers for browser benchmarks, read over the DevTools protocol
// (workers have no performance.memory). The page calls `window.__benchWorkerHeap(request)`:
//   { op: 'gc', url }     waits for a worker whose script URL contains `url`, collects its garbage
//                         and returns its used heap in bytes;
//   { op: 'start', url }  samples that worker's used heap every 20 ms from now on;
//   { op: 'peak' }        returns the largest sample since 'start' or the last 'peak', and goes on;
//   { op: 'stop' }        stops sampling and returns the largest sample since the last 'peak'.
// Workers are reached through the page's own CDP session with auto-attach in non-flattened mode
// (Target.sendMessageToTarget), which Playwright's CDPSession can drive; the V8 inspector answers
// Runtime.getHeapUsage between the worker's JavaScript steps, so a long synchronous task is sampled too.

const SAMPLE_MS = 20;

export async function exposeWorkerHeap(page) {
  const session = await page.context().newCDPSession(page);
  /** Attached workers: sessionId → script URL. */
  const workers = new Map();
  const pending = new Map();
  let nextId = 0;
  session.on('Target.attachedToTarget', ({ sessionId, targetInfo }) => {
    if (targetInfo.type === 'worker') workers.set(sessionId, targetInfo.url);
  });
  session.on('Target.detachedFromTarget', ({ sessionId }) => workers.delete(sessionId));
  session.on('Target.receivedMessageFromTarget', ({ message }) => {
    const reply = JSON.parse(message);
    const waiting = pending.get(reply.id);
    if (!waiting) return;
    pending.delete(reply.id);
    if (reply.error) waiting.reject(new Error(`${reply.error.message} (${reply.error.code})`));
    else waiting.resolve(reply.result);
  });
  const send = (sessionId, method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++nextId;
      pending.set(id, { resolve, reject });
      session
        .send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch(reject);
    });
  await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  async function workerSession(url) {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      for (const [sessionId, workerUrl] of workers) if (workerUrl.includes(url)) return sessionId;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no worker whose script URL contains ${url} (attached: ${[...workers.values()].join(', ')})`);
  }
  const usedHeap = async (sessionId) => (await send(sessionId, 'Runtime.getHeapUsage')).usedSize;

  let sampling = null;
  let peak = 0;
  await page.exposeFunction('__benchWorkerHeap', async ({ op, url }) => {
    if (op === 'gc') {
      const sessionId = await workerSession(url);
      await send(sessionId, 'HeapProfiler.collectGarbage');
      return usedHeap(sessionId);
    }
    if (op === 'start') {
      const sessionId = await workerSession(url);
      peak = await usedHeap(sessionId);
      const state = { on: true };
      sampling = state;
      void (async () => {
        while (state.on && workers.has(sessionId)) {
          peak = Math.max(peak, await usedHeap(sessionId).catch(() => 0));
          await new Promise((r) => setTimeout(r, SAMPLE_MS));
        }
      })();
      return peak;
    }
    const largest = peak;
    peak = 0;
    if (op === 'stop' && sampling) {
      sampling.on = false;
      sampling = null;
    }
    return largest;
  });
}
