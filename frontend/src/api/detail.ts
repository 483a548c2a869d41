// The reason an error answer gives, read without trusting its shape.

/** The one-line reason of an error answer: FastAPI's `detail` (a string, or validation errors' `msg`s). */
export function detailText(error: unknown): string | null {
  if (typeof error !== "object" || error === null || !("detail" in error)) return null;
  const d = error.detail;
  if (typeof d === "string") return d;
  if (Array.isArray(d))
    return d.map((x: unknown) => (typeof x === "object" && x !== null && "msg" in x && typeof x.msg === "string" ? x.msg : String(x))).join("; ");
  return null;
}
