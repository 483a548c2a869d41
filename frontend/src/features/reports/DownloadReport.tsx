// "Download report": the standalone report of an evaluation (or of B against A) from
// GET /api/evaluations/{id}/report, a file that opens offline (HTML) or a Markdown summary.
// A plain link: the browser sends the session cookie, as it does for media.

export function reportHref(evaluationId: number, opts: { compare?: number; format?: "html" | "md" } = {}): string {
  const q = new URLSearchParams();
  if (opts.format && opts.format !== "html") q.set("format", opts.format);
  if (opts.compare !== undefined) q.set("compare", String(opts.compare));
  const query = q.toString();
  return `/api/evaluations/${evaluationId}/report${query ? `?${query}` : ""}`;
}

export function DownloadReport({ evaluationId, compare }: { evaluationId: number; compare?: number }) {
  const what = compare === undefined ? "this evaluation" : "this comparison";
  return (
    <span className="download-report" data-testid="download-report">
      <a
        className="btn btn-sm"
        href={reportHref(evaluationId, { compare })}
        download
        data-testid="download-report-html"
        title={`One HTML file of ${what} that opens offline: headline with intervals, per-class table, confusion matrix, curves and conventions`}
      >
        Download report
      </a>{" "}
      <a
        className="btn btn-sm"
        href={reportHref(evaluationId, { compare, format: "md" })}
        download
        data-testid="download-report-md"
        title={`A Markdown summary of ${what}, e.g. for a pull-request comment`}
      >
        Markdown
      </a>
    </span>
  );
}
