import { describe, expect, it } from "vitest";
import { parseHash } from "../../routes";
import { compareExtras, compareHref, compareIds, comparePoint, leaderboardHref, leaderboardParams, parseMargin } from "./url";

describe("compare page URL", () => {
  it("keeps each side's threshold, the IoU and the confidences", () => {
    const href = compareHref(3, 7, { threshold_a: 0.3, threshold_b: 0.65 });
    expect(href).toBe("#/compare?a=3&b=7&ta=0.3&tb=0.65");
    expect(comparePoint(parseHash(href).params)).toEqual({ threshold_a: 0.3, threshold_b: 0.65 });
    const det = compareHref(1, 2, { iou: 0.75, score_a: 0.1 + 0.2, score_b: 0.5 });
    expect(det).toBe("#/compare?a=1&b=2&iou=0.75&ca=0.3&cb=0.5");
    expect(comparePoint(parseHash(det).params)).toEqual({ iou: 0.75, score_a: 0.3, score_b: 0.5 });
  });

  it("is the stored points when nothing is given, and drops values out of range", () => {
    expect(compareHref(1, 2)).toBe("#/compare?a=1&b=2");
    expect(comparePoint(parseHash("#/compare?a=1&b=2").params)).toEqual({});
    expect(comparePoint(parseHash("#/compare?a=1&b=2&ta=1.5&tb=x&iou=0.3&ca=-1&cb=").params)).toEqual({});
  });

  it("keeps the margin and the feed beside the point", () => {
    const href = compareHref(3, 7, { threshold_b: 0.9 }, { margin: 0.5, feed: "broken" });
    expect(href).toBe("#/compare?a=3&b=7&tb=0.9&margin=0.5&feed=broken");
    const r = parseHash(href);
    expect(compareIds(r.params)).toEqual({ a: 3, b: 7 });
    expect(comparePoint(r.params)).toEqual({ threshold_b: 0.9 });
    expect(compareExtras(r.params)).toEqual({ margin: 0.5, feed: "broken" });
    expect(compareExtras(new URLSearchParams("margin=101&feed=mine"))).toEqual({});
    expect(compareExtras(new URLSearchParams("margin=0"))).toEqual({ margin: 0 });
  });

  it("reads a margin from 0 to 100 only", () => {
    expect(parseMargin("")).toBeNull();
    expect(parseMargin("  ")).toBeNull();
    expect(parseMargin("0.5")).toBe(0.5);
    expect(parseMargin("-1")).toBeNull();
    expect(parseMargin("abc")).toBeNull();
    expect(parseMargin(null)).toBeNull();
  });

  it("needs two whole ids", () => {
    expect(compareIds(new URLSearchParams("a=1&b=x"))).toBeNull();
    expect(compareIds(new URLSearchParams("a=1.5&b=2"))).toBeNull();
  });
});

describe("leaderboard URL", () => {
  it("round-trips the dataset version and the metric", () => {
    expect(leaderboardParams(parseHash(leaderboardHref(4, "f1")).params)).toEqual({ dv: 4, metric: "f1" });
    expect(leaderboardParams(parseHash(leaderboardHref(4)).params)).toEqual({ dv: 4, metric: undefined });
    expect(leaderboardParams(new URLSearchParams("dv=0"))).toBeNull();
    expect(leaderboardParams(new URLSearchParams("dv=2&metric=a%20b"))?.metric).toBeUndefined();
  });
});
