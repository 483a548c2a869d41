// "Compare with parent on…" (the Models page): a child and its parent compared without labels on
// any dataset version both can take. What is missing (the parent's run, the child's, or both) is
// started as Calculate jobs; once both runs exist the agreement page opens from here.
import { useMemo, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, type DatasetVersionPublic, type JobPublic, type ModelVersionPublic } from "../../api/client";
import { modelChoices } from "../../lib/datasets";
import { versionText } from "../../format";
import { modelKeys } from "../models/keys";
import { agreementHref } from "./AgreementPage";

/** The newest run of ``v`` on dataset version ``dv`` (its evaluation id), if any. */
function runOn(v: ModelVersionPublic, dv: number): number | null {
  return (v.evaluations ?? []).find((e) => e.dataset_version_id === dv)?.id ?? null;
}

function active(jobs: JobPublic[], versionId: number, dv: number): boolean {
  return jobs.some((j) => j.model_version_id === versionId && j.dataset_version_id === dv && (j.status === "queued" || j.status === "running"));
}

export function CompareWithParent({
  version: v,
  parent,
  versions,
  jobs,
}: {
  version: ModelVersionPublic;
  parent: ModelVersionPublic;
  versions: DatasetVersionPublic[];
  jobs: JobPublic[];
}) {
  const [open, setOpen] = useState(false);
  const [picked, setPicked] = useState<number | null>(null);
  const queryClient = useQueryClient();
  // the dataset versions both can take; first one where both have run, else one where either has
  const choices = useMemo(() => {
    if (v.task === null || parent.task === null) return [];
    const mine = modelChoices(v, versions, []).choices;
    const theirs = new Set(modelChoices(parent, versions, []).choices.map((c) => c.id));
    return mine
      .filter((c) => theirs.has(c.id))
      .map((c) => {
        const both = runOn(v, c.id) !== null && runOn(parent, c.id) !== null;
        return { ...c, both, label: `${c.label.replace(/ · has results$/, "")}${both ? " · both ran" : ""}` };
      })
      .sort((x, y) => Number(y.both) - Number(x.both));
  }, [v, parent, versions]);
  const dv = picked ?? choices[0]?.id ?? null;
  const a = dv === null ? null : runOn(parent, dv);
  const b = dv === null ? null : runOn(v, dv);
  const running = dv !== null && (active(jobs, parent.id, dv) || active(jobs, v.id, dv));
  const missing = dv === null ? [] : [a === null ? parent : null, b === null ? v : null].filter((x): x is ModelVersionPublic => x !== null);
  const cannot = missing.filter((m) => !m.runnable);
  const start = useMutation({
    mutationFn: async () => {
      for (const m of missing) if (dv !== null && !active(jobs, m.id, dv)) await api.calculate(m.id, dv);
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: modelKeys.jobs() }),
  });
  if (choices.length === 0) return null;
  if (!open)
    return (
      <div>
        <button className="btn btn-ghost btn-sm" onClick={() => setOpen(true)} data-testid="compare-parent-on">
          Compare with parent on…
        </button>
      </div>
    );
  return (
    <div className="compare-parent" data-testid="compare-parent-form">
      <select aria-label="Dataset version to compare on" value={dv ?? undefined} onChange={(e) => setPicked(Number(e.target.value))} data-testid="compare-parent-dataset">
        {choices.map((c) => (
          <option key={c.id} value={c.id}>
            {c.label}
          </option>
        ))}
      </select>{" "}
      {a !== null && b !== null ? (
        <a className="btn btn-sm btn-primary" href={agreementHref(a, b)} data-testid="open-agreement" title="top-1 agreement, kappa, flips: labels not used">
          Agreement
        </a>
      ) : cannot.length > 0 ? (
        <span className="muted small" data-testid="compare-parent-cannot">
          {cannot.map((m) => versionText(m.version)).join(" and ")} has no run here and was registered from predictions: nothing to run
        </span>
      ) : running ? (
        <span className="muted small" data-testid="compare-parent-running">
          Running {missing.map((m) => versionText(m.version)).join(" and ")}… the agreement opens here when done
        </span>
      ) : (
        <button className="btn btn-sm" onClick={() => start.mutate()} disabled={start.isPending} data-testid="compare-parent-run">
          Run {missing.map((m) => versionText(m.version)).join(" and ")}, then compare
        </button>
      )}
      {start.error && <div className="job-error small">{start.error.message}</div>}
    </div>
  );
}
