/**
 * Every user-facing problem the data layer reports, in one place so that wording and codes stay
 * consistent. Each names the file, says what is wrong and what to do about it.
 */
import { DearliError, countOf } from '../core/errors';
import { LIMITS } from '../core/limits';

export const MAX_IMAGE_SIDE = LIMITS.imageSide;

export const problems = {
  corruptImage: (file: string, detail: string) =>
    new DearliError(
      'corrupt-image',
      `the image is corrupt or truncated (${detail}).`,
      'Re-export or re-download this file, or remove it from the folder.',
      file,
    ),
  unsupportedImage: (file: string) =>
    new DearliError(
      'unsupported-image',
      'this is not a PNG, JPEG or WebP image.',
      'Convert it to PNG, JPEG or WebP, or remove it.',
      file,
    ),
  imageTooLarge: (file: string, width: number, height: number) =>
    new DearliError(
      'image-too-large',
      `the image is ${width}×${height} px; the lab accepts at most ${MAX_IMAGE_SIDE} px on a side (larger images do not fit in GPU textures).`,
      `Downscale it to at most ${MAX_IMAGE_SIDE} px on its longer side (masks too, with nearest-neighbour resampling); the limit is LIMITS.imageSide in src/core/limits.ts.`,
      file,
    ),
  jpegMask: (file: string) =>
    new DearliError(
      'jpeg-mask',
      'this mask is a JPEG. JPEG is lossy: it changes pixel colours, and in a panoptic mask the colour is the segment id, so ids are corrupted.',
      'Export the masks as PNG (RGB, 8 bits per channel) from the original label data.',
      file,
    ),
  notPngMask: (file: string) =>
    new DearliError(
      'mask-not-png',
      'this mask is not a PNG image.',
      'Panoptic masks must be PNG files with id = R + 256·G + 256²·B.',
      file,
    ),
  sixteenBitMask: (file: string) =>
    new DearliError(
      'mask-16-bit',
      'this mask is a 16-bit PNG; panoptic masks store ids as 8-bit RGB (id = R + 256·G + 256²·B), so 16-bit samples cannot be read as ids.',
      'Re-save the mask as an 8-bit RGB PNG (for example with Pillow: Image.fromarray(rgb.astype("uint8")).save(...)).',
      file,
    ),
  corruptMask: (file: string, detail: string) =>
    new DearliError(
      'corrupt-mask',
      `the mask PNG is corrupt or truncated (${detail}).`,
      'Re-export this mask, or remove its image from the dataset.',
      file,
    ),
  maskSizeMismatch: (file: string, mask: [number, number], image: [number, number], imageFile: string) =>
    new DearliError(
      'mask-size-mismatch',
      `the mask is ${mask[0]}×${mask[1]} px but its image ${imageFile} is ${image[0]}×${image[1]} px.`,
      'Masks must have exactly the size of their image; resize the mask with nearest-neighbour resampling or pair it with the right image.',
      file,
    ),
  idsMissingFromSegments: (file: string, ids: number[], greyscale: boolean) =>
    new DearliError(
      'mask-ids-not-in-segments',
      `the mask contains segment ids ${listIds(ids)} that its segments_info does not list.`,
      greyscale
        ? 'This mask is greyscale; panoptic PNGs store id = R + 256·G + 256²·B in colour, so a grey value v means id 65793·v. Save the ids as RGB, or add the ids to segments_info.'
        : 'Add these ids to segments_info (id, category_id), or paint those pixels 0 (void).',
      file,
    ),
  segmentsMissingFromMask: (file: string, ids: number[]) =>
    new DearliError(
      'segments-not-in-mask',
      `segments_info lists ids ${listIds(ids)} that no pixel of the mask has.`,
      'Remove these entries from segments_info, or check that the annotation points at the right mask PNG.',
      file,
    ),
  unknownCategory: (file: string, categoryIds: number[]) =>
    new DearliError(
      'unknown-category',
      `segments use category ids ${listIds(categoryIds)} that are not in the categories list.`,
      'Add these categories (id, name, isthing) to the categories list, or fix the category_id of those segments.',
      file,
    ),
  duplicatePath: (file: string) =>
    new DearliError(
      'duplicate-file',
      'this path appears twice in what was dropped.',
      'Drop each file once (check for a folder dropped twice).',
      file,
    ),
  duplicateStem: (file: string, other: string) =>
    new DearliError(
      'duplicate-file-name',
      `this image has the same name as ${other} apart from its extension, so its mask is ambiguous.`,
      'Rename or remove one of the two images.',
      file,
    ),
  duplicateImageId: (file: string, what: string, value: string | number) =>
    new DearliError(
      'duplicate-image-id',
      `${what} ${JSON.stringify(value)} appears more than once.`,
      'Give every image a unique id and file name.',
      file,
    ),
  duplicateSegmentId: (file: string, id: number, maskName: string) =>
    new DearliError(
      'duplicate-segment-id',
      `segment id ${id} appears more than once in the segments_info of ${maskName}.`,
      `Each segment of a mask needs its own id (its colour in the PNG, id = R + 256·G + 256²·B): remove the repeated entry for id ${id}, or give the second segment a new id and repaint its pixels in ${maskName} with that colour.`,
      file,
    ),
  missingCategories: (file: string) =>
    new DearliError(
      'missing-categories',
      'this COCO panoptic annotation file has no "categories" list, so its segments cannot be given classes; nothing of this split was imported.',
      'Add "categories": [{"id": 1, "name": "person", "isthing": 1}, ...] to the JSON (COCO ships them in panoptic_coco_categories.json), then drop the folder again.',
      file,
    ),
  jsonSyntax: (file: string, detail: string, line: number, column: number) =>
    new DearliError(
      'json-syntax',
      `JSON syntax error at line ${line}, column ${column}: ${detail}.`,
      'Fix the JSON at that position (a validator such as jsonlint shows it).',
      file,
    ),
  badAnnotationJson: (file: string, detail: string) =>
    new DearliError(
      'bad-annotation-json',
      `the file is valid JSON but not a COCO panoptic annotation file: ${detail}.`,
      'Use the panoptic JSON (images, annotations with segments_info, categories).',
      file,
    ),
  badCategories: (file: string, detail: string) =>
    new DearliError(
      'bad-categories',
      `the categories are not usable: ${detail}.`,
      'List categories as [{"id": 1, "name": "ball", "isthing": true}, ...] with unique positive integer ids.',
      file,
    ),
  missingImage: (file: string, imageName: string) =>
    new DearliError(
      'missing-image',
      `the annotation refers to image ${imageName}, which is not in what was dropped.`,
      'Drop the image folder together with the annotations, or remove the annotation.',
      file,
    ),
  missingMask: (file: string, maskName: string) =>
    new DearliError(
      'missing-mask',
      `the mask ${maskName} is not in what was dropped.`,
      'Drop the panoptic PNG folder together with the JSON.',
      file,
    ),
  unannotatedImages: (file: string, count: number) =>
    new DearliError(
      'unannotated-images',
      `${count === 1 ? '1 image listed in "images" has' : `${count} images listed in "images" have`} no annotation; ${count === 1 ? 'it was' : 'they were'} left out.`,
      'Import them as an unlabeled dataset if you want them.',
      file,
    ),
  unusedImages: (count: number, examples: string[]) =>
    new DearliError(
      'unused-images',
      `${count === 1 ? '1 image is' : `${count} images are`} not part of the detected layout and ${count === 1 ? 'was' : 'were'} left out (${listExamples(count, examples)}).`,
      'Drop them separately (for example as an unlabeled dataset) if you want them.',
    ),
  curatedVocabulary: (vocabulary: string, classes: number, names: number) =>
    new DearliError(
      'curated-vocabulary',
      `the category names are those of ${vocabulary}: its ${classes} classes get DEARLi's curated synonym lists (${names} names), as the paper's runs use.`,
      'Edit the names on the Models tab if you want others.',
    ),
  skippedFiles: (count: number, examples: string[]) =>
    new DearliError(
      'skipped-files',
      `${count === 1 ? '1 file is' : `${count} files are`} not an image or annotation JSON and ${count === 1 ? 'was' : 'were'} skipped (${listExamples(count, examples)}).`,
      'Nothing to do unless one of them should have been imported.',
    ),
  imagesWithoutMask: (count: number, masksDir: string) =>
    new DearliError(
      'images-without-mask',
      `${count === 1 ? '1 image has' : `${count} images have`} no mask in ${masksDir} and ${count === 1 ? 'was' : 'were'} left out.`,
      'Add their masks (same name, .png), or import them as an unlabeled dataset.',
    ),
  instancesJson: (file: string) =>
    new DearliError(
      'coco-instances-json',
      'this is a COCO instances (detection) file, not a panoptic one; it was not used.',
      "Convert it with panopticapi's converters/detection2panoptic_coco_format.py (which writes the panoptic JSON and PNGs), then drop the result.",
      file,
    ),
  missingAnnotationFile: (file: string) =>
    new DearliError(
      'missing-annotation-file',
      'the chosen annotation file is not among the dropped files.',
      'Pick one of the annotation files found, or drop it again.',
      file,
    ),
  severalAnnotationFiles: (files: string[]) =>
    new DearliError(
      'several-annotation-files',
      `found ${files.length} panoptic annotation files (${files.join(', ')}); a single-dataset import takes one.`,
      'Pass one of them as annotationFile, or plan the drop with planImports to get one dataset per split.',
    ),
  emptyFolder: (folder: string, fileCount: number) =>
    new DearliError(
      'no-images',
      fileCount === 0
        ? 'this folder holds no files.'
        : `this folder holds no PNG, JPEG or WebP images (only ${countOf(fileCount, 'other file')}).`,
      'Drop the dataset folder itself (or a .zip of it): the folder that holds the images, or the COCO annotations/ and image folders.',
      `${folder}/`,
    ),
  noImages: (file: string | undefined) =>
    new DearliError(
      'no-images',
      file
        ? 'this file is not a PNG, JPEG or WebP image, nor a .zip of a dataset.'
        : 'none of the dropped files is a PNG, JPEG or WebP image.',
      'Drop the dataset folder itself (or a .zip of it): the folder that holds the images, or the COCO annotations/ and image folders.',
      file,
    ),
  noSplitChosen: () =>
    new DearliError(
      'no-split-chosen',
      'every split of this drop is set to be left out, so there is nothing to import.',
      'Choose a role (labeled train, unlabeled train or validation) for at least one split.',
    ),
  needsLabels: (role: string) =>
    new DearliError(
      'needs-labels',
      `a ${role} dataset needs panoptic masks, but these files have none.`,
      'Import these images as unlabeled, or add masks (COCO panoptic JSON + PNGs, or the simple images/ + panoptic/ + categories.json layout).',
    ),
  masksIgnored: (count: number) =>
    new DearliError(
      'masks-ignored',
      `${count === 1 ? 'the mask is' : `the ${count} masks are`} not imported: the dataset is unlabeled.`,
      'Choose the labeled or validation role to keep them.',
    ),
  badZip: (file: string, detail: string) =>
    new DearliError(
      'bad-zip',
      `the zip archive cannot be read (${detail}).`,
      'Re-create the archive (unencrypted, standard zip), or drop the unzipped folder instead.',
      file,
    ),
  storageFull: (done: number, total: number) =>
    new DearliError(
      'storage-full',
      `the browser's storage quota ran out after ${done} of ${total} images; nothing of this import was kept.`,
      'Free space (delete datasets or runs you no longer need, allow persistent storage, or free disk space), then import again.',
    ),
  unreadableFile: (file: string, detail: string) =>
    new DearliError(
      'unreadable-file',
      `the file could not be read (${detail}).`,
      'It may have been moved, deleted or changed since it was dropped; drop the folder again.',
      file,
    ),
  notEnoughStorage: (needed: number, free: number) =>
    new DearliError(
      'storage-insufficient',
      `this import needs about ${megabytes(needed)} but the browser grants this site only ${megabytes(Math.max(0, free))} more.`,
      'Free space (delete datasets or runs you no longer need, allow persistent storage, or free disk space), or import fewer images.',
    ),
  cancelled: () => new DearliError('cancelled', 'the import was cancelled; nothing of it was kept.', ''),
};

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

function listExamples(count: number, examples: string[]): string {
  return `${examples.join(', ')}${count > examples.length ? ', …' : ''}`;
}

function listIds(ids: number[]): string {
  const shown = ids.slice(0, 8).join(', ');
  return ids.length > 8 ? `${shown} and ${ids.length - 8} more` : shown;
}

/**
 * A DearliError for anything that went wrong reading `file`: DearliErrors pass through; a browser
 * read failure (file moved or deleted after the drop) becomes 'unreadable-file'; anything else is a
 * bug and is rethrown as is.
 */
export function asFileProblem(e: unknown, file: string): DearliError {
  if (e instanceof DearliError) return e;
  const name = (e as { name?: unknown } | null)?.name;
  if (name === 'NotReadableError' || name === 'NotFoundError')
    return problems.unreadableFile(file, String((e as Error).message ?? name));
  throw e;
}
