import { versionText } from "../format";

// Which dataset versions a model version (or a data-quality analysis) can take: the same task, and
// samples of the kind the model reads (images for an image model, texts for a text model, a table
// for a tabular one); a version without labels takes any task. What is not known (a model registered from predictions, a version
// registered without its samples) agrees with anything.

export type Media = "image" | "text" | "table" | null | undefined;

export interface Taker {
  task?: string | null;
  media?: Media;
}

export interface VersionLike {
  id: number;
  task: string;
  /** Registered without labels: any model that reads its media makes a prediction run on it. */
  unlabeled?: boolean;
  media?: Media;
  dataset_name: string;
  version: string;
  n_samples: number;
}

const MEDIA_WORDS: Record<string, string> = { image: "images", text: "texts", table: "a table without images or texts" };
const TASK_WORDS: Record<string, string> = { classification: "single-label classification", multilabel: "multi-label classification", detection: "detection" };

/** Why ``model`` cannot run on ``dv``, in words, or null when it can. */
export function whyNot(model: Taker, dv: { task: string; media?: Media; unlabeled?: boolean }): string | null {
  if (model.task && dv.task !== model.task && !dv.unlabeled) return `it is a ${TASK_WORDS[dv.task] ?? dv.task} dataset; the model does ${TASK_WORDS[model.task] ?? model.task}`;
  if (model.media && dv.media && dv.media !== model.media)
    return `it holds ${MEDIA_WORDS[dv.media] ?? dv.media}; the model reads ${MEDIA_WORDS[model.media] ?? model.media}`;
  return null;
}

export interface Choice {
  id: number;
  label: string;
  /** The model has results on this version already. */
  done: boolean;
}

/**
 * The versions ``model`` can run on, in the workspace's order, each marked when the model has
 * already been run on it; ``preselected`` is the first one not run yet (else the first one).
 */
export function modelChoices(model: Taker, versions: VersionLike[], evaluated: Iterable<number>): { choices: Choice[]; preselected: number | null } {
  const done = new Set(evaluated);
  const choices = versions
    .filter((v) => whyNot(model, v) === null)
    .map((v) => ({
      id: v.id,
      label: `${v.dataset_name} ${versionText(v.version)}${v.n_samples > 0 ? ` · ${v.n_samples.toLocaleString()} samples` : ""}${done.has(v.id) ? " · has results" : ""}`,
      done: done.has(v.id),
    }));
  const fresh = choices.find((c) => !c.done);
  return { choices, preselected: (fresh ?? choices[0])?.id ?? null };
}

/** The training sets a data-quality analysis can look for leakage in: the other versions of the
 * same task holding the same media (images or texts) as the evaluated set. */
export function leakageChoices(evaluated: { versionId?: number; task?: string; media?: Media }, versions: VersionLike[]): VersionLike[] {
  return versions.filter(
    (v) =>
      v.id !== evaluated.versionId &&
      (!evaluated.task || v.task === evaluated.task) &&
      (!evaluated.media || !v.media || v.media === evaluated.media),
  );
}
