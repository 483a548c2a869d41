// A model version's speed on the Models page (`assay models profile`: latency, throughput, size,
// peak memory, and a "Profile" job), its INT8 child beside its parent ("INT8: 2.7× faster,
// accuracy −0.2 points, 95 % CI [−0.5, +0.1]") and "Optimize to INT8…" (`assay models optimize
// --int8` as a job, calibrated on a dataset version's images).
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { client, unwrap, type DatasetVersionPublic, type JobPublic, type ModelVersionPublic } from "../../api/client";
import { versionText } from "../../format";
import { isActive } from "./jobs";
import { modelKeys } from "./keys";

type Profile = NonNullable<ModelVersionPublic["profiles"]>[number];
type Timing = Profile["batches"][number];

const QUANTIZABLE = new Set(["onnxruntime", "openvino"]);
const PROFILABLE = new Set(["onnxruntime", "openvino"]); // the server profiles only these (TorchScript runs sandboxed)

/** The newest job of ``kind`` for version ``id``, while it runs or when it failed. */
function jobOf(jobs: JobPublic[], id: number, kind: "optimize" | "profile"): JobPublic | null {
  const mine = jobs.filter((j) => j.kind === kind && j.model_version_id === id).sort((a, b) => b.id - a.id);
  const newest = mine[0];
  return newest && (isActive(newest) || newest.status === "failed") ? newest : null;
}

function JobLine({ job, unit }: { job: JobPublic; unit: string }) {
  const text =
    job.status === "queued"
      ? "Queued"
      : job.status === "running"
        ? job.total
          ? `Running: ${job.done.toLocaleString()} of ${job.total.toLocaleString()} ${unit}`
          : "Starting…"
        : job.error === "cancelled"
          ? "Cancelled"
          : `Failed: ${job.error ?? "unknown reason"}`;
  return (
    <div className={`job job-${job.status} small`} data-testid={`${job.kind}-job`} data-status={job.status}>
      <span>{text}</span>
    </div>
  );
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const mib = (bytes: number) => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);
const signed = (v: number, digits = 1) => `${v < 0 ? "−" : v > 0 ? "+" : "±"}${Math.abs(v).toFixed(digits)}`;

/** "2.7× faster" / "1.8× slower" for a throughput ratio (child over parent). */
export function speedWords(ratio: number): string {
  if (ratio >= 1) return `${ratio.toFixed(1)}× faster`;
  return `${(1 / ratio).toFixed(1)}× slower`;
}

function profileTitle(p: Profile): string {
  const rows = p.batches.map((b: Timing) => `batch ${b.batch}: p50 ${ms(b.p50_ms)} ms, p95 ${ms(b.p95_ms)} ms, ${Math.round(b.throughput).toLocaleString()} samples/s`);
  return [
    ...rows,
    `one forward pass on a random batch, ${p.runs} runs after ${p.warmup} warm-up, ${p.cores} cores`,
    `peak memory: ${p.memory_method}`,
  ].join("\n");
}

/** The "Speed" cell: the version's profile on the CPU (else its first), a Profile button, and for a
 * child its speed-up and accuracy difference against its parent. */
export function SpeedCell({ version: v, parent, jobs }: { version: ModelVersionPublic; parent?: ModelVersionPublic; jobs: JobPublic[] }) {
  const queryClient = useQueryClient();
  const profiles = v.profiles ?? [];
  const profile = profiles.find((p) => p.device === "cpu") ?? profiles[0];
  const job = jobOf(jobs, v.id, "profile");
  const start = useMutation({
    mutationFn: () =>
      unwrap(client.POST("/api/models/versions/{version_id}/profile", { params: { path: { version_id: v.id } }, body: { batches: [1, 8, 32], runs: 30, device: "cpu" } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: modelKeys.jobs() }),
  });
  const canProfile = v.runnable && v.backend !== null && v.backend !== undefined && PROFILABLE.has(v.backend) && v.media === "image";
  if (!canProfile && !profile) return <span className="muted small">—</span>;
  const first = profile?.batches[0];
  const last = profile?.batches[profile.batches.length - 1];
  return (
    <div className="speed-cell">
      {profile && first && last ? (
        <div className="small" data-testid="profile" title={profileTitle(profile)}>
          <div>
            p50 <span className="strong">{ms(first.p50_ms)} ms</span> · p95 {ms(first.p95_ms)} ms <span className="muted">(batch {first.batch})</span>
          </div>
          <div>
            <span className="strong">{Math.round(last.throughput).toLocaleString()}</span> samples/s <span className="muted">(batch {last.batch})</span>
          </div>
          <div className="muted">
            {mib(profile.size_bytes)} on disk · +{mib(profile.peak_memory_bytes)} peak memory · {profile.device}
          </div>
        </div>
      ) : (
        <span className="muted small">Not profiled</span>
      )}
      {parent && <AgainstParent version={v} parent={parent} />}
      {canProfile && (
        <button className="btn btn-ghost btn-sm" disabled={(job !== null && isActive(job)) || start.isPending} onClick={() => start.mutate()} data-testid="profile-button">
          {profile ? "Profile again" : "Profile"}
        </button>
      )}
      {start.error && <div className="job-error small">{start.error.message}</div>}
      {job && <JobLine job={job} unit="timed calls" />}
    </div>
  );
}

function AgainstParent({ version: v, parent }: { version: ModelVersionPublic; parent: ModelVersionPublic }) {
  const stamp = JSON.stringify([v.profiles, parent.profiles, (v.evaluations ?? []).map((e) => e.id), (parent.evaluations ?? []).map((e) => e.id)]);
  const side = useQuery({
    queryKey: [...modelKeys.models(), "against-parent", v.id, stamp],
    queryFn: ({ signal }) => unwrap(client.GET("/api/models/versions/{version_id}/against-parent", { params: { path: { version_id: v.id } }, signal })),
    enabled: (v.profiles ?? []).length > 0 || (v.evaluations ?? []).length > 0,
  });
  const s = side.data;
  if (!s || (s.speedup === null && s.accuracy_delta === null)) return null;
  const parts: string[] = [];
  if (s.speedup !== null) parts.push(speedWords(s.speedup));
  if (s.accuracy_delta !== null) {
    let acc = `accuracy ${signed(s.accuracy_delta)} points`;
    if (s.accuracy_low !== null && s.accuracy_high !== null) acc += `, ${Math.round(s.level * 100)}% CI [${signed(s.accuracy_low)}, ${signed(s.accuracy_high)}]`;
    parts.push(acc);
  }
  const title = [
    s.speedup !== null ? `throughput at batch ${s.batch} on ${s.device}, against ${versionText(s.parent_version)}` : "no profile of both on this device",
    s.accuracy_delta !== null ? `paired comparison on ${s.dataset} (this version minus its parent)` : "no evaluation of both on one dataset version",
  ].join("\n");
  return (
    <div className="small against-parent" data-testid="against-parent" title={title}>
      <span className="strong">{versionText(v.version).toUpperCase()}</span>: {parts.join(", ")}
    </div>
  );
}

/** "Optimize to INT8…": a calibration dataset (image versions) and a sample count, then a job. */
export function OptimizeControls({ version: v, datasets, jobs }: { version: ModelVersionPublic; datasets: DatasetVersionPublic[]; jobs: JobPublic[] }) {
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const images = datasets.filter((d) => d.media === "image");
  const [picked, setPicked] = useState<number | null>(null);
  const [samples, setSamples] = useState(300);
  // a detector's output joins boxes (pixels) and scores (0 to 1): quantized together, the scores
  // lose their precision, so its head stays in float unless the person says otherwise
  const [head, setHead] = useState(v.task === "detection");
  const job = jobOf(jobs, v.id, "optimize");
  const chosen = picked !== null && images.some((d) => d.id === picked) ? picked : (images[0]?.id ?? null);
  const start = useMutation({
    mutationFn: (datasetVersionId: number) =>
      unwrap(client.POST("/api/models/versions/{version_id}/optimize", { params: { path: { version_id: v.id } }, body: { dataset_version_id: datasetVersionId, samples, exclude_head: head } })),
    onSuccess: () => {
      setOpen(false);
      void queryClient.invalidateQueries({ queryKey: modelKeys.jobs() });
    },
  });
  if (!v.runnable || !v.backend || !QUANTIZABLE.has(v.backend) || v.media !== "image" || /int8/i.test(v.version)) return null;
  const busy = job !== null && isActive(job);
  return (
    <div className="optimize">
      {!open ? (
        <button className="btn btn-ghost btn-sm" onClick={() => setOpen(true)} disabled={busy} data-testid="optimize-button" title="Post-training static quantization, calibrated on a dataset's images">
          Optimize to INT8…
        </button>
      ) : (
        <div className="optimize-form" data-testid="optimize-form">
          {images.length === 0 ? (
            <span className="muted small">No image dataset to calibrate on: add one first.</span>
          ) : (
            <>
              <label className="small">
                Calibrate on{" "}
                <select aria-label="Calibration dataset" value={chosen ?? undefined} onChange={(e) => setPicked(Number(e.target.value))} data-testid="calibration-picker">
                  {images.map((d) => (
                    <option key={d.id} value={d.id}>
                      {d.dataset_name} {versionText(d.version)} · {d.n_samples.toLocaleString()} samples
                    </option>
                  ))}
                </select>
              </label>
              <label className="small">
                {" "}
                images{" "}
                <input
                  type="number"
                  min={1}
                  max={10000}
                  value={samples}
                  onChange={(e) => setSamples(Math.max(1, Math.min(10000, Number(e.target.value) || 1)))}
                  aria-label="Calibration images"
                  data-testid="calibration-samples"
                />
              </label>
              <label className="small check" title="Keep the nodes after the last Conv / Gemm / MatMul in float (a detector whose output joins boxes and scores needs it)">
                <input type="checkbox" checked={head} onChange={(e) => setHead(e.target.checked)} data-testid="optimize-exclude-head" /> head in float
              </label>
              <button className="btn btn-sm" disabled={chosen === null || start.isPending} onClick={() => chosen !== null && start.mutate(chosen)} data-testid="optimize-start">
                Quantize
              </button>
            </>
          )}
          <button className="btn btn-ghost btn-sm" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </div>
      )}
      {start.error && <div className="job-error small">{start.error.message}</div>}
      {job && <JobLine job={job} unit="calibration images" />}
    </div>
  );
}
