import { describe, expect, it } from "vitest";
import { axisPosition, niceAxis, niceStep } from "./axis";

describe("axis", () => {
  it("picks round steps", () => {
    expect(niceStep(0.013)).toBeCloseTo(0.02);
    expect(niceStep(0.1)).toBeCloseTo(0.1);
    expect(niceStep(0.23)).toBeCloseTo(0.25);
    expect(niceStep(0.4)).toBeCloseTo(0.5);
    expect(niceStep(7)).toBe(10);
  });

  it("widens the data's range to whole steps, ticks at both ends", () => {
    const a = niceAxis(0.812, 0.874);
    expect(a.ticks).toEqual([0.8, 0.82, 0.84, 0.86, 0.88]);
    expect(a.lo).toBe(0.8);
    expect(a.hi).toBe(0.88);
    expect(a.digits).toBe(2);
    expect(a.lo).toBeLessThanOrEqual(0.812);
    expect(a.hi).toBeGreaterThanOrEqual(0.874);
  });

  it("gives a quarter step its third decimal", () => {
    const a = niceAxis(0.1, 0.95);
    expect(a.ticks).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(a.digits).toBe(2);
  });

  it("survives one value and no finite values", () => {
    const one = niceAxis(0.5, 0.5);
    expect(one.lo).toBeLessThan(0.5);
    expect(one.hi).toBeGreaterThan(0.5);
    expect(one.ticks.length).toBeGreaterThan(1);
    expect(niceAxis(NaN, 1).ticks).toEqual([0, 0.5, 1]);
  });

  it("places values along it, clamped", () => {
    const a = niceAxis(0, 1);
    expect(axisPosition(a, 0.25)).toBeCloseTo(0.25);
    expect(axisPosition(a, 2)).toBe(1);
    expect(axisPosition(a, -1)).toBe(0);
  });
});
