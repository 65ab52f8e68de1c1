/**
 * Mask2Former post-processing on the CPU, after one readback of the decoder outputs (method-spec
 * §5.1 panoptic, §5.2 semantic). Shared by evaluation, pseudo-labels and the viewer.
 *
 * Inputs are row-major typed arrays: class scores [Q, C+1] (logits, or log-probabilities after
 * ensembling — softmax of log p is p again) with the no-object column last, and mask logits
 * [Q, H·W] already at output resolution.
 */

export interface PanopticSegmentInfo {
  /** 1, 2, … in creation order; 0 in the id map is void. */
  id: number;
  isthing: boolean;
  /** Contiguous class index in [0, C). */
  category_id: number;
  /**
   * The class probability the inference kept the segment for: its query's max softmax (over the
   * classes and no-object); a stuff segment merged from several queries keeps the highest.
   */
  score: number;
}

export interface PanopticResult {
  /** Segment id per pixel, row-major [H, W]. */
  idMap: Int32Array;
  segments: PanopticSegmentInfo[];
}

export interface PanopticInferenceOptions {
  numClasses: number;
  isThing: (classIndex: number) => boolean;
  /** Keep queries whose max softmax is strictly above this; DEARLi uses 0.0 (M2F's default is 0.8). */
  objectMaskThreshold?: number;
  /** Drop a query when (pixels it wins) / (pixels with σ ≥ 0.5) is below this. */
  overlapThreshold?: number;
}

/** Per query: softmax over C+1 columns, then max and first-index argmax (torch.max semantics). */
function queryScores(
  classLogits: ArrayLike<number>,
  numQueries: number,
  numColumns: number,
): { scores: Float64Array; labels: Int32Array; probs: Float64Array } {
  const probs = softmaxRows(classLogits, numQueries, numColumns);
  const scores = new Float64Array(numQueries);
  const labels = new Int32Array(numQueries);
  for (let q = 0; q < numQueries; q++) {
    let best = -1;
    let arg = 0;
    for (let c = 0; c < numColumns; c++) {
      const p = probs[q * numColumns + c];
      if (p > best) {
        best = p;
        arg = c;
      }
    }
    scores[q] = best;
    labels[q] = arg;
  }
  return { scores, labels, probs };
}

export function softmaxRows(logits: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let c = 0; c < cols; c++) max = Math.max(max, logits[r * cols + c]);
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const e = Math.exp(logits[r * cols + c] - max);
      out[r * cols + c] = e;
      sum += e;
    }
    for (let c = 0; c < cols; c++) out[r * cols + c] /= sum;
  }
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

export function panopticInference(
  classLogits: ArrayLike<number>,
  maskLogits: ArrayLike<number>,
  numQueries: number,
  height: number,
  width: number,
  options: PanopticInferenceOptions,
): PanopticResult {
  const { numClasses, isThing } = options;
  const objectMaskThreshold = options.objectMaskThreshold ?? 0.0;
  const overlapThreshold = options.overlapThreshold ?? 0.8;
  const pixels = height * width;
  if (classLogits.length !== numQueries * (numClasses + 1))
    throw new RangeError(`class logits: ${classLogits.length} values, expected ${numQueries}x${numClasses + 1}`);
  if (maskLogits.length !== numQueries * pixels)
    throw new RangeError(`mask logits: ${maskLogits.length} values, expected ${numQueries}x${height}x${width}`);

  const { scores, labels } = queryScores(classLogits, numQueries, numClasses + 1);
  const kept: number[] = [];
  for (let q = 0; q < numQueries; q++) if (labels[q] !== numClasses && scores[q] > objectMaskThreshold) kept.push(q);

  const idMap = new Int32Array(pixels);
  const segments: PanopticSegmentInfo[] = [];
  if (kept.length === 0) return { idMap, segments };

  // Per pixel: which kept query wins score·σ(mask) (first index on ties, as torch.argmax).
  const winner = new Int32Array(pixels);
  const maskProbs = kept.map((q) => {
    const m = new Float64Array(pixels);
    for (let i = 0; i < pixels; i++) m[i] = sigmoid(maskLogits[q * pixels + i]);
    return m;
  });
  for (let i = 0; i < pixels; i++) {
    let best = -Infinity;
    let arg = 0;
    for (let k = 0; k < kept.length; k++) {
      const v = scores[kept[k]] * maskProbs[k][i];
      if (v > best) {
        best = v;
        arg = k;
      }
    }
    winner[i] = arg;
  }

  const stuffSegmentId = new Map<number, number>();
  for (let k = 0; k < kept.length; k++) {
    const classIndex = labels[kept[k]];
    const thing = isThing(classIndex);
    const m = maskProbs[k];
    let areaWon = 0;
    let areaOriginal = 0;
    let areaFinal = 0;
    for (let i = 0; i < pixels; i++) {
      const won = winner[i] === k;
      const on = m[i] >= 0.5;
      if (won) areaWon++;
      if (on) areaOriginal++;
      if (won && on) areaFinal++;
    }
    if (areaWon === 0 || areaOriginal === 0 || areaFinal === 0) continue;
    if (areaWon / areaOriginal < overlapThreshold) continue;
    let id: number;
    const existing = thing ? undefined : stuffSegmentId.get(classIndex);
    const score = scores[kept[k]];
    if (existing !== undefined) {
      id = existing;
      segments[id - 1].score = Math.max(segments[id - 1].score, score);
    } else {
      id = segments.length + 1;
      segments.push({ id, isthing: thing, category_id: classIndex, score });
      if (!thing) stuffSegmentId.set(classIndex, id);
    }
    for (let i = 0; i < pixels; i++) if (winner[i] === k && m[i] >= 0.5) idMap[i] = id;
  }
  return { idMap, segments };
}

/** S[c, p] = Σ_q softmax(cls_q)[c] · σ(mask_q[p]) for c < C (no-object dropped); returns [C, H·W]. */
export function semanticScores(
  classLogits: ArrayLike<number>,
  maskLogits: ArrayLike<number>,
  numQueries: number,
  numClasses: number,
  pixels: number,
): Float32Array {
  const probs = softmaxRows(classLogits, numQueries, numClasses + 1);
  const out = new Float64Array(numClasses * pixels);
  const m = new Float64Array(pixels);
  for (let q = 0; q < numQueries; q++) {
    for (let i = 0; i < pixels; i++) m[i] = sigmoid(maskLogits[q * pixels + i]);
    for (let c = 0; c < numClasses; c++) {
      const p = probs[q * (numClasses + 1) + c];
      const row = c * pixels;
      for (let i = 0; i < pixels; i++) out[row + i] += p * m[i];
    }
  }
  return Float32Array.from(out);
}

/** Semantic inference: per-pixel argmax over classes of semanticScores (first index on ties). */
export function semanticInference(
  classLogits: ArrayLike<number>,
  maskLogits: ArrayLike<number>,
  numQueries: number,
  numClasses: number,
  pixels: number,
): Int32Array {
  const s = semanticScores(classLogits, maskLogits, numQueries, numClasses, pixels);
  const labels = new Int32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    let best = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      const v = s[c * pixels + i];
      if (v > best) {
        best = v;
        labels[i] = c;
      }
    }
  }
  return labels;
}
