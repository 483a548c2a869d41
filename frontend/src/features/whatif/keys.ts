// Query keys of the what-if page: what a model version can be asked (GET /api/models/{id}/predict).
export const whatifKeys = {
  info: (versionId: number) => ["what-if", versionId] as const,
};
