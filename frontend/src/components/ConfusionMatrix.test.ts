import { describe, expect, it } from "vitest";
import { cellText } from "./ConfusionMatrix";

describe("confusion cells", () => {
  it("show counts, row shares and mean scores", () => {
    expect(cellText(3, 3, null, false)).toBe("3");
    expect(cellText(12_345, 12_345, null, false)).toBe("12.3k");
    expect(cellText(0.004, 1, "true", false)).toBe("<1%");
    expect(cellText(0, 0, "true", false)).toBe("0");
    expect(cellText(0.25, 15, "true", false)).toBe("25%");
    expect(cellText(0.734, 4, "probability", false)).toBe("0.73");
    expect(cellText(null, 0, "probability", false)).toBe("");
  });

  it("leave empty cells blank when the matrix is compact", () => {
    expect(cellText(0, 0, null, true)).toBe("");
    expect(cellText(0, 0, "true", true)).toBe("");
  });
});
