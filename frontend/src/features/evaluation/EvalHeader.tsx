import type { EvaluationDetail } from "../../api/client";
import { fmtDate, taskLabel, versionText } from "../../format";
import { WhatIfLink } from "../whatif/WhatIfLink";
import { qualityHref } from "../quality/url";
import { embeddingsHref } from "../embeddings/EmbeddingsPage";
import { DownloadReport } from "../reports/DownloadReport";

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
          {typeof ev.params.device === "string" && (
            <span data-testid="eval-device" title="Where the model ran to make these predictions">
              {" · on "}
              {ev.params.device}
              {ev.params.ray ? " (Ray)" : ""}
            </span>
          )}
        </p>
      </div>
      <div className="page-head-side">
        {ev.status === "done" && (
          <a className="btn btn-sm" href={qualityHref(ev.id)} data-testid="quality-link" title="Which data properties go with the errors; duplicates; likely label errors">
            Data quality
          </a>
        )}
        {ev.status === "done" && (
          <a className="btn btn-sm" href={embeddingsHref(ev.id)} data-testid="embeddings-link" title="Every sample on a 2-D map of the model's embedding, coloured by outcome">
            Embedding map
          </a>
        )}
        {ev.status === "done" && <DownloadReport evaluationId={ev.id} />}
        {ev.model && <WhatIfLink versionId={ev.model.version_id} />}
        <span className={`badge badge-${ev.status}`}>{ev.status}</span>
      </div>
    </div>
  );
}
