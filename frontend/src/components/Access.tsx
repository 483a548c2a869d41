// Access to a server that requires a token (`assay serve --host 0.0.0.0`): ask /api/session, sign
// in with the stored token, or ask for one; a 401 anywhere later asks again (see api/auth.ts).
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, api } from "../api/client";
import { tokens } from "../api/auth";
import { Spinner } from "./common";

export type Access =
  | { phase: "checking" }
  | { phase: "open" } // no token required
  | { phase: "signed-in" }
  | { phase: "prompt"; error: string | null }
  | { phase: "wrong-host"; detail: string } // 421: opened under a host name the server does not serve
  | { phase: "unreachable"; detail: string };

export function useAccess() {
  const queryClient = useQueryClient();
  const [access, setAccess] = useState<Access>({ phase: "checking" });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let live = true;
    const set = (a: Access) => live && setAccess(a);
    (async () => {
      try {
        const s = await api.session();
        if (!s.required) return set({ phase: "open" });
        const t = tokens.get();
        if (!t) return set({ phase: "prompt", error: null });
        try {
          await api.signIn(t);
          set({ phase: "signed-in" });
        } catch (e) {
          if (e instanceof ApiError && e.status === 401) {
            tokens.clear();
            set({ phase: "prompt", error: `The stored token was refused: ${e.message}` });
          } else throw e;
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 421) set({ phase: "wrong-host", detail: e.message });
        else set({ phase: "unreachable", detail: e instanceof Error ? e.message : String(e) });
      }
    })();
    return () => {
      live = false;
    };
  }, [attempt]);

  // Any 401 later on (token changed on the server, restarted with another one): ask again.
  useEffect(
    () =>
      tokens.subscribe((e) => {
        queryClient.cancelQueries();
        setAccess((a) => (a.phase === "open" ? a : { phase: "prompt", error: `The server no longer accepts the token: ${e.detail}` }));
      }),
    [queryClient],
  );

  const signIn = useCallback(
    async (token: string) => {
      const t = token.trim();
      if (!t) return "Enter the access token.";
      try {
        await api.signIn(t);
      } catch (e) {
        if (e instanceof ApiError && e.status === 421) setAccess({ phase: "wrong-host", detail: e.message });
        return e instanceof Error ? e.message : String(e);
      }
      tokens.set(t);
      queryClient.clear();
      setAccess({ phase: "signed-in" });
      return null;
    },
    [queryClient],
  );

  const signOut = useCallback(async () => {
    try {
      await api.signOut();
    } catch {
      /* the cookie goes with the server's answer; the token goes here regardless */
    }
    tokens.clear();
    queryClient.clear();
    setAccess({ phase: "prompt", error: null });
  }, [queryClient]);

  const retry = useCallback(() => {
    setAccess({ phase: "checking" });
    setAttempt((n) => n + 1);
  }, []);

  return { access, signIn, signOut, retry };
}

/** The body of the page while access is not settled: a spinner, the token prompt, or a problem. */
export function AccessScreen({
  access,
  signIn,
  retry,
}: {
  access: Access;
  signIn: (token: string) => Promise<string | null>;
  retry: () => void;
}) {
  if (access.phase === "checking") return <Spinner label="Connecting…" />;
  if (access.phase === "prompt") return <TokenPrompt initialError={access.error} signIn={signIn} />;
  if (access.phase === "wrong-host" || access.phase === "unreachable")
    return (
      <div className="state state-error" data-testid={access.phase === "wrong-host" ? "wrong-host" : "error-state"} role="alert">
        <div className="state-title">
          {access.phase === "wrong-host" ? "This address is not served by the Assay server" : "The Assay server is not answering"}
        </div>
        <div className="state-detail">{access.detail}</div>
        {access.phase === "wrong-host" && (
          <div className="state-detail">Open the UI under an address the server serves, or start it with --allow-host.</div>
        )}
        <button className="btn" onClick={retry}>
          Try again
        </button>
      </div>
    );
  return null;
}

function TokenPrompt({ initialError, signIn }: { initialError: string | null; signIn: (token: string) => Promise<string | null> }) {
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(initialError);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const problem = await signIn(value);
    setBusy(false);
    if (problem) setError(problem);
  };

  return (
    <div className="auth-wrap">
      <form className="card auth-card" onSubmit={submit} data-testid="token-prompt" aria-labelledby="token-title">
        <h1 id="token-title">Access token required</h1>
        <p className="muted">
          This Assay server asks for an access token. <code>assay serve</code> prints it when it starts (“Access token
          (generated, give it to the UI once): …”), or it is the one set with <code>--token</code> /{" "}
          <code>ASSAY_TOKEN</code>. This browser keeps it until you sign out.
        </p>
        <label className="auth-field">
          <span>Token</span>
          <input
            className="search auth-input"
            type="password"
            name="token"
            autoComplete="current-password"
            autoFocus
            value={value}
            onChange={(e) => setValue(e.target.value)}
            data-testid="token-input"
          />
        </label>
        {error && (
          <div className="auth-error error-text" role="alert" data-testid="token-error">
            {error}
          </div>
        )}
        <div className="modal-actions">
          <button className="btn btn-primary" type="submit" disabled={busy || !value.trim()} data-testid="token-submit">
            {busy ? "Checking…" : "Submit"}
          </button>
        </div>
      </form>
    </div>
  );
}
