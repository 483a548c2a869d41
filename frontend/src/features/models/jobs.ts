// Model jobs as the Models page shows them: the job a version is on now, its speed and time left
// from two successive polls, and the words for each state.
import type { JobPublic } from "../../api/client";

export const isActive = (j: Pick<JobPublic, "status">) => j.status === "queued" || j.status === "running";

/** The job to show for a model version: its newest, when that is still going or failed after
 * the version's newest evaluation (a done job shows as its evaluation). */
export function currentJob(jobs: JobPublic[], versionId: number, newestEvaluationAt: string | null): JobPublic | null {
  const mine = jobs.filter((j) => j.kind === "model" && j.model_version_id === versionId).sort((a, b) => b.id - a.id);
  const newest = mine[0];
  if (!newest) return null;
  if (isActive(newest)) return newest;
  if (newest.status === "failed" && (newestEvaluationAt === null || newest.updated_at > newestEvaluationAt)) return newest;
  return null;
}

export interface Sample {
  done: number;
  at: number; // ms
}

/** Samples per second between two polls of the same running job (null until it has moved). */
export function rate(prev: Sample | undefined, cur: Sample): number | null {
  if (!prev || cur.at <= prev.at || cur.done <= prev.done) return null;
  return ((cur.done - prev.done) * 1000) / (cur.at - prev.at);
}

/** "12 s", "3 min 5 s", "1 h 2 min" left at ``perSecond`` for ``left`` samples. */
export function etaText(left: number, perSecond: number | null): string | null {
  if (perSecond === null || !(perSecond > 0) || left < 0) return null;
  const s = Math.round(left / perSecond);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** One line for a job's state. */
export function jobText(j: JobPublic): string {
  if (j.status === "queued") return j.position ? `Queued (${ordinal(j.position)} in line)` : "Queued";
  if (j.status === "running") return j.total ? `Running: ${j.done.toLocaleString()} of ${j.total.toLocaleString()} samples` : "Starting…";
  if (j.status === "failed") return j.error === "cancelled" ? "Cancelled" : `Failed: ${j.error ?? "unknown reason"}`;
  return "Done";
}

function ordinal(n: number): string {
  const s = ["th", "st", "nd", "rd"];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}
