// Server state of the embedding map page: the map (polled every second while it is laid out in
// the background), starting a UMAP, a sample's nearest neighbours, a page of a lasso selection.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { client, unwrap, type SliderParams } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type MapPublic = Schemas["MapPublic"];
export type MapStatus = Schemas["MapStatus"];
export type MapMethod = MapPublic["method"];
export type Neighbours = Schemas["NeighboursPublic"];
export type Selection = Schemas["SelectionPublic"];

export interface MapQuery extends SliderParams {
  method: MapMethod;
  property?: string;
  label_errors?: boolean;
}

export const embeddingKeys = {
  map: (id: number, q: MapQuery) => ["embeddings", id, "map", q] as const,
  neighbours: (id: number, index: number, at: SliderParams) => ["embeddings", id, "neighbours", index, at] as const,
  selection: (id: number, indices: readonly number[], offset: number, at: SliderParams) =>
    ["embeddings", id, "selection", indices.length, indices.slice(0, 8), indices[indices.length - 1], offset, at] as const,
};

/** The map, or (202) how far its run got: asked again every second until it is ready. */
export function useEmbeddingMap(id: number, q: MapQuery) {
  return useQuery({
    queryKey: embeddingKeys.map(id, q),
    queryFn: async ({ signal }): Promise<MapPublic | MapStatus> => {
      const query = { ...q, label_errors: q.label_errors || undefined, property: q.property || undefined };
      return (await unwrap(client.GET("/api/evaluations/{evaluation_id}/embeddings/map", { params: { path: { evaluation_id: id }, query }, signal }))) as MapPublic | MapStatus;
    },
    placeholderData: keepPreviousData,
    retry: false,
    refetchInterval: (query) => {
      const status = query.state.data?.status;
      return status === "running" || status === "missing" ? 1000 : false;
    },
  });
}

/** Start laying out a map in the background (UMAP, or a failed one again). */
export const startMap = (id: number, method: MapMethod, retry = false) =>
  unwrap(client.POST("/api/evaluations/{evaluation_id}/embeddings/maps", { params: { path: { evaluation_id: id } }, body: { method, retry, seed: 0 } }));

export function useNeighbours(id: number, index: number | null, at: SliderParams) {
  return useQuery({
    queryKey: embeddingKeys.neighbours(id, index ?? -1, at),
    queryFn: ({ signal }) =>
      unwrap(client.GET("/api/evaluations/{evaluation_id}/embeddings/neighbours", { params: { path: { evaluation_id: id }, query: { index: index ?? 0, k: 8, ...at } }, signal })),
    enabled: index !== null,
    retry: false,
  });
}

export function useSelection(id: number, indices: readonly number[], offset: number, limit: number, at: SliderParams) {
  return useQuery({
    queryKey: embeddingKeys.selection(id, indices, offset, at),
    queryFn: ({ signal }) =>
      unwrap(
        client.POST("/api/evaluations/{evaluation_id}/embeddings/selection", {
          params: { path: { evaluation_id: id }, query: { ...at } },
          body: { indices: [...indices], offset, limit },
          signal,
        }),
      ),
    enabled: indices.length > 0,
    placeholderData: keepPreviousData,
    retry: false,
  });
}
