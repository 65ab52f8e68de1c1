/**
 * The file list an import works on: path normalisation, reading (plain Blobs or lazily inflated
 * zip entries), .zip expansion with @zip.js/zip.js, and JSON parsing with line/column errors.
 */
import { BlobReader, ZipReader, type FileEntry } from '@zip.js/zip.js';
import { LIMITS, limitError } from '../core/limits';
import { inflateZipEntry } from '../core/zipEntry';
import { problems } from './problems';
import type { ImportFile, LazyFile } from './types';

/** Forward slashes, no leading './' or '/', no empty or '.' segments. */
export function normalizePath(path: string): string {
  return path
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function stem(name: string): string {
  const base = baseName(name);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? base : base.slice(0, dot);
}

export function extension(name: string): string {
  const base = baseName(name);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

/** Operating-system litter that is skipped silently (Finder metadata, Windows thumbnails). */
export function isSystemFile(path: string): boolean {
  const base = baseName(path);
  return (
    path.split('/').some((s) => s === '__MACOSX') ||
    base.startsWith('.') ||
    base === 'Thumbs.db' ||
    base === 'desktop.ini'
  );
}

function isLazy(file: Blob | LazyFile): file is LazyFile {
  return typeof (file as LazyFile).read === 'function';
}

export async function readBlob(file: Blob | LazyFile): Promise<Blob> {
  return isLazy(file) ? file.read() : file;
}

export async function readBytes(file: Blob | LazyFile): Promise<Uint8Array> {
  return new Uint8Array(await (await readBlob(file)).arrayBuffer());
}

async function readText(file: Blob | LazyFile): Promise<string> {
  return (await readBlob(file)).text();
}

/** Reads and parses a JSON file, refusing one over LIMITS.jsonBytes before reading it. */
/** A JSON file's text, refused by size before it is read. */
export async function readJsonText(file: Blob | LazyFile, path: string): Promise<string> {
  if (file.size > LIMITS.jsonBytes)
    throw limitError(
      'json-too-large',
      `the JSON file has ${file.size} bytes`,
      'jsonBytes',
      path,
      'Split the annotations into several files',
    );
  return readText(file);
}

export async function readJson(file: Blob | LazyFile, path: string): Promise<unknown> {
  return parseJson(await readJsonText(file, path), path);
}

/** Parses JSON, turning a syntax error into a DearliError with the line and column. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const { line, column } = locateJsonError(message, text);
    const detail = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/ in JSON at position \d+/, '')
      .replace(/^JSON\.parse: /, '')
      .replace(/ at line \d+ column \d+ of the JSON data$/, '');
    throw problems.jsonSyntax(file, detail, line, column);
  }
}

/** Engines report either a character position (V8) or line and column (Firefox); unknown means the end. */
function locateJsonError(message: string, text: string): { line: number; column: number } {
  const lineCol = /line (\d+) column (\d+)/.exec(message);
  if (lineCol) return { line: Number(lineCol[1]), column: Number(lineCol[2]) };
  const position = /position (\d+)/.exec(message);
  const offset = position ? Number(position[1]) : text.length;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

export function isZip(path: string): boolean {
  return extension(path) === 'zip';
}

/**
 * Lists a zip archive as import files without reading it into memory: the archive is read through
 * BlobReader (slices of the Blob, which for a dropped File stay on disk), and each entry is
 * inflated only when the import reads it. Paths are prefixed with `root` (the zip's name) when
 * the archive has files at its top level, so every layout sees one dataset folder.
 */
export async function filesFromZip(zip: Blob, zipPath: string): Promise<ImportFile[]> {
  const reader = new ZipReader(new BlobReader(zip), { useWebWorkers: false });
  let entries;
  try {
    entries = await reader.getEntries();
  } catch (e) {
    throw problems.badZip(zipPath, e instanceof Error ? e.message : String(e));
  }
  const files = entries.filter((e): e is FileEntry => !e.directory);
  const encrypted = files.find((e) => e.encrypted);
  if (encrypted) throw problems.badZip(zipPath, `${encrypted.filename} is encrypted`);
  const declared = files.reduce((sum, e) => sum + e.uncompressedSize, 0);
  if (declared > LIMITS.zipArchiveBytes)
    throw limitError(
      'zip-limit',
      `the archive's entries inflate to ${declared} bytes`,
      'zipArchiveBytes',
      zipPath,
      'Split the dataset into several zips',
    );
  const root = stem(zipPath);
  const paths = files.map((e) => normalizePath(e.filename));
  const topLevelFiles = paths.some((p) => !p.includes('/'));
  return files.map((entry, i) => ({
    path: topLevelFiles ? `${root}/${paths[i]}` : paths[i],
    file: zipEntryFile(entry, zipPath),
  }));
}

/** An entry inflated on read within the zip caps of LIMITS (absolute and ratio), at exactly its declared size. */
function zipEntryFile(entry: FileEntry, zipPath: string): LazyFile {
  return { size: entry.uncompressedSize, read: () => inflateZipEntry(entry, zipPath) };
}

/** Replaces every .zip in the list by its entries (zips inside zips are not opened). */
export async function expandZips(files: ImportFile[]): Promise<ImportFile[]> {
  const out: ImportFile[] = [];
  for (const f of files) {
    if (isZip(f.path)) {
      const blob = await readBlob(f.file);
      const inner = await filesFromZip(blob, f.path);
      const prefix = dirName(normalizePath(f.path));
      for (const entry of inner) out.push({ path: prefix ? `${prefix}/${entry.path}` : entry.path, file: entry.file });
    } else out.push(f);
  }
  return out;
}
