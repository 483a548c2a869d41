// Server state of the agreement page (two runs compared without labels): the summary, the
// per-sample table, one sample's scores of both models, one image's boxes of both detectors.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { client, unwrap, type QueryOf } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type ClassificationAgreement = Schemas["ClassificationAgreement"];
export type DetectionAgreement = Schemas["DetectionAgreement"];
export type MultilabelAgreement = Schemas["MultilabelAgreement"];
export type Agreement = ClassificationAgreement | DetectionAgreement | MultilabelAgreement;
export type AgreementRow = Schemas["AgreementRow"];
export type AgreementSample = Schemas["AgreementSample"];
export type AgreementImage = Schemas["AgreementImage"];
export type AgreementBox = Schemas["AgreementBox"];
export type AgreementSampleQuery = Omit<QueryOf<"/api/agreement/samples">, "a" | "b">;

export const agreementKeys = {
  summary: (a: number, b: number, iou: number, threshold: number) => ["agreement", a, b, iou, threshold] as const,
  samples: (a: number, b: number, q: AgreementSampleQuery) => ["agreement", a, b, "samples", q] as const,
  sample: (a: number, b: number, index: number) => ["agreement", a, b, "sample", index] as const,
  image: (a: number, b: number, index: number, iou: number) => ["agreement", a, b, "image", index, iou] as const,
};

/** The summary of runs A and B: ``iou`` for detectors, ``threshold`` for multi-label runs. */
export function useAgreement(a: number, b: number, iou: number, threshold = 0.5) {
  return useQuery({
    queryKey: agreementKeys.summary(a, b, iou, threshold),
    queryFn: ({ signal }) => unwrap(client.GET("/api/agreement", { params: { query: { a, b, iou, threshold } }, signal })),
    placeholderData: keepPreviousData,
    retry: false,
  });
}

export function useAgreementSamples(a: number, b: number, q: AgreementSampleQuery, enabled: boolean) {
  return useQuery({
    queryKey: agreementKeys.samples(a, b, q),
    queryFn: ({ signal }) => unwrap(client.GET("/api/agreement/samples", { params: { query: { ...q, a, b } }, signal })),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useAgreementSample(a: number, b: number, index: number | null) {
  return useQuery({
    queryKey: agreementKeys.sample(a, b, index ?? -1),
    queryFn: ({ signal }) =>
      unwrap(client.GET("/api/agreement/samples/{index}", { params: { path: { index: index ?? 0 }, query: { a, b } }, signal })),
    enabled: index !== null,
  });
}

export function useAgreementImage(a: number, b: number, index: number | null, iou: number) {
  return useQuery({
    queryKey: agreementKeys.image(a, b, index ?? -1, iou),
    queryFn: ({ signal }) =>
      unwrap(client.GET("/api/agreement/images/{index}", { params: { path: { index: index ?? 0 }, query: { a, b, iou } }, signal })),
    enabled: index !== null,
  });
}
