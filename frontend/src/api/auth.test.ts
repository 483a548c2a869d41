import { describe, expect, it, vi } from "vitest";
import createClient from "openapi-fetch";
import { TOKEN_KEY, accessProblem, authMiddleware, bearer, createTokenStore, isSessionPath, type KeyValueStorage } from "./auth";
import type { paths } from "./schema";

function memoryStorage(): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v), removeItem: (k) => void data.delete(k) };
}

describe("token store", () => {
  it("keeps the token under assay-token, trimmed, and clears it", () => {
    const storage = memoryStorage();
    const store = createTokenStore(storage);
    expect(store.get()).toBeNull();
    store.set("  s3cret \n");
    expect(storage.data.get(TOKEN_KEY)).toBe("s3cret");
    expect(store.get()).toBe("s3cret");
    expect(createTokenStore(storage).get()).toBe("s3cret"); // a reload finds it
    store.clear();
    expect(store.get()).toBeNull();
  });

  it("treats an empty stored value as no token", () => {
    const storage = memoryStorage();
    storage.setItem(TOKEN_KEY, "   ");
    expect(createTokenStore(storage).get()).toBeNull();
  });

  it("falls back to memory when the storage throws", () => {
    const broken: KeyValueStorage = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("denied");
      },
      removeItem: () => {
        throw new Error("denied");
      },
    };
    const store = createTokenStore(broken);
    store.set("t");
    expect(store.get()).toBe("t");
    store.clear();
    expect(store.get()).toBeNull();
    expect(createTokenStore(undefined).get()).toBeNull();
  });

  it("a 401 forgets the token and tells every listener once", () => {
    const store = createTokenStore(memoryStorage());
    store.set("old");
    const a = vi.fn();
    const b = vi.fn();
    const stopA = store.subscribe(a);
    store.subscribe(b);
    store.unauthorized("invalid access token");
    expect(store.get()).toBeNull();
    expect(a).toHaveBeenCalledWith({ kind: "unauthorized", detail: "invalid access token" });
    expect(b).toHaveBeenCalledTimes(1);
    stopA();
    store.unauthorized("again");
    expect(a).toHaveBeenCalledTimes(1);
    expect(b).toHaveBeenCalledTimes(2);
  });
});

describe("access problems", () => {
  it("a 401 outside /api/session asks again; the session's own 401 is the form's error", () => {
    expect(accessProblem(401, "http://h/api/evaluations")).toBe("unauthorized");
    expect(accessProblem(401, "/api/evaluations/3/samples?offset=0")).toBe("unauthorized");
    expect(accessProblem(401, "http://h/api/session")).toBeNull();
    expect(accessProblem(401, "http://h/api/session?x=1")).toBeNull();
    expect(accessProblem(421, "http://h/api/session")).toBe("wrong-host");
    expect(accessProblem(404, "http://h/api/evaluations/9")).toBeNull();
    expect(accessProblem(200, "http://h/api/evaluations")).toBeNull();
    expect(isSessionPath("http://h/api/sessions")).toBe(false);
  });

  it("bearer", () => {
    expect(bearer(null)).toBeNull();
    expect(bearer("abc")).toBe("Bearer abc");
  });
});

describe("auth middleware", () => {
  function setup(answer: (req: Request) => Response) {
    const store = createTokenStore(memoryStorage());
    const seen: Request[] = [];
    const fetch = async (input: Request) => {
      seen.push(input);
      return answer(input);
    };
    const client = createClient<paths>({ baseUrl: "http://assay.test", fetch: fetch as typeof globalThis.fetch });
    client.use(authMiddleware(store));
    return { store, seen, client };
  }
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

  it("sends Authorization: Bearer <token> when one is stored, nothing otherwise", async () => {
    const { store, seen, client } = setup(() => json(200, { items: [] }));
    await client.GET("/api/evaluations");
    expect(seen[0].headers.get("Authorization")).toBeNull();
    store.set("tok");
    await client.GET("/api/evaluations");
    expect(seen[1].headers.get("Authorization")).toBe("Bearer tok");
  });

  it("a 401 clears the token and reports the server's detail", async () => {
    const { store, client } = setup(() =>
      json(401, { detail: "invalid access token" }, { "WWW-Authenticate": 'Bearer realm="assay"' }),
    );
    store.set("stale");
    const heard = vi.fn();
    store.subscribe(heard);
    const res = await client.GET("/api/evaluations");
    expect(res.response.status).toBe(401);
    expect((res.error as { detail: string }).detail).toBe("invalid access token"); // the body is still readable
    expect(store.get()).toBeNull();
    expect(heard).toHaveBeenCalledWith({ kind: "unauthorized", detail: "invalid access token" });
  });

  it("a wrong token at POST /api/session is left to the form", async () => {
    const { store, client } = setup(() => json(401, { detail: "invalid access token" }));
    store.set("kept");
    const heard = vi.fn();
    store.subscribe(heard);
    await client.POST("/api/session", { body: { token: "wrong" } });
    expect(store.get()).toBe("kept");
    expect(heard).not.toHaveBeenCalled();
  });

  it("other errors leave the token alone", async () => {
    const { store, client } = setup(() => json(404, { detail: "no evaluation 9" }));
    store.set("tok");
    await client.GET("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: 9 } } });
    expect(store.get()).toBe("tok");
  });
});

describe("retry policy", async () => {
  const { makeQueryClient } = await import("./queryClient");
  const { ApiError } = await import("./client");
  const retry = makeQueryClient().getDefaultOptions().queries?.retry as (n: number, e: Error) => boolean;
  it("never retries a 401 or a 421; retries a 5xx or an unreachable server once", () => {
    expect(retry(0, new ApiError("invalid access token", 401))).toBe(false);
    expect(retry(0, new ApiError("Host 'x' is not served here", 421))).toBe(false);
    expect(retry(0, new ApiError("boom", 500))).toBe(true);
    expect(retry(0, new ApiError("down", null))).toBe(true);
    expect(retry(1, new ApiError("down", null))).toBe(false);
  });
});
