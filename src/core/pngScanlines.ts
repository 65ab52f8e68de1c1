/**
 * PNG scanline filters (https://www.w3.org/TR/png/#9Filters), undone in place on inflated image
 * data: the one implementation behind the eval CLI's node:zlib decoder (scripts/panopticPng.ts)
 * and the importer's mask decoder (src/data/decode.ts).
 */

/** The filter types PNG defines: None, Sub, Up, Average, Paeth. */
export const PNG_FILTER_TYPES = 5;

/**
 * Undoes the filter of the scanline whose filter type byte is data[filterAt], in place: `above` is
 * where the unfiltered scanline above starts (-1 for the first one, read as zeros), `rowBytes` the
 * scanline's length after its filter byte. Uint8Array stores wrap mod 256 as PNG wants. Returns
 * false for an unknown filter type, leaving the bytes as they were.
 */
export function unfilterScanline(
  data: Uint8Array,
  filterAt: number,
  above: number,
  rowBytes: number,
  bytesPerPixel: number,
): boolean {
  const filter = data[filterAt];
  if (filter >= PNG_FILTER_TYPES) return false;
  const row = filterAt + 1;
  const end = row + rowBytes;
  const firstPixelEnd = Math.min(end, row + bytesPerPixel);
  switch (filter) {
    case 1: // Sub
      for (let i = firstPixelEnd; i < end; i++) data[i] += data[i - bytesPerPixel];
      break;
    case 2: // Up
      if (above >= 0) for (let i = row, j = above; i < end; i++, j++) data[i] += data[j];
      break;
    case 3: // Average
      if (above < 0) {
        for (let i = firstPixelEnd; i < end; i++) data[i] += data[i - bytesPerPixel] >> 1;
      } else {
        for (let i = row, j = above; i < firstPixelEnd; i++, j++) data[i] += data[j] >> 1;
        for (let i = firstPixelEnd, j = above + bytesPerPixel; i < end; i++, j++)
          data[i] += (data[i - bytesPerPixel] + data[j]) >> 1;
      }
      break;
    case 4: // Paeth; with zeros above it predicts the left byte, as Sub does
      if (above < 0) {
        for (let i = firstPixelEnd; i < end; i++) data[i] += data[i - bytesPerPixel];
      } else {
        for (let i = row, j = above; i < firstPixelEnd; i++, j++) data[i] += data[j];
        for (let i = firstPixelEnd, j = above + bytesPerPixel; i < end; i++, j++) {
          const left = data[i - bytesPerPixel];
          const up = data[j];
          const upLeft = data[j - bytesPerPixel];
          const distanceLeft = Math.abs(up - upLeft);
          const distanceUp = Math.abs(left - upLeft);
          const distanceUpLeft = Math.abs(left + up - 2 * upLeft);
          data[i] +=
            distanceLeft <= distanceUp && distanceLeft <= distanceUpLeft
              ? left
              : distanceUp <= distanceUpLeft
                ? up
                : upLeft;
        }
      }
      break;
  }
  return true;
}
