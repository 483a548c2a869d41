// The access token of a server that requires one (`assay serve --host 0.0.0.0`, --token /
// ASSAY_TOKEN): kept in localStorage under `assay-token`, sent as `Authorization: Bearer` on every
// API call, and forgotten on any 401 (the UI then asks for it again). Pure logic over a storage, so
// Vitest runs it without a browser.

import type { Middleware } from "openapi-fetch";
import { detailText } from "./detail";

export const TOKEN_KEY = "assay-token";

/** The part of the Web Storage API used here (localStorage, or a Map-backed stand-in in tests). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Why the UI must ask for a token: none yet, or the one it had was refused. */
export type AuthEvent = { kind: "unauthorized"; detail: string };

export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
  /** A 401 from the server: forget the token and tell the listeners (who show the prompt). */
  unauthorized(detail: string): void;
  subscribe(listener: (e: AuthEvent) => void): () => void;
}

/** A storage that never fails: private modes and disabled storage fall back to memory. */
function safe(storage: KeyValueStorage | undefined): KeyValueStorage {
  const memory = new Map<string, string>();
  const fallback: KeyValueStorage = {
    getItem: (k) => memory.get(k) ?? null,
    setItem: (k, v) => void memory.set(k, v),
    removeItem: (k) => void memory.delete(k),
  };
  if (!storage) return fallback;
  return {
    getItem: (k) => {
      try {
        return storage.getItem(k);
      } catch {
        return fallback.getItem(k);
      }
    },
    setItem: (k, v) => {
      try {
        storage.setItem(k, v);
      } catch {
        fallback.setItem(k, v);
      }
    },
    removeItem: (k) => {
      try {
        storage.removeItem(k);
      } catch {
        /* nothing stored there */
      }
      fallback.removeItem(k);
    },
  };
}

export function createTokenStore(storage: KeyValueStorage | undefined): TokenStore {
  const s = safe(storage);
  const listeners = new Set<(e: AuthEvent) => void>();
  return {
    get: () => {
      const t = s.getItem(TOKEN_KEY);
      return t && t.trim() ? t : null;
    },
    set: (token) => s.setItem(TOKEN_KEY, token.trim()),
    clear: () => s.removeItem(TOKEN_KEY),
    unauthorized(detail) {
      s.removeItem(TOKEN_KEY);
      for (const l of [...listeners]) l({ kind: "unauthorized", detail });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

/** The header value for a token (null: send none). */
export const bearer = (token: string | null): string | null => (token ? `Bearer ${token}` : null);

/** Session paths answer 401 for a wrong token themselves: the login form shows that, no re-prompt. */
export const isSessionPath = (url: string): boolean => new URL(url, "http://localhost").pathname.replace(/\/+$/, "") === "/api/session";

/**
 * What a response means for access: "unauthorized" (401 outside /api/session: forget the token,
 * ask again), "wrong-host" (421: the page was opened under a host name the server does not serve),
 * or null.
 */
export function accessProblem(status: number, url: string): "unauthorized" | "wrong-host" | null {
  if (status === 401 && !isSessionPath(url)) return "unauthorized";
  if (status === 421) return "wrong-host";
  return null;
}

/** openapi-fetch middleware: the token on every request; a 401 forgets it and tells the listeners. */
export function authMiddleware(store: TokenStore): Middleware {
  return {
    onRequest({ request }) {
      const auth = bearer(store.get());
      if (auth) request.headers.set("Authorization", auth);
      return request;
    },
    async onResponse({ request, response }) {
      if (accessProblem(response.status, request.url) === "unauthorized") {
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        store.unauthorized(detailText(body) ?? "access token required");
      }
      return response;
    },
  };
}

/** The browser's store (memory when there is no localStorage, e.g. under Vitest in node). */
export const tokens: TokenStore = createTokenStore(typeof localStorage === "undefined" ? undefined : localStorage);
