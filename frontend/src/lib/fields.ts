// Fields of an answer read by a name chosen at run time (a metric key from a list, a protocol's
// name): typed by what the value is, never by a cast.

/** ``o[key]`` when ``o`` is an object holding it, else undefined. */
export function field(o: unknown, key: string): unknown {
  if (typeof o !== "object" || o === null || !(key in o)) return undefined;
  return Reflect.get(o, key);
}

/** ``o[key]`` as a finite number, else null (absent, null, not a number). */
export function numberField(o: unknown, key: string): number | null {
  const v = field(o, key);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** ``o[key]`` when it is an object (not an array), else null. */
export function objectField(o: unknown, key: string): object | null {
  const v = field(o, key);
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
}

/** ``v`` when it is a list of strings, else null. */
export function stringList(v: unknown): string[] | null {
  return Array.isArray(v) && v.every((x): x is string => typeof x === "string") ? v : null;
}
