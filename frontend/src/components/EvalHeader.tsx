import type { EvaluationDetail } from "../api/client";
import { fmtDate, taskLabel, versionText } from "../format";
import { WhatIfLink } from "./WhatIfLink";

export function EvalHeader({ ev }: { ev: EvaluationDetail }) {
  return (
    <div className="page-head">
      <div>
        <h1 data-testid="eval-title">{ev.name}</h1>
        <p className="muted">
          <span className="strong-muted">{ev.model ? `${ev.model.name} ${versionText(ev.model.version)}` : "Uploaded predictions"}</span>
          {" × "}
          <span className="strong-muted">{ev.dataset ? `${ev.dataset.name} ${versionText(ev.dataset.version)}` : "dataset"}</span>
          {" · "}
          {taskLabel(ev.task, ev.media)} · {ev.n_samples.toLocaleString()} {ev.task === "detection" ? "images" : "samples"} · {ev.n_classes} classes · {fmtDate(ev.created_at)}
        </p>
      </div>
      <div className="page-head-side">
        {ev.model && <WhatIfLink versionId={ev.model.version_id} />}
        <span className={`badge badge-${ev.status}`}>{ev.status}</span>
      </div>
    </div>
  );
}
