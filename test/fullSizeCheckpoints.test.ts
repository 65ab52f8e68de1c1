/**
 * Real checkpoints at full size, without the files: the onnx-bench JSONs list every weight of the
 * upstream ConvNeXt-B CLIP tower, SAM ViT-B, SlimSAM-77 and the SAM decoder (state_dict name, shape,
 * Hugging Face name). Each listing goes through the loaders' own checks (planClipWeights,
 * planSamWeights: the one name mapping, presets from the config files) in every naming the lab
 * accepts, with no tensor read or allocated. A mutated listing must fail.
 */
import { describe, expect, it } from 'vitest';
import { DearliError } from '../src/core/errors';
import { CONVNEXT_BASE_W_320 } from '../src/models/clip/config';
import { planClipWeights, type ClipWeightNaming } from '../src/models/clip/weights';
import { samPreset, type SamConfig, type SamPresetName } from '../src/models/sam/config';
import {
  hfToOriginalKey,
  originalToHfKey,
  planSamWeights,
  samParameterShapes,
  type SamKeyNaming,
} from '../src/models/sam/weights';
import { graphWeights, readOnnxBenchGraph, type OnnxBenchGraph, type OnnxBenchGraphName } from './onnxBench';

/** A checkpoint's table of contents: names in file order and their shapes. */
type Listing = Map<string, readonly number[]>;

function listingSource(listing: Listing, fileName: string) {
  return {
    fileName,
    names: [...listing.keys()],
    shape: (name: string) => listing.get(name)!,
    entry: (name: string) => ({ shape: [...listing.get(name)!] }),
  };
}

/** The image-tower part of an open_clip checkpoint as the graph lists it (unused keys: shapes from the embed graph, which uses them). */
function openClipListing(graph: OnnxBenchGraph, embed: OnnxBenchGraph): Listing {
  const shapes = new Map(graphWeights(embed).map((w) => [w.name, w.shape]));
  const listing: Listing = new Map(graphWeights(graph).map((w) => [w.name, w.shape]));
  for (const name of graph.unused_upstream_state_dict_keys) listing.set(name, shapes.get(name)!);
  return listing;
}

/**
 * The same tensors as timm's convnext `checkpoint_filter_fn` writes them for an open_clip checkpoint
 * (hub timm/convnext_base.clip_*): visual.trunk.X → X, visual.head.proj.weight → head.fc.weight plus a
 * zero head.fc.bias.
 */
function timmListing(openClip: Listing): Listing {
  const out: Listing = new Map();
  for (const [name, shape] of openClip) {
    if (name.startsWith('visual.trunk.')) out.set(name.slice('visual.trunk.'.length), shape);
    else if (name === 'visual.head.proj.weight') out.set('head.fc.weight', shape).set('head.fc.bias', [shape[0]]);
    else throw new Error(`timm's filter has no rule for "${name}"`);
  }
  return out;
}

function clipListing(graph: OnnxBenchGraph, embed: OnnxBenchGraph, naming: ClipWeightNaming): Listing {
  const openClip = openClipListing(graph, embed);
  return naming === 'open_clip' ? openClip : timmListing(openClip);
}

/**
 * A whole SAM checkpoint = an encoder graph + the decoder graph. The decoder's unused keys (mask
 * prompt downscaler, box-corner embeddings) have no shape in its JSON: they are checked by name, with
 * the shape the mapping expects. transformers checkpoints also hold the tied copy of the PE matrix.
 */
function samListing(
  encoder: OnnxBenchGraph,
  decoder: OnnxBenchGraph,
  config: SamConfig,
  naming: SamKeyNaming,
): Listing {
  const hf = naming === 'transformers';
  const listing: Listing = new Map();
  for (const w of [...graphWeights(encoder), ...graphWeights(decoder)]) listing.set(hf ? w.hf_name! : w.name, w.shape);
  const e = config.imageEncoder;
  const expected = samParameterShapes(
    config,
    Array.from({ length: e.depth }, () => ({ attnDim: e.embedDim, mlpDim: e.mlpDim })),
  );
  for (const name of decoder.unused_upstream_state_dict_keys)
    listing.set(hf ? originalToHfKey(name, config) : name, expected.get(name)!);
  if (hf)
    listing.set(
      'shared_image_embedding.positional_embedding',
      listing.get('prompt_encoder.shared_embedding.positional_embedding')!,
    );
  return listing;
}

function renamed(listing: Listing, from: string, to: string): Listing {
  expect(listing.has(from), from).toBe(true);
  return new Map([...listing].map(([n, s]) => [n === from ? to : n, s]));
}

function reshaped(listing: Listing, name: string, shape: number[]): Listing {
  expect(listing.has(name), name).toBe(true);
  return new Map(listing).set(name, shape);
}

function thrown(f: () => unknown): DearliError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DearliError);
    return e as DearliError;
  }
  throw new Error('expected a DearliError, nothing was thrown');
}

describe('ConvNeXt-B CLIP (convnext_base_w_320) at full size', () => {
  const config = CONVNEXT_BASE_W_320;
  const graphs: OnnxBenchGraphName[] = [
    'clip_convnext_base_w_dense_320',
    'clip_convnext_base_w_dense_640',
    'clip_convnext_base_w_embed_320',
  ];

  for (const graphName of graphs) {
    for (const naming of ['open_clip', 'timm'] as const) {
      it(`${graphName}: every ${naming} key lands on a parameter of the same shape, nothing missing or extra`, async () => {
        const [graph, embed] = await Promise.all([
          readOnnxBenchGraph(graphName),
          readOnnxBenchGraph('clip_convnext_base_w_embed_320'),
        ]);
        const listing = clipListing(graph, embed, naming);
        const specs = planClipWeights(config, listingSource(listing, graphName), { naming, towers: 'image' });
        expect(specs.map((s) => s.name).sort()).toEqual([...listing.keys()].sort());
        for (const spec of specs) expect(spec.shape, spec.name).toEqual(listing.get(spec.name));
        // 4 + 3 downsamples × 4 + (3+3+27+3) blocks × 9 + head norm 2 + projection (1, timm 2)
        expect(specs.length).toBe(4 + 12 + 36 * 9 + 2 + (naming === 'timm' ? 2 : 1));
      });
    }
  }

  it('fails on one renamed key or one changed shape, in either naming', async () => {
    const embed = await readOnnxBenchGraph('clip_convnext_base_w_embed_320');
    const openClip = clipListing(embed, embed, 'open_clip');
    const plan = (listing: Listing, naming: ClipWeightNaming) => () =>
      planClipWeights(config, listingSource(listing, 'mutated'), { naming, towers: 'image' });

    const name = 'visual.trunk.stages.2.blocks.26.mlp.fc1.weight';
    const missing = thrown(
      plan(renamed(openClip, name, 'visual.trunk.stages.2.blocks.26.mlp.fc_1.weight'), 'open_clip'),
    );
    expect(missing.problem).toContain(`missing: "${name}"`);
    const shape = thrown(
      plan(reshaped(openClip, 'visual.trunk.stages.3.blocks.1.conv_dw.weight', [1024, 1, 5, 5]), 'open_clip'),
    );
    expect(shape.problem).toBe(
      'tensor "visual.trunk.stages.3.blocks.1.conv_dw.weight" has shape [1024, 1, 5, 5], convnext_base_w_320 needs [1024, 1, 7, 7]',
    );

    const timm = clipListing(embed, embed, 'timm');
    expect(thrown(plan(renamed(timm, 'head.fc.weight', 'head.proj.weight'), 'timm')).problem).toContain(
      'missing: "head.fc.weight"',
    );
    expect(thrown(plan(reshaped(timm, 'stages.1.downsample.1.weight', [256, 128, 3, 3]), 'timm')).problem).toContain(
      '"stages.1.downsample.1.weight" has shape [256, 128, 3, 3]',
    );
    // a checkpoint with one block more than convnext_base
    expect(thrown(plan(new Map(timm).set('stages.2.blocks.27.gamma', [512]), 'timm')).problem).toContain(
      '"stages.2.blocks.27.gamma"',
    );
  });
});

describe('SAM ViT-B, SlimSAM-77 and the SAM decoder at full size', () => {
  const cases: [SamPresetName, OnnxBenchGraphName][] = [
    ['sam-vit-b', 'sam_vit_b_image_encoder'],
    ['slimsam-77', 'slimsam77_image_encoder'],
  ];

  it("the graphs' Hugging Face names are the mapping's, both ways", async () => {
    const config = samPreset('sam-vit-b');
    for (const graphName of [
      'sam_vit_b_image_encoder',
      'slimsam77_image_encoder',
      'sam_vit_b_decoder_64pts',
    ] as const) {
      const weights = graphWeights(await readOnnxBenchGraph(graphName));
      for (const w of weights) {
        expect(originalToHfKey(w.name, config), w.name).toBe(w.hf_name);
        expect(hfToOriginalKey(w.hf_name!, config), w.hf_name).toBe(w.name);
      }
    }
  });

  for (const [preset, encoderName] of cases) {
    for (const naming of ['segment-anything', 'transformers'] as const) {
      it(`${preset} (${encoderName} + sam_vit_b_decoder_64pts): every ${naming} key lands on a parameter of the same shape`, async () => {
        const config = samPreset(preset);
        const [encoder, decoder] = await Promise.all([
          readOnnxBenchGraph(encoderName),
          readOnnxBenchGraph('sam_vit_b_decoder_64pts'),
        ]);
        const listing = samListing(encoder, decoder, config, naming);
        const plan = planSamWeights(listingSource(listing, `${preset} ${naming}`), config);
        expect(plan.naming).toBe(naming);
        const e = config.imageEncoder;
        expect(plan.blockDims).toEqual(
          Array.from({ length: e.depth }, () => ({ attnDim: e.embedDim, mlpDim: e.mlpDim })),
        );
        // every graph weight is one expected tensor, under its own spelling, with the expected shape
        const graphNames = [...graphWeights(encoder), ...graphWeights(decoder)].map((w) => w.name);
        expect([...plan.expected.keys()].sort()).toEqual(
          [...graphNames, ...decoder.unused_upstream_state_dict_keys].sort(),
        );
        for (const w of [...graphWeights(encoder), ...graphWeights(decoder)]) {
          expect(plan.fileNameOf.get(w.name)).toBe(naming === 'transformers' ? w.hf_name : w.name);
          const want = plan.expected.get(w.name)!;
          expect(
            want.map((d, i) => (d < 0 ? w.shape[i] : d)),
            w.name,
          ).toEqual(w.shape);
        }
        // rel-pos tables are accepted at any length (upstream interpolates), so check here that the
        // preset's window size and global-attention blocks give the checkpoint's lengths, uninterpolated
        const grid = e.imgSize / e.patchSize;
        for (let i = 0; i < e.depth; i++) {
          const size = e.globalAttnIndexes.includes(i) ? grid : e.windowSize;
          for (const axis of ['h', 'w'])
            expect(
              listing.get(
                naming === 'transformers'
                  ? `vision_encoder.layers.${i}.attn.rel_pos_${axis}`
                  : `image_encoder.blocks.${i}.attn.rel_pos_${axis}`,
              ),
            ).toEqual([2 * size - 1, e.embedDim / e.numHeads]);
        }
      });
    }
  }

  it('fails on one renamed key or one changed shape, in either naming', async () => {
    const [encoder, decoder] = await Promise.all([
      readOnnxBenchGraph('sam_vit_b_image_encoder'),
      readOnnxBenchGraph('sam_vit_b_decoder_64pts'),
    ]);
    const config = samPreset('sam-vit-b');
    const plan = (listing: Listing) => () => planSamWeights(listingSource(listing, 'mutated'), config);
    const original = samListing(encoder, decoder, config, 'segment-anything');
    const hf = samListing(encoder, decoder, config, 'transformers');

    const missing = thrown(
      plan(
        renamed(
          original,
          'mask_decoder.transformer.layers.1.norm4.bias',
          'mask_decoder.transformer.layers.1.norm_4.bias',
        ),
      ),
    );
    expect(missing.problem).toContain('"mask_decoder.transformer.layers.1.norm4.bias" is missing');
    const hfMissing = thrown(
      plan(renamed(hf, 'vision_encoder.layers.7.attn.rel_pos_h', 'vision_encoder.layers.7.attn.rel_pos_height')),
    );
    expect(hfMissing.problem).toContain('"vision_encoder.layers.7.attn.rel_pos_h" is missing');

    const shape = thrown(plan(reshaped(original, 'image_encoder.neck.2.weight', [256, 256, 1, 1])));
    expect(shape.problem).toBe(
      'tensor "image_encoder.neck.2.weight" has shape [256, 256, 1, 1], expected [256, 256, 3, 3]',
    );
    const hfShape = thrown(plan(reshaped(hf, 'vision_encoder.layers.4.attn.qkv.weight', [2304, 512])));
    expect(hfShape.problem).toContain('"vision_encoder.layers.4.attn.qkv.weight" has shape [2304, 512]');
    // an image encoder with one block more than ViT-B
    expect(thrown(plan(new Map(original).set('image_encoder.blocks.12.norm1.weight', [768]))).problem).toContain(
      '"image_encoder.blocks.12.norm1.weight" is not part',
    );
  });
});
