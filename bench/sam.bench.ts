/**
 * SAM throughput on the lab's backend with random weights of the real architectures:
 * image-encoder ms/image, mask-decoder ms per point batch, automatic-mask-generation masks/s, and
 * GPU memory; optionally the same shapes on onnxruntime-web (WebGPU EP) over the onnx-bench graphs,
 * in the same page. Query string (`npm run bench:sam -- 'size=1024&models=slimsam-77&ort=1'`):
 *   models  comma list of sam-vit-b, sam-vit-l, sam-vit-h, slimsam-77 (default slimsam-77; at 1024
 *           SwiftShader takes minutes for SlimSAM's encoder, ViT-B about 10x that)
 *   size    encoder input img_size (default 128: REDUCED; 1024 = real SAM, needed for the ORT graphs)
 *   batch   decoder points per batch (default 64; the ORT decoder graph is 64 points)
 *   side    automatic-mask-generation points per side (default 4; SAM uses 32)
 *   parts   comma list of encoder, decoder, amg (default all three). Without `encoder` the decoder and
 *           AMG run on a random image embedding (AMG never includes the encoder)
 *   warmup  untimed runs per part, ours and ORT (default 1; the first run compiles the shaders)
 *   repeats timed runs per part (default 1); the table shows the median, the JSON every time
 *   ort     1 = also run onnxruntime-web (default 0): slimsam77_image_encoder / sam_vit_b_image_encoder
 *           for the encoder, sam_vit_b_decoder_64pts for the decoder (the prompt encoder and mask decoder
 *           are the same in every SAM size, so it is run once and compared with each model's decoder)
 *   ortWarmup, ortRepeats   override warmup/repeats for ORT
 *   ortForce  1 = run an ORT graph even when its largest tensor exceeds the device's buffer limits
 *   ours    0 = skip our encoder and decoder runs (ORT rows only; default 1)
 *   attention  comma list of fused, unfused (default both): our encoder with SAM's attention as one fused
 *           WebGPU dispatch (src/models/ops/fusedAttention.ts) and/or composed of tfjs ops (matMul,
 *           softmax, matMul in 32 MB chunks); one row each, ORT beside the first
 *   limit   seconds one measurement (ours or ORT, warm-up and repeats together) may take (default: no
 *           limit): past it the cell reads "> N s" and the benchmark goes on (bench/liveReport.ts)
 *   out     SUFFIX: scripts/bench.mjs writes bench-results/sam.SUFFIX.json instead of sam.json
 * Timed: ours encoder = setImage (resize, normalise, pad, upload of a 4:3 RGBA image) + forward +
 * readback of the embedding; ours decoder = prompt encoder + mask decoder for `batch` single-point
 * prompts, multimask, + readback of low-res logits and IoU; ORT = session.run + readback of every
 * output, weights and data inputs uploaded once as GPU buffers (bench/ort.ts). Ratio = ORT ms / ours ms.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/models/backend';
import { generateSamMasks } from '../src/models/sam/autoMask';
import { samPreset, withImageSize, type SamPresetName } from '../src/models/sam/config';
import { SamModel, SamPredictor } from '../src/models/sam/sam';
import { randomSamTensorSource } from '../src/models/sam/weights';
import {
  adapterLimits,
  formatLimits,
  gpuMemoryMiB,
  installGpuMemoryTracker,
  ratio,
  runOrtGraph,
  timeRuns,
  type OrtGraphResult,
  type Timing,
} from './ort';
import { LiveReport } from './liveReport';
import type { BrowserBenchmark } from './types';

const PRESETS: SamPresetName[] = ['sam-vit-b', 'sam-vit-l', 'sam-vit-h', 'slimsam-77'];
const ORT_ENCODERS: Partial<Record<SamPresetName, string>> = {
  'sam-vit-b': 'sam_vit_b_image_encoder',
  'slimsam-77': 'slimsam77_image_encoder',
};
const ORT_DECODER = 'sam_vit_b_decoder_64pts';
const MiB = 2 ** 20;

export const runBenchmark: BrowserBenchmark = async (log) => {
  installGpuMemoryTracker();
  const query = new URLSearchParams(location.search);
  const models = (query.get('models') ?? 'slimsam-77').split(',') as SamPresetName[];
  const size = Number(query.get('size') ?? 128);
  const batch = Number(query.get('batch') ?? 64);
  const side = Number(query.get('side') ?? 4);
  const warmup = Number(query.get('warmup') ?? 1);
  const repeats = Number(query.get('repeats') ?? 1);
  const parts = new Set((query.get('parts') ?? 'encoder,decoder,amg').split(','));
  const ort = query.get('ort') === '1';
  const ortWarmup = Number(query.get('ortWarmup') ?? warmup);
  const ortRepeats = Number(query.get('ortRepeats') ?? repeats);
  const ortForce = query.get('ortForce') === '1';
  const withOurs = query.get('ours') !== '0';
  const limitS = Number(query.get('limit') ?? Infinity);
  const attentionPaths = (query.get('attention') ?? 'fused,unfused').split(',');
  for (const a of attentionPaths)
    if (a !== 'fused' && a !== 'unfused') throw new Error(`unknown attention path ${a} (known: fused, unfused)`);
  for (const m of models)
    if (!PRESETS.includes(m)) throw new Error(`unknown model ${m} (known: ${PRESETS.join(', ')})`);
  for (const p of parts)
    if (!['encoder', 'decoder', 'amg'].includes(p)) throw new Error(`unknown part ${p} (known: encoder, decoder, amg)`);
  const info = await initBackend();
  const adapter = await adapterLimits();
  const software = info.adapter?.architecture === 'swiftshader' || /swiftshader/i.test(info.adapter?.description ?? '');
  log(
    `backend ${info.name}${info.adapter ? ` (${info.adapter.vendor} ${info.adapter.architecture} ${info.adapter.description})` : ''}, encoder img_size ${size}${size < 1024 ? ' (reduced; real SAM uses 1024)' : ''}`,
  );
  log(`adapter limits: ${formatLimits(adapter as never)}; tfjs device: ${formatLimits(info.limits)}`);
  log(
    `parts ${[...parts].join(', ')}; warm-up ${warmup}, repeats ${repeats}${ort ? `; ORT warm-up ${ortWarmup}, repeats ${ortRepeats}` : ''}`,
  );
  const tfDevice = (tf.backend() as unknown as { device?: GPUDevice }).device;

  // a synthetic 4:3 photo-sized image whose longest side is the encoder size
  const width = size;
  const height = Math.round((size * 3) / 4);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([(i * 13) % 256, (i >> 3) % 256, (i * 7) % 256, 255], 4 * i);

  const ortReason = (graph: string | undefined, what: 'encoder' | 'decoder'): string => {
    if (!ort) return 'ort=0';
    if (!graph) return 'no graph for this model';
    if (size !== 1024) return 'graphs are 1024 px only';
    if (what === 'decoder' && batch !== 64) return 'decoder graph is 64 points';
    return '';
  };
  let ortDecoder: OrtGraphResult | undefined;

  const live = new LiveReport(
    `SAM with random weights (encoder img_size ${size}${size < 1024 ? ', REDUCED' : ''}, ${info.name}${software ? ' on SwiftShader' : ''}): ours (tfjs) vs onnxruntime-web`,
    ['model', 'img_size', 'measure', 'ours', 'ORT', 'ORT/ours', 'ours GPU MiB', 'ours peak tensors MiB', 'ORT GPU MiB'],
    {
      backend: info,
      adapterLimits: adapter,
      size,
      batch,
      side,
      parts: [...parts],
      warmup,
      repeats,
      ortWarmup,
      ortRepeats,
      limitS,
    },
  );
  const figures = live.figures;
  const poolMiB = () => {
    const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    return (mem.numBytesAllocatedInGPU ?? mem.numBytes) / MiB;
  };
  for (const name of models) {
    const config = withImageSize(samPreset(name), size);
    log(`${name}: uploading random weights`);
    const model = await SamModel.load(randomSamTensorSource(config), config);
    const predictor = new SamPredictor(model);
    const fig: Record<string, unknown> = {};
    figures[name] = fig;

    // ---- encoder
    let embedding: tf.Tensor4D;
    const encoderRuns: Record<string, unknown> = {};
    for (const [pathIndex, attention] of (parts.has('encoder') ? attentionPaths : []).entries()) {
      model.imageEncoder.fusedAttention = attention === 'fused';
      const withOrt = pathIndex === 0;
      let peakTensorBytes = Number.NaN;
      let runs = 0;
      const measure = `encoder ms/img (attention ${attention})`;
      const row = live.row([name, size, measure, withOurs ? '' : 'ours=0', '', '', '', '', '']);
      const encoder: Timing | undefined = !withOurs
        ? undefined
        : await live.measure(
            row,
            3,
            () =>
              timeRuns(warmup, repeats, async () => {
                const encode = async () => {
                  predictor.setImage(rgba, width, height, 4);
                  await predictor.imageEmbedding.data();
                };
                const t0 = performance.now();
                // the first warm-up run also measures the peak tensor bytes (tf.profile slows kernels: never a timed run)
                if (runs++ === 0 && warmup > 0) peakTensorBytes = (await tf.profile(encode)).peakBytes;
                else await encode();
                const ms = performance.now() - t0;
                log(`ours ${name} encoder, attention ${attention}: ${ms.toFixed(0)} ms`);
                return ms;
              }),
            limitS,
          );
      const pool = poolMiB();
      if (encoder) row.splice(3, 1, encoder.medianMs);
      if (withOurs) row.splice(6, 2, pool, peakTensorBytes / MiB);
      const ortRes =
        !withOrt || ortReason(ORT_ENCODERS[name], 'encoder')
          ? undefined
          : await live.measure(
              row,
              4,
              () => runOrtGraph(ORT_ENCODERS[name]!, { warmup: ortWarmup, repeats: ortRepeats, log, force: ortForce }),
              limitS,
            );
      const ortMs = ortRes?.timing && !ortRes.skipped ? ortRes.timing.medianMs : undefined;
      if (withOrt && (ortRes || ortReason(ORT_ENCODERS[name], 'encoder')))
        row.splice(
          4,
          2,
          ortMs ?? ortRes?.skipped ?? ortReason(ORT_ENCODERS[name], 'encoder'),
          ratio(ortMs, encoder?.medianMs),
        );
      row[8] = ortRes?.gpuPeakMiB ?? '';
      encoderRuns[attention] = { ours: encoder, oursPoolMiB: pool, oursPeakTensorBytes: peakTensorBytes, ort: ortRes };
      fig.encoder = encoderRuns;
    }
    model.imageEncoder.fusedAttention = true;
    if (parts.has('encoder') && withOurs) {
      embedding = predictor.imageEmbedding;
    } else {
      // no encoder part: the decoder and AMG run on a random embedding, as if setImage had run
      const [h, w] = config.promptEncoder.imageEmbeddingSize;
      embedding = tf.randomNormal([1, h, w, config.promptEncoder.embedDim], 0, 1, 'float32', 3) as tf.Tensor4D;
      predictor.setImageEmbedding(embedding, [height, width], [height, width]);
      log(`${name}: no encoder part, the decoder and AMG run on a random ${h}x${w} embedding`);
    }

    // ---- decoder
    if (parts.has('decoder')) {
      const row = live.row([name, size, `decoder ms/${batch} pts`, withOurs ? '' : 'ours=0', '', '', '', '', '']);
      const decoder: Timing | undefined = !withOurs
        ? undefined
        : await live.measure(
            row,
            3,
            () =>
              timeRuns(warmup, repeats, async () => {
                const t0 = performance.now();
                const out = tf.tidy(() => {
                  const coords = tf.mul(tf.randomUniform([batch, 1, 2]), size * 0.75) as tf.Tensor3D;
                  return model.decode(
                    embedding,
                    { pointCoords: coords, pointLabels: tf.ones([batch, 1], 'int32') as tf.Tensor2D },
                    true,
                  );
                });
                await out.iouPredictions.data();
                await out.lowResLogits.data();
                tf.dispose([out.lowResLogits, out.iouPredictions]);
                const ms = performance.now() - t0;
                log(`ours ${name} decoder (${batch} points): ${ms.toFixed(0)} ms`);
                return ms;
              }),
            limitS,
          );
      const pool = poolMiB();
      if (decoder) row[3] = decoder.medianMs;
      if (withOurs) row[6] = pool;
      let ortPastLimit = false;
      if (!ortReason(ORT_DECODER, 'decoder') && !ortDecoder) {
        ortDecoder = await live.measure(
          row,
          4,
          () => runOrtGraph(ORT_DECODER, { warmup: ortWarmup, repeats: ortRepeats, log, force: ortForce }),
          limitS,
        );
        ortPastLimit = !ortDecoder;
      }
      const ortMs = ortDecoder?.timing && !ortDecoder.skipped ? ortDecoder.timing.medianMs : undefined;
      if (!ortPastLimit)
        row.splice(
          4,
          2,
          ortMs ?? ortDecoder?.skipped ?? ortReason(ORT_DECODER, 'decoder'),
          ratio(ortMs, decoder?.medianMs),
        );
      row[8] = ortDecoder?.gpuPeakMiB ?? '';
      fig.decoder = { ours: decoder, oursPoolMiB: pool, ort: ortDecoder };
    }

    // ---- automatic mask generation on the image set above (no crop layers); random weights rarely pass
    // SAM's thresholds: accept every mask so the full path (upsample, score, read back, RLE, NMS) is timed
    if (parts.has('amg') && withOurs) {
      let masks = 0;
      const candidates = side * side * 3;
      const row = live.row([name, size, `AMG masks/s (${side}x${side} pts)`, '', 'no graph', '', '', '', '']);
      const amg = await live.measure(
        row,
        3,
        () =>
          timeRuns(warmup, Math.max(1, repeats), async () => {
            const t0 = performance.now();
            masks = (
              await generateSamMasks(predictor, {
                pointsPerSide: side,
                pointsPerBatch: batch,
                predIouThresh: -Infinity,
                stabilityScoreThresh: 0,
              })
            ).length;
            const ms = performance.now() - t0;
            log(`ours ${name} automatic masks (${side}x${side} points): ${ms.toFixed(0)} ms, ${masks} masks`);
            return ms;
          }),
        limitS,
      );
      if (amg) row[3] = candidates / (amg.medianMs / 1000);
      row[6] = poolMiB();
      fig.amg = { ours: amg, candidates, kept: masks };
    }
    if (tfDevice) fig.tfDevice = gpuMemoryMiB(tfDevice);
    fig.memory = tf.memory();
    predictor.resetImage();
    model.dispose();
  }
  return live.report([
    `median of ${repeats} timed run(s) after ${warmup} warm-up run(s)${ort ? `; ORT: ${ortRepeats} after ${ortWarmup}` : ''}; times include the readback of the outputs`,
    'ORT/ours = ORT ms / ours ms: above 1 ours is faster',
    'attention fused = one WebGPU dispatch per attention (online softmax, no logits buffer); unfused = tfjs matMul, softmax, matMul in 32 MB chunks (the path other backends take)',
    'ours encoder includes preprocessing of the 4:3 RGBA image (resize, normalise, pad, upload); ORT gets pixel_values already on the GPU',
    'AMG masks/s counts candidate masks (3 per grid point) through decoding, upsampling, stability scoring, read-back, RLE and NMS against the image set once (encoder not included), with thresholds disabled',
    'ours GPU MiB = tfjs buffer pool after the part ran (the WebGPU backend keeps freed buffers for reuse); peak tensors = tf.profile peakBytes of the first warm-up encode',
    "ORT GPU MiB = peak bytes of live GPU buffers on ORT's device during the timed runs (weights + activations + ORT's buffer cache)",
  ]);
};
