/**
 * A model's classes against a dataset's categories, for exporting predictions that the dataset's own
 * annotations evaluate: the same ids and names, or else a mapping by name (a class's name or one of
 * its synonyms equal to a category's name, ignoring case and spaces) with what stays unmatched.
 */
import type { Category } from '../core/panoptic';
import type { PanopticPrediction } from '../data/predictionsExport';
import type { ClassMatch } from './useApi';

export interface ModelClass {
  id: number;
  name: string;
  synonyms: string[];
}

const key = (name: string) => name.trim().toLowerCase().replace(/\s+/g, ' ');

export function matchClasses(model: readonly ModelClass[], dataset: readonly Category[]): ClassMatch {
  const byId = new Map(dataset.map((c) => [c.id, c]));
  const same = model.length === dataset.length && model.every((m) => key(byId.get(m.id)?.name ?? '') === key(m.name));
  const categoryByName = new Map<string, Category>();
  for (const c of dataset) if (!categoryByName.has(key(c.name))) categoryByName.set(key(c.name), c);
  const byName: ClassMatch['byName'] = [];
  const unmatchedModel: string[] = [];
  const used = new Set<number>();
  for (const m of model) {
    const hit = [m.name, ...m.synonyms].map((n) => categoryByName.get(key(n))).find((c) => c !== undefined);
    if (hit) {
      byName.push({ model: m.name, modelId: m.id, dataset: hit.name, categoryId: hit.id });
      used.add(hit.id);
    } else unmatchedModel.push(m.name);
  }
  return { same, byName, unmatchedModel, unmatchedDataset: dataset.filter((c) => !used.has(c.id)).map((c) => c.name) };
}

/**
 * A prediction in the model's class ids → the same prediction in the dataset's ids by name; segments
 * of unmatched classes become void.
 */
export function predictionByName(prediction: PanopticPrediction, match: ClassMatch): PanopticPrediction {
  const datasetIdOf = new Map(match.byName.map((pair) => [pair.modelId, pair.categoryId]));
  const dropped = new Set(prediction.segments.filter((s) => !datasetIdOf.has(s.category_id)).map((s) => s.id));
  return {
    ...prediction,
    ids: dropped.size ? prediction.ids.map((id) => (dropped.has(id) ? 0 : id)) : prediction.ids,
    segments: prediction.segments
      .filter((s) => !dropped.has(s.id))
      .map((s) => ({ id: s.id, category_id: datasetIdOf.get(s.category_id)! })),
  };
}
