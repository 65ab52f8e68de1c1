/** What e2e tests share: opening the lab and handing it files the way a person would. */
import { expect, type Page } from '@playwright/test';

export interface FileSpec {
  /** Path relative to the dropped folder's parent, e.g. "mydata/images/a.png"; "empty/" is an empty folder. */
  path: string;
  bytes: Uint8Array;
  type?: string;
}

export async function openLab(page: Page): Promise<void> {
  page.on('pageerror', (e) => console.error(`[pageerror] ${e.message}`));
  await page.goto('/');
  await expect(page.getByTestId('backend-badge')).not.toHaveText(/starting/, { timeout: 120_000 });
}

/** Blobs in Node → serialisable specs (bytes as plain arrays cross page.evaluate). */
export async function toFileSpecs(files: { path: string; file: Blob }[]): Promise<FileSpec[]> {
  return Promise.all(
    files.map(async (f) => ({ path: f.path, bytes: new Uint8Array(await f.file.arrayBuffer()), type: f.file.type })),
  );
}

/**
 * Drops a folder tree on the drop zone with a synthesised drop event whose items expose
 * File System entries (webkitGetAsEntry), as Chrome does for a real folder drop.
 */
export async function dropFiles(page: Page, files: FileSpec[]): Promise<void> {
  const payload = files.map((f) => ({
    path: f.path,
    data: Buffer.from(f.bytes).toString('base64'),
    type: f.type ?? '',
  }));
  await page.getByTestId('dropzone').evaluate((zone, specs) => {
    type Node = { name: string; file?: File; children?: Map<string, Node> };
    const root: Node = { name: '', children: new Map() };
    for (const s of specs) {
      const parts = s.path.split('/');
      let dir = root;
      for (const part of parts.slice(0, -1)) {
        if (!dir.children!.has(part)) dir.children!.set(part, { name: part, children: new Map() });
        dir = dir.children!.get(part)!;
      }
      const name = parts[parts.length - 1];
      if (!name) continue; // a path ending in '/' is a folder, possibly empty
      const bin = Uint8Array.from(atob(s.data), (c) => c.charCodeAt(0));
      dir.children!.set(name, { name, file: new File([bin], name, { type: s.type }) });
    }
    const entryOf = (n: Node): unknown =>
      n.file
        ? {
            isFile: true,
            isDirectory: false,
            name: n.name,
            file: (ok: (f: File) => void) => setTimeout(() => ok(n.file!), 0),
          }
        : {
            isFile: false,
            isDirectory: true,
            name: n.name,
            createReader: () => {
              let given = false;
              return {
                // Asynchronous like Chrome's: the caller reads again from inside its callback.
                readEntries: (ok: (e: unknown[]) => void) => {
                  const batch = given ? [] : [...n.children!.values()].map(entryOf);
                  given = true;
                  setTimeout(() => ok(batch), 0);
                },
              };
            },
          };
    const tops = [...root.children!.values()];
    const items = tops.map((n) => ({
      kind: 'file',
      webkitGetAsEntry: () => entryOf(n),
      getAsFile: () => n.file ?? null,
    }));
    const dataTransfer = { items, files: tops.filter((n) => n.file).map((n) => n.file), types: ['Files'] };
    for (const type of ['dragenter', 'dragover', 'drop']) {
      const ev = new DragEvent(type, { bubbles: true, cancelable: true });
      Object.defineProperty(ev, 'dataTransfer', { value: dataTransfer });
      zone.dispatchEvent(ev);
    }
  }, payload);
}

export function datasetRow(page: Page, name: string) {
  return page.locator(`[data-testid="dataset-row"][data-name="${name}"]`);
}
