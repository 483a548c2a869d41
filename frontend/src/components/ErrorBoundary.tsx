import { Component, type ReactNode } from "react";

/** Keeps a rendering bug in one panel from blanking the whole page. */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: unknown }, { error: Error | null; key?: unknown }> {
  state: { error: Error | null; key?: unknown } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  static getDerivedStateFromProps(props: { resetKey?: unknown }, state: { error: Error | null; key?: unknown }) {
    return props.resetKey !== state.key ? { error: null, key: props.resetKey } : null;
  }

  render() {
    if (this.state.error)
      return (
        <div className="state state-error" role="alert" data-testid="render-error">
          <div className="state-title">This view failed to render</div>
          <div className="state-detail">{this.state.error.message}</div>
        </div>
      );
    return this.props.children;
  }
}
