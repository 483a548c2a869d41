import { describe, expect, it } from "vitest";
import { categoryColour, extent, fitFrame, insideBox, insideLasso, inPolygon, nearestPoint, project } from "./geometry";

describe("the map's geometry", () => {
  it("fits points inside the canvas with one scale", () => {
    const xs = [0, 10, 5];
    const ys = [0, 5, 2];
    const f = fitFrame(xs, ys, 220, 120, 10);
    const [px, py] = project(xs, ys, f, 120);
    for (let i = 0; i < 3; i++) {
      expect(px[i]).toBeGreaterThanOrEqual(10 - 1e-6);
      expect(px[i]).toBeLessThanOrEqual(210 + 1e-6);
      expect(py[i]).toBeGreaterThanOrEqual(10 - 1e-6);
      expect(py[i]).toBeLessThanOrEqual(110 + 1e-6);
    }
    expect(f.scale).toBeCloseTo(20); // x spans 10 in 200 px; y 5 in 100 px
    expect(py[1]).toBeLessThan(py[0]); // larger y is higher on the screen
  });

  it("selects the points inside a lasso and a box", () => {
    const px = new Float32Array([1, 5, 9, 5]);
    const py = new Float32Array([1, 5, 9, 1]);
    const triangle: [number, number][] = [[0, 0], [10, 0], [0, 10]];
    expect(inPolygon(1, 1, triangle)).toBe(true);
    expect(inPolygon(9, 9, triangle)).toBe(false);
    expect(insideLasso(px, py, triangle)).toEqual([0, 3]);
    expect(insideLasso(px, py, [[0, 0], [1, 1]])).toEqual([]);
    expect(insideBox(px, py, [6, 6], [4, 0])).toEqual([1, 3]);
  });

  it("finds the nearest point within reach", () => {
    const px = new Float32Array([0, 10, 20]);
    const py = new Float32Array([0, 0, 0]);
    expect(nearestPoint(px, py, 11, 1)).toBe(1);
    expect(nearestPoint(px, py, 50, 50)).toBeNull();
  });

  it("colours and extents", () => {
    expect(categoryColour(-1)).toBe("#c4c9d2");
    expect(categoryColour(3)).not.toBe(categoryColour(4));
    expect(categoryColour(12)).toMatch(/^hsl/);
    expect(extent([null, 2, 5, NaN])).toEqual([2, 5]);
    expect(extent([3, 3])).toEqual([3, 4]);
  });
});
