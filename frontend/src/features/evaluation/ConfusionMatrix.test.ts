import { describe, expect, it } from "vitest";
import { cellText, moveCell } from "./ConfusionMatrix";

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

describe("keyboard moves between cells", () => {
  it("follows the arrows and stops at the edges", () => {
    expect(moveCell([0, 0], "ArrowRight", 3, 4)).toEqual([0, 1]);
    expect(moveCell([0, 0], "ArrowDown", 3, 4)).toEqual([1, 0]);
    expect(moveCell([0, 0], "ArrowUp", 3, 4)).toEqual([0, 0]);
    expect(moveCell([0, 0], "ArrowLeft", 3, 4)).toEqual([0, 0]);
    expect(moveCell([2, 3], "ArrowDown", 3, 4)).toEqual([2, 3]);
    expect(moveCell([2, 3], "ArrowRight", 3, 4)).toEqual([2, 3]);
  });

  it("jumps with Home, End and the page keys", () => {
    expect(moveCell([1, 2], "Home", 3, 4)).toEqual([1, 0]);
    expect(moveCell([1, 2], "End", 3, 4)).toEqual([1, 3]);
    expect(moveCell([1, 2], "Home", 3, 4, true)).toEqual([0, 0]);
    expect(moveCell([1, 2], "End", 3, 4, true)).toEqual([2, 3]);
    expect(moveCell([1, 2], "PageDown", 12, 4)).toEqual([6, 2]);
    expect(moveCell([1, 2], "PageUp", 12, 4)).toEqual([0, 2]);
  });

  it("leaves other keys alone", () => {
    expect(moveCell([1, 1], "Tab", 3, 3)).toBeNull();
    expect(moveCell([1, 1], "Enter", 3, 3)).toBeNull();
  });
});
