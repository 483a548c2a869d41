import { describe, expect, it } from "vitest";
import { pointAtConfidence, pointAtCoverage, pointAtThreshold, pointXY } from "./curves";
import { labelPosition, textWidth } from "./boxes";

describe("operating point on a curve", () => {
  // A ROC curve as scikit-learn returns it: thresholds decreasing, the first one above every score.
  const roc = { thresholds: [null, 0.9, 0.7, 0.5, 0.2], fpr: [0, 0, 0.1, 0.3, 1], tpr: [0, 0.4, 0.7, 0.9, 1] };

  it("picks the point of the smallest threshold still at or above t", () => {
    expect(pointAtThreshold(roc.thresholds, 0.7)).toBe(2);
    expect(pointAtThreshold(roc.thresholds, 0.6)).toBe(2);
    expect(pointAtThreshold(roc.thresholds, 0.5)).toBe(3);
    expect(pointAtThreshold(roc.thresholds, 0)).toBe(4);
    expect(pointXY(roc.fpr, roc.tpr, pointAtThreshold(roc.thresholds, 0.6))).toEqual([0.1, 0.7]);
  });

  it("lands on the highest threshold when t is above every score", () => {
    expect(pointAtThreshold(roc.thresholds, 0.95)).toBe(1);
    expect(pointAtThreshold(roc.thresholds, 0.95, true)).toBeNull();
  });

  it("works with increasing thresholds shorter than the curve (precision-recall)", () => {
    const pr = { thresholds: [0.2, 0.5, 0.7, 0.9], precision: [0.5, 0.6, 0.8, 1, 1], recall: [1, 0.9, 0.7, 0.4, 0] };
    const i = pointAtThreshold(pr.thresholds, 0.6);
    expect(i).toBe(2);
    expect(pointXY(pr.recall, pr.precision, i)).toEqual([0.7, 0.8]);
  });

  it("finds the detection PR point at a confidence", () => {
    const scores = [0.95, 0.9, 0.8, 0.6, 0.4, 0, 0];
    const precision = [1, 1, 0.9, 0.8, 0.7, 0, 0];
    expect(pointAtConfidence(scores, precision, 0.5)).toBe(3);
    expect(pointAtConfidence(scores, precision, 0)).toBe(4);
    expect(pointAtConfidence(scores, precision, 0.99)).toBeNull();
  });
});

describe("box labels", () => {
  it("stay inside the image at the right edge", () => {
    const text = "square 0.51";
    const font = 12;
    const p = labelPosition([150, 40, 10, 10], text, font, 160, 120);
    expect(p.x + textWidth(text, font)).toBeLessThanOrEqual(160);
    expect(p.x).toBeGreaterThanOrEqual(0);
  });

  it("go inside the box when there is no room above it", () => {
    const p = labelPosition([10, 2, 50, 50], "circle 0.90", 12, 160, 120);
    expect(p.y).toBeGreaterThan(2);
    expect(p.y - 12).toBeGreaterThanOrEqual(-1);
    const q = labelPosition([10, 60, 50, 50], "circle 0.90", 12, 160, 120);
    expect(q.y).toBeLessThan(60);
  });
});

describe("pointAtCoverage", () => {
  it("finds the smallest curve threshold the slider's threshold keeps", () => {
    const thresholds = [0.9, 0.8, 0.3];
    expect(pointAtCoverage(thresholds, 0)).toBe(2);
    expect(pointAtCoverage(thresholds, 0.5)).toBe(1);
    expect(pointAtCoverage(thresholds, 0.8)).toBe(1);
    expect(pointAtCoverage(thresholds, 0.95)).toBe(null);
  });
});
