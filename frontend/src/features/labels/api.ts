// Server state of the label page: the per-class table at the page's point (one label's row, and
// every class for the chart) and the label's TP / FN / FP samples from the feed's endpoint.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type SliderParams } from "../../api/client";
import type { Outcome } from "../../lib/vocabulary";
import type { ClassRow } from "./perClass";

export const GALLERY = 24; // samples per gallery

export const labelKeys = {
  table: (id: number, p: SliderParams) => ["label-page", id, "table", p] as const,
  gallery: (id: number, label: string, outcome: Outcome, p: SliderParams) => ["label-page", id, "gallery", label, outcome, p] as const,
};

/** The per-class rows at ``p`` (the same endpoint as the evaluation page's per-class table). */
export function useClassRows(id: number, p: SliderParams) {
  return useQuery({
    queryKey: labelKeys.table(id, p),
    queryFn: async ({ signal }) => {
      const answer = await api.labels(id, p, signal);
      return answer.items as ClassRow[];
    },
    placeholderData: keepPreviousData,
  });
}

/** The first samples of one outcome of ``label`` (detection: the images with most such boxes first). */
export function useGallery(id: number, label: string, outcome: Outcome, p: SliderParams, detection: boolean) {
  return useQuery({
    queryKey: labelKeys.gallery(id, label, outcome, p),
    queryFn: ({ signal }) => api.samples(id, { ...p, label, outcome, limit: GALLERY, sort: detection ? outcome : "confidence" }, signal),
    placeholderData: keepPreviousData,
  });
}
