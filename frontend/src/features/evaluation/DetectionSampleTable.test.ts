import { describe, expect, it } from "vitest";
import type { Box } from "../../api/client";
import { worstError } from "./DetectionSampleTable";

const box = (kind: "gt" | "pred", label: string, status: Box["status"], score: number | null = null, match: number | null = null, size = 10): Box => ({
  kind,
  label,
  status,
  score,
  match,
  iou: null,
  bbox: [0, 0, size, size],
});

describe("an image's worst error", () => {
  it("is its most confident wrong prediction", () => {
    const boxes = [box("gt", "cat", "misclassified", null, 2), box("gt", "dog", "fn", null, null, 40), box("pred", "dog", "misclassified", 0.91, 0), box("pred", "bird", "fp", 0.5), box("pred", "cat", "tp", 0.99)];
    expect(worstError(boxes)).toBe("cat detected as dog (0.91)");
    boxes[3] = box("pred", "bird", "fp", 0.95);
    expect(worstError(boxes)).toBe("false bird (0.95)");
  });

  it("else its largest missed object, else none", () => {
    expect(worstError([box("gt", "cat", "fn", null, null, 5), box("gt", "dog", "fn", null, null, 40)])).toBe("missed dog");
    expect(worstError([box("gt", "cat", "tp"), box("pred", "cat", "tp", 0.9)])).toBeNull();
  });
});
