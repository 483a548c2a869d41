import { useEffect, type ReactNode } from "react";
import { ApiError } from "../api/client";
import { ErrorBoundary } from "./ErrorBoundary";

export function Spinner({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" data-testid="loading" role="status">
      <span className="spinner" aria-hidden />
      <span>{label}</span>
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const status = error instanceof ApiError ? error.status : null;
  const title =
    status === null ? "The Assay server is not answering" : status === 404 ? "Not found" : "Something went wrong";
  return (
    <div className="state state-error" data-testid="error-state" role="alert">
      <div className="state-title">{title}</div>
      <div className="state-detail">{error.message}</div>
      {onRetry && (
        <button className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty-state">
      <div className="state-title">{title}</div>
      {children && <div className="state-detail">{children}</div>}
    </div>
  );
}

export function Panel({
  title,
  actions,
  children,
  testid,
  className,
  busy,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  testid?: string;
  className?: string;
  /** An answer for new parameters is on its way: the shown one is dimmed until it lands. */
  busy?: boolean;
}) {
  return (
    <section className={`panel ${busy ? "is-busy" : ""} ${className ?? ""}`} data-testid={testid} data-busy={busy ? "true" : "false"}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions && <div className="panel-actions">{actions}</div>}
      </header>
      <div className="panel-body">
        <ErrorBoundary>{children}</ErrorBoundary>
      </div>
    </section>
  );
}

export function Modal({
  title,
  onClose,
  children,
  testid,
  wide,
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  testid?: string;
  wide?: boolean;
}) {
  useEffect(() => {
    const on = (e: KeyboardEvent) => e.key === "Escape" && onClose();
    window.addEventListener("keydown", on);
    return () => window.removeEventListener("keydown", on);
  }, [onClose]);
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`modal ${wide ? "modal-wide" : ""}`} role="dialog" aria-modal data-testid={testid}>
        <header className="modal-head">
          <h2>{title}</h2>
          <button className="icon-btn" onClick={onClose} aria-label="Close" data-testid="modal-close">
            ×
          </button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  );
}

export function Segmented<T extends string>({
  value,
  options,
  onChange,
  testid,
}: {
  value: T;
  options: { value: T; label: string }[];
  onChange: (v: T) => void;
  testid?: string;
}) {
  return (
    <div className="segmented" role="tablist" data-testid={testid}>
      {options.map((o) => (
        <button
          key={o.value}
          role="tab"
          aria-selected={o.value === value}
          className={o.value === value ? "active" : ""}
          onClick={() => onChange(o.value)}
          data-testid={testid ? `${testid}-${o.value}` : undefined}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}

export function SliderField({
  label,
  value,
  min,
  max,
  step,
  onChange,
  testid,
  hint,
}: {
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  onChange: (v: number) => void;
  testid: string;
  hint?: ReactNode;
}) {
  return (
    <label className="slider-field">
      <span className="slider-label">{label}</span>
      <input
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        onChange={(e) => onChange(Number(e.target.value))}
        data-testid={testid}
      />
      <input
        type="number"
        className="slider-number"
        min={min}
        max={max}
        step={step}
        value={Number(value.toFixed(3))}
        onChange={(e) => {
          const v = Number(e.target.value);
          if (!Number.isNaN(v)) onChange(Math.min(max, Math.max(min, v)));
        }}
        data-testid={`${testid}-value`}
      />
      {hint}
    </label>
  );
}
