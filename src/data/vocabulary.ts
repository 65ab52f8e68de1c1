/**
 * Class vocabulary: the names each class is prompted with (method-spec §2; fidelity review §7).
 * Upstream splits every class name on commas (ADE's "road, route" is two prompts) and, for ADE20K-150
 * and COCO panoptic, replaces the dataset's names by curated synonym lists (src/data/prompts, from the
 * DEARLi repository, MIT). The curated lists leave out ambiguous names on purpose (ADE's "toilet, can,
 * …, pot, …, stool" becomes toilet, commode, crapper, potty), so they replace a category's names.
 *
 * Match rule: a dataset gets a curated vocabulary when its category names, compared case- and
 * space-insensitively, are exactly that vocabulary's names (all 150 of ADE20K-150 as Mask2Former's
 * converter writes them, or all 133 of COCO panoptic), whatever the ids and their order. A subset or
 * a renamed class is not matched: its names stay the dataset's own. Categories that bring their own
 * synonyms keep them, and every name stays editable on the Models tab.
 */
import type { Category } from '../core/panoptic';
import { ADE20K_150_NAMES, ADE20K_150_PROMPTS } from './prompts/ade20k150';
import { COCO_PANOPTIC_NAMES, COCO_PANOPTIC_PROMPTS } from './prompts/cocoPanoptic';

export interface CuratedVocabulary {
  name: string;
  /** Normalised dataset category name → the curated names of that class. */
  prompts: Map<string, string[]>;
}

/** Names split on commas, trimmed, without empties or repeats, in order. */
export function splitClassNames(names: readonly string[]): string[] {
  return [
    ...new Set(
      names
        .flatMap((n) => n.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
}

/** The names a category is prompted with: its synonyms when it has them, else its name; split on commas. */
export function promptNames(category: Pick<Category, 'name' | 'synonyms'>): string[] {
  return splitClassNames(category.synonyms?.length ? category.synonyms : [category.name]);
}

/** How category names are compared: lower case, single spaces, no outer spaces. */
function normalizeClassName(name: string): string {
  return name.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** `id:text` lines → id → text; the prompt files' placeholders (`invalid_class_id`) are left out. */
function idLines(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const rest = line.slice(colon + 1).trim();
    if (rest !== 'invalid_class_id') out.set(Number(line.slice(0, colon)), rest);
  }
  return out;
}

function curatedVocabulary(name: string, namesText: string, promptsText: string): CuratedVocabulary {
  const prompts = idLines(promptsText);
  const byName = new Map<string, string[]>();
  for (const [id, categoryName] of idLines(namesText))
    byName.set(normalizeClassName(categoryName), splitClassNames([prompts.get(id)!]));
  return { name, prompts: byName };
}

export const CURATED_VOCABULARIES: readonly CuratedVocabulary[] = [
  curatedVocabulary('ADE20K-150', ADE20K_150_NAMES, ADE20K_150_PROMPTS),
  curatedVocabulary('COCO panoptic', COCO_PANOPTIC_NAMES, COCO_PANOPTIC_PROMPTS),
];

/** The curated vocabulary whose names are exactly the categories' names, if any. */
export function matchCuratedVocabulary(categories: readonly Pick<Category, 'name'>[]): CuratedVocabulary | null {
  const names = new Set(categories.map((c) => normalizeClassName(c.name)));
  if (names.size !== categories.length) return null;
  return (
    CURATED_VOCABULARIES.find((v) => v.prompts.size === names.size && [...names].every((n) => v.prompts.has(n))) ?? null
  );
}

/** Categories with the curated synonyms filled in where a vocabulary matches (and they have none of their own). */
export function withCuratedSynonyms(categories: readonly Category[]): {
  categories: Category[];
  vocabulary: CuratedVocabulary | null;
} {
  const vocabulary = matchCuratedVocabulary(categories);
  if (!vocabulary) return { categories: [...categories], vocabulary };
  return {
    categories: categories.map((c) =>
      c.synonyms?.length ? c : { ...c, synonyms: vocabulary.prompts.get(normalizeClassName(c.name))! },
    ),
    vocabulary,
  };
}
