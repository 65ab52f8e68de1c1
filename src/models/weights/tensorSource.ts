/**
 * One interface over every weight-file format the lab reads, so model loaders do not care whether the user's
 * checkpoint is a safetensors file or a PyTorch zip (`open_clip_pytorch_model.bin`).
 */
import { SafetensorsFile, type LoadedTensor } from './safetensors';
import { TorchZipFile } from './torchZip';

/** What a checkpoint lists, enough to check names and shapes before anything is read. */
export interface TensorListing {
  readonly fileName: string;
  readonly names: readonly string[];
  shape(name: string): readonly number[];
}

export interface TensorSource {
  readonly fileName: string;
  /** Tensor names in file order. */
  readonly names: string[];
  has(name: string): boolean;
  shape(name: string): number[];
  /** Reads one tensor (lazily from the Blob; floats widened to float32, integers to int32). */
  read(name: string): Promise<LoadedTensor>;
}

export function safetensorsSource(file: SafetensorsFile): TensorSource {
  return {
    fileName: file.fileName,
    get names() {
      return file.names;
    },
    has: (name) => file.has(name),
    shape: (name) => file.entry(name).shape,
    read: (name) => file.read(name),
  };
}

/** Opens a weight file by its content: a zip (PyTorch ≥ 1.6 `torch.save`) or else safetensors. */
export async function openTensorSource(blob: Blob, fileName: string): Promise<TensorSource> {
  const magic = new Uint8Array(await blob.slice(0, 4).arrayBuffer());
  const isZip = magic[0] === 0x50 && magic[1] === 0x4b && magic[2] === 0x03 && magic[3] === 0x04;
  return isZip ? TorchZipFile.open(blob, fileName) : safetensorsSource(await SafetensorsFile.open(blob, fileName));
}
