import { useEffect, useState } from "react";
import { useHashRoute } from "./hooks";
import { EvaluationsList } from "./pages/EvaluationsList";
import { EvaluationPage } from "./pages/EvaluationPage";
import { Empty } from "./components/common";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { api } from "./api/client";

export interface Crumb {
  label: string;
  href?: string;
}

export function App() {
  const route = useHashRoute();
  const [crumbs, setCrumbs] = useState<Crumb[]>([]);
  const [version, setVersion] = useState<string>("");
  useEffect(() => {
    api.health().then((h) => setVersion(h.version), () => setVersion(""));
  }, []);

  const m = route.match(/^\/evaluations\/(\d+)/);
  let page;
  if (route === "/" || route === "/evaluations") page = <EvaluationsList setCrumbs={setCrumbs} />;
  else if (m) page = <EvaluationPage key={m[1]} id={Number(m[1])} setCrumbs={setCrumbs} />;
  else
    page = (
      <Empty title="Page not found">
        <a href="#/">Back to evaluations</a>
      </Empty>
    );

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
        <nav className="breadcrumb" aria-label="Breadcrumb" data-testid="breadcrumb">
          <a href="#/">Evaluations</a>
          {crumbs.map((c, i) => (
            <span key={i}>
              <span className="sep">/</span>
              {c.href ? <a href={c.href}>{c.label}</a> : <span className="current">{c.label}</span>}
            </span>
          ))}
        </nav>
        <div className="topbar-right">{version && <span className="version">v{version}</span>}</div>
      </header>
      <main className="content">
        <ErrorBoundary resetKey={route}>{page}</ErrorBoundary>
      </main>
    </div>
  );
}
