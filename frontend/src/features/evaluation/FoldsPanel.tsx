// K splits of one evaluation (a `fold` column in the ground truth): each fold's headline
// metrics at the evaluation's stored threshold, their mean and spread (population standard
// deviation), and a strip per metric placing every fold so an outlier split shows at once.
import type { EvaluationDetail } from "../../api/client";
import { fmt } from "../../format";
import { numberField } from "../../lib/fields";
import { Panel } from "../../components/common";

const COLUMNS = [
  ["accuracy", "Accuracy"],
  ["macro_f1", "Macro F1"],
  ["roc_auc_macro", "ROC AUC"],
  ["average_precision_macro", "Avg. precision"],
  ["log_loss", "Log loss"],
] as const;

type Folds = NonNullable<EvaluationDetail["folds"]>;

function value(metrics: Folds["folds"][number]["metrics"], key: string): number | null {
  return numberField(metrics, key);
}

function Strip({ values }: { values: (number | null)[] }) {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length < 2) return null;
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  const span = hi - lo || 1;
  return (
    <div className="fold-strip" title={`from ${fmt(lo)} to ${fmt(hi)}`}>
      {xs.map((v, i) => (
        <span key={i} className="fold-dot" style={{ left: `${((v - lo) / span) * 100}%` }} />
      ))}
    </div>
  );
}

export function FoldsPanel({ folds, threshold }: { folds: Folds; threshold: number | null | undefined }) {
  const shown = COLUMNS.filter(([k]) => folds.folds.some((f) => value(f.metrics, k) !== null));
  return (
    <Panel title={`${folds.folds.length} folds`} testid="folds">
      <p className="muted small">
        Each split scored on its own{threshold !== null && threshold !== undefined ? ` at the stored threshold ${threshold.toFixed(2)}` : ""}; the spread is the standard deviation across
        the splits.
      </p>
      <table className="table table-dense" data-testid="folds-table">
        <thead>
          <tr>
            <th>Fold</th>
            <th className="num">Samples</th>
            {shown.map(([k, label]) => (
              <th key={k} className="num">
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {folds.folds.map((f) => (
            <tr key={f.fold} data-testid="fold-row">
              <td className="strong">{f.fold}</td>
              <td className="num">{f.n_samples.toLocaleString()}</td>
              {shown.map(([k]) => (
                <td key={k} className="num">
                  {fmt(value(f.metrics, k))}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr data-testid="folds-mean">
            <th>Mean ± spread</th>
            <td />
            {shown.map(([k]) => (
              <td key={k} className="num nowrap">
                {fmt(folds.mean[k] ?? null)} <span className="muted">± {fmt(folds.std[k] ?? null)}</span>
              </td>
            ))}
          </tr>
          <tr>
            <th className="muted small">Folds</th>
            <td />
            {shown.map(([k]) => (
              <td key={k}>
                <Strip values={folds.folds.map((f) => value(f.metrics, k))} />
              </td>
            ))}
          </tr>
        </tfoot>
      </table>
    </Panel>
  );
}
