// Query keys of the Models page: the catalog of models, datasets (also the data-quality page's
// training-set picker), the jobs, and the server's data roots (the "Add a dataset" form).
export const modelKeys = {
  models: () => ["models"] as const,
  datasets: () => ["datasets"] as const,
  jobs: () => ["jobs"] as const,
  dataRoots: () => ["data-roots"] as const,
};
