// "What if…": a link to the what-if page of an evaluation's model version, shown only when that
// version has a stored model to run.
import { usePredictInfo } from "./hooks";
import { whatIfHref } from "../../routes";
import "./WhatIf.css";

export function WhatIfLink({ versionId }: { versionId: number }) {
  const q = usePredictInfo(versionId, { quiet: true });
  if (!q.data?.runnable) return null;
  return (
    <a className="btn btn-sm" href={whatIfHref(versionId)} title="Run this model on your own images or texts" data-testid="whatif-link">
      What if…
    </a>
  );
}
