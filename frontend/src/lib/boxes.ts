// Box drawing helpers that need no browser: where a box's label goes so it stays inside the image.

export const BOX_COLORS: Record<string, string> = {
  tp: "#1e9e63",
  fp: "#d64545",
  fn: "#e8a33b",
  misclassified: "#d64545",
  crowd: "#8a94a6",
};

export const boxColor = (status: string) => BOX_COLORS[status] ?? "#2f5bea";

/** A rough text width (px at `fontSize`) for label placement; bold sans-serif averages ~0.6 em a glyph. */
export const textWidth = (text: string, fontSize: number) => [...text].length * fontSize * 0.6;

/**
 * The baseline start of a box label of `fontSize` (image units), kept inside a `width` x `height`
 * image: above the box when there is room, else just inside its top edge; moved left when it would
 * run past the right edge ("uare 0.51" never happens).
 */
export function labelPosition(
  bbox: readonly number[],
  text: string,
  fontSize: number,
  width: number,
  height: number,
): { x: number; y: number } {
  const [bx, by] = bbox;
  const pad = fontSize * 0.2;
  const w = textWidth(text, fontSize);
  const x = Math.max(pad, Math.min(bx + pad, width - w - pad));
  const above = by - pad;
  const y = above - fontSize * 0.8 >= 0 ? above : Math.min(by + fontSize, height - pad);
  return { x, y: Math.max(fontSize * 0.8, y) };
}
