// Narrowing of the API's task-dependent answers. The schema types each answer as the union its
// response model declares (discriminated by `task`, curves by `kind`); a page that can only show
// one task narrows here, at the query, so a wrong answer is an error state and never a cast.
import { ApiError, type Curve, type DetectionPrCurve } from "./client";

type Tasked = { task: string };

/** The detection member of a task-discriminated answer. */
export type DetectionOf<A extends Tasked> = Extract<A, { task: "detection" }>;
/** The single-label / multi-label members of a task-discriminated answer. */
export type ClassificationOf<A extends Tasked> = Exclude<A, { task: "detection" }>;

export const isDetection = <A extends Tasked>(a: A): a is DetectionOf<A> => a.task === "detection";
export const isClassification = <A extends Tasked>(a: A): a is ClassificationOf<A> => a.task !== "detection";

/** ``a`` when it is a detection answer; otherwise an ApiError naming what came instead. */
export function detectionAnswer<A extends Tasked>(a: A): DetectionOf<A> {
  if (isDetection(a)) return a;
  throw new ApiError(`expected a detection answer, the server sent a ${a.task} one`, null);
}

/** ``a`` when it is a (single- or multi-label) classification answer; otherwise an ApiError. */
export function classificationAnswer<A extends Tasked>(a: A): ClassificationOf<A> {
  if (isClassification(a)) return a;
  throw new ApiError(`expected a classification answer, the server sent a ${a.task} one`, null);
}

/** Whether a curve is detection's precision–recall (confidence scores, at one IoU). */
export const isDetectionPr = (c: Curve): c is DetectionPrCurve => c.kind === "pr" && "scores" in c;

/** ``c`` when it is detection's precision–recall curve; otherwise an ApiError. */
export function detectionPrAnswer(c: Curve): DetectionPrCurve {
  if (isDetectionPr(c)) return c;
  throw new ApiError(`expected a detection precision–recall curve, the server sent ${c.kind}`, null);
}
