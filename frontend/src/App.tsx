import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { EvaluationsList } from "./features/evaluation/EvaluationsList";
import { EvaluationPage } from "./features/evaluation/EvaluationPage";
import { WhatIfPage } from "./features/whatif/WhatIfPage";
import { ModelsPage } from "./features/models/ModelsPage";
import { ComparePage } from "./features/compare/ComparePage";
import { LeaderboardPage } from "./features/compare/LeaderboardPage";
import { AgreementPage } from "./features/agreement/AgreementPage";
import { QualityPage } from "./features/quality/QualityPage";
import { LabelPage } from "./features/labels/LabelPage";
import { Empty } from "./components/common";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { api } from "./api/client";
import { appKeys } from "./api/queryClient";
import { tokens } from "./api/auth";
import { AccessScreen, useAccess } from "./components/Access";
import { matchPage, parseHash, useHash, type Crumb } from "./routes";
import { EmbeddingsPage, matchEmbeddings } from "./features/embeddings/EmbeddingsPage";

export function App() {
  const route = parseHash(useHash());
  const page = matchPage(route.path);
  const [crumbs, setCrumbs] = useState<Crumb[]>([]);
  const health = useQuery({ queryKey: appKeys.health(), queryFn: ({ signal }) => api.health(signal), retry: false, staleTime: Infinity });
  const version = health.data?.version ?? "";
  const { access, signIn, signOut, retry } = useAccess();
  const allowed = access.phase === "open" || access.phase === "signed-in";

  let body;
  if (!allowed) body = <AccessScreen access={access} signIn={signIn} retry={retry} />;
  else if (matchEmbeddings(route.path) !== null) body = <EmbeddingsPage key={route.path} id={matchEmbeddings(route.path) ?? 0} params={route.params} setCrumbs={setCrumbs} />;
  else if (page.name === "list") body = <EvaluationsList setCrumbs={setCrumbs} />;
  else if (page.name === "models") body = <ModelsPage setCrumbs={setCrumbs} />;
  else if (page.name === "compare") body = <ComparePage params={route.params} setCrumbs={setCrumbs} />;
  else if (page.name === "leaderboard") body = <LeaderboardPage params={route.params} setCrumbs={setCrumbs} />;
  else if (page.name === "agreement") body = <AgreementPage params={route.params} setCrumbs={setCrumbs} />;
  else if (page.name === "evaluation") body = <EvaluationPage key={page.id} id={page.id} setCrumbs={setCrumbs} />;
  else if (page.name === "quality") body = <QualityPage key={page.id} id={page.id} setCrumbs={setCrumbs} />;
  else if (page.name === "label") body = <LabelPage key={`${page.id}/${page.label}`} id={page.id} label={page.label} setCrumbs={setCrumbs} />;
  else if (page.name === "what-if") body = <WhatIfPage key={page.versionId} versionId={page.versionId} setCrumbs={setCrumbs} />;
  else body = <NotFound setCrumbs={setCrumbs} />;

  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/" data-testid="brand">
          <span className="brand-mark" aria-hidden>
            <svg viewBox="0 0 16 16" width="18" height="18">
              <path d="M3 13l5-10 5 10" stroke="currentColor" strokeWidth="2" fill="none" strokeLinejoin="round" />
              <path d="M5.5 9h5" stroke="currentColor" strokeWidth="2" />
            </svg>
          </span>
          Assay
        </a>
        {allowed && (
          <nav className="breadcrumb" aria-label="Breadcrumb" data-testid="breadcrumb">
            <a href="#/">Evaluations</a>
            {crumbs.length === 0 && (
              <>
                <span className="sep">·</span>
                <a href="#/models" data-testid="nav-models">
                  Models
                </a>
              </>
            )}
            {crumbs.map((c, i) => (
              <span key={i}>
                <span className="sep">/</span>
                {c.href ? <a href={c.href}>{c.label}</a> : <span className="current">{c.label}</span>}
              </span>
            ))}
          </nav>
        )}
        <div className="topbar-right">
          {version && <span className="version">v{version}</span>}
          {access.phase === "signed-in" && tokens.get() && (
            <button className="btn btn-sm topbar-btn" onClick={signOut} data-testid="sign-out">
              Sign out
            </button>
          )}
        </div>
      </header>
      <main className="content">
        <ErrorBoundary resetKey={route.path}>{body}</ErrorBoundary>
      </main>
    </div>
  );
}

/** An address no page answers: the breadcrumb says so too (not the last page's trail). */
function NotFound({ setCrumbs }: { setCrumbs: (c: Crumb[]) => void }) {
  useEffect(() => setCrumbs([{ label: "Page not found" }]), [setCrumbs]);
  return (
    <Empty title="Page not found">
      <a href="#/">Back to evaluations</a>
    </Empty>
  );
}
