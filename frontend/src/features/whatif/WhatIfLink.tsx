// "What if…": a link to the what-if page of an evaluation's model version, shown only when that
// version has a stored model to run.
import { useQuery } from "@tanstack/react-query";
import { fetchPredictInfo } from "./whatif";
import { whatIfHref } from "../../routes";
import "./WhatIf.css";

export function WhatIfLink({ versionId }: { versionId: number }) {
  const q = useQuery({ queryKey: ["what-if", versionId], queryFn: ({ signal }) => fetchPredictInfo(versionId, signal), staleTime: 60_000, retry: false });
  if (!q.data?.runnable) return null;
  return (
    <a className="btn btn-sm" href={whatIfHref(versionId)} title="Run this model on your own images or texts" data-testid="whatif-link">
      What if…
    </a>
  );
}
