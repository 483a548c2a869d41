import { describe, expect, it } from "vitest";
import type { JobPublic } from "../../api/client";
import { currentJob, etaText, jobText, rate } from "./jobs";

const job = (p: Partial<JobPublic>): JobPublic => ({
  id: 1,
  kind: "model",
  status: "running",
  evaluation_id: null,
  error: null,
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:01.000Z",
  started_at: null,
  model_version_id: 7,
  dataset_version_id: 3,
  done: 0,
  total: null,
  position: null,
  ...p,
});

describe("jobs", () => {
  it("shows the newest job of a version while it runs, a failure only when newer than its evaluations", () => {
    const jobs = [job({ id: 1, status: "done" }), job({ id: 2, status: "running" }), job({ id: 3, model_version_id: 8 })];
    expect(currentJob(jobs, 7, null)?.id).toBe(2);
    expect(currentJob([job({ id: 4, status: "done" })], 7, null)).toBeNull();
    const failed = job({ id: 5, status: "failed", updated_at: "2026-01-02T00:00:00.000Z" });
    expect(currentJob([failed], 7, "2026-01-01T00:00:00.000Z")?.id).toBe(5);
    expect(currentJob([failed], 7, "2026-01-03T00:00:00.000Z")).toBeNull();
  });
  it("measures speed between polls and the time left", () => {
    expect(rate(undefined, { done: 10, at: 1000 })).toBeNull();
    expect(rate({ done: 10, at: 1000 }, { done: 10, at: 2000 })).toBeNull();
    expect(rate({ done: 10, at: 1000 }, { done: 110, at: 3000 })).toBe(50);
    expect(etaText(100, 50)).toBe("2 s");
    expect(etaText(6000, 50)).toBe("2 min 0 s");
    expect(etaText(100, null)).toBeNull();
  });
  it("says where a job stands", () => {
    expect(jobText(job({ status: "queued", position: 2 }))).toBe("Queued (2nd in line)");
    expect(jobText(job({ done: 40, total: 1200 }))).toBe("Running: 40 of 1,200 samples");
    expect(jobText(job({ status: "failed", error: "cancelled" }))).toBe("Cancelled");
    expect(jobText(job({ status: "failed", error: "the ground truth changed" }))).toBe("Failed: the ground truth changed");
  });
});
