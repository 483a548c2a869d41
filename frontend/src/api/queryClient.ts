// The one TanStack Query client: server state cached per (resource, parameters) for five minutes,
// never refetched on focus, a 4xx never retried. Each feature names its own keys
// (features/<feature>/keys.ts) and hooks (features/<feature>/hooks.ts).
import { QueryClient } from "@tanstack/react-query";
import { ApiError } from "./client";

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5 * 60_000,
        refetchOnWindowFocus: false,
        // A 4xx is an answer (not found, bad parameter): asking again changes nothing.
        retry: (n, e) => n < 1 && !(e instanceof ApiError && e.status !== null && e.status < 500),
      },
    },
  });
}

/** Keys of the answers no feature owns: the server's health (its version in the top bar). */
export const appKeys = {
  health: () => ["health"] as const,
};
