/**
 * A child process of `npm run ablation -- --jobs N` (scripts/ablationRunner.ts): its own lab session
 * (tfjs cpu in Node is single-threaded, so N processes use N cores), running the tasks the parent
 * sends one at a time and answering each with its figures.
 */
import type { AblationOptions, AblationTask } from './ablationRunner';
import { AblationSession, executeTask } from './ablationSession';

type Message = { open: AblationOptions } | { task: AblationTask } | { close: true };

let session: AblationSession | null = null;

// The parent stopped (its report is saved): nothing is left to answer.
process.on('disconnect', () => process.exit(1));

const send = (message: unknown) =>
  new Promise<void>((resolve, reject) => process.send!(message, (e: Error | null) => (e ? reject(e) : resolve())));

process.on('message', async (message: Message) => {
  try {
    if ('open' in message) {
      session = await AblationSession.open(message.open);
      await send({ ready: true });
    } else if ('task' in message) {
      await send({ outcome: await executeTask(session!, message.task) });
    } else {
      await session?.dispose();
      process.exit(0);
    }
  } catch (e) {
    await send({ error: (e as Error).stack ?? String(e) });
  }
});
