/**
 * The crop-and-zoom step's geometry, in the upright photo's pixels (what the server's crop means): a rectangle
 * locked to the model's aspect ratio, as large as the photo allows at zoom 1 and 1/zoom of that beyond, centred
 * where the user put it and kept inside the photo. Whole pixels, since the server takes only those.
 */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export const MAX_ZOOM = 8;

/** The crop of the model's aspect (`aspect` = width / height) at `zoom`, centred as near (cx, cy) as it fits. */
export function cropAt(photoW: number, photoH: number, aspect: number, zoom: number, cx: number, cy: number): CropRect {
  const z = Math.min(MAX_ZOOM, Math.max(1, zoom));
  const fullW = Math.min(photoW, photoH * aspect);
  const width = Math.max(1, Math.min(photoW, Math.round(fullW / z)));
  const height = Math.max(1, Math.min(photoH, Math.round(width / aspect)));
  const left = Math.round(Math.min(photoW - width, Math.max(0, cx - width / 2)));
  const top = Math.round(Math.min(photoH - height, Math.max(0, cy - height / 2)));
  return { left, top, width, height };
}

export const cropCentre = (c: CropRect): [number, number] => [c.left + c.width / 2, c.top + c.height / 2];

/** The zoom at which cropAt gives a crop `width` wide (1 when it is the largest the photo allows). */
export function zoomFor(photoW: number, photoH: number, aspect: number, width: number): number {
  const fullW = Math.min(photoW, photoH * aspect);
  return Math.min(MAX_ZOOM, Math.max(1, fullW / Math.max(1, width)));
}
