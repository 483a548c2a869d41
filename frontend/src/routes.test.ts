import { describe, expect, it } from "vitest";
import { evaluationHref, historyMode, labelHref, matchPage, parseHash, parseView, patchView, serializeView, type ViewState } from "./routes";

describe("routes", () => {
  it("splits a hash into a path and its query", () => {
    const r = parseHash("#/evaluations/3?t=0.7&sample=12");
    expect(r.path).toBe("/evaluations/3");
    expect(r.params.get("t")).toBe("0.7");
    expect(parseHash("").path).toBe("/");
    expect(parseHash("#/").path).toBe("/");
  });

  it("matches the pages", () => {
    expect(matchPage("/")).toEqual({ name: "list" });
    expect(matchPage("/evaluations")).toEqual({ name: "list" });
    expect(matchPage("/evaluations/42")).toEqual({ name: "evaluation", id: 42 });
    expect(matchPage("/evaluations/x")).toEqual({ name: "not-found" });
  });

  it("matches a label page, any label name round-tripping through its link", () => {
    for (const label of ["cat", "a/b?c=d", "100% sure", "ünïcode label"]) {
      const r = parseHash(labelHref(7, label, { threshold: 0.4 }));
      expect(matchPage(r.path)).toEqual({ name: "label", id: 7, label });
      expect(r.params.get("t")).toBe("0.4");
    }
    expect(matchPage("/evaluations/7/labels/%E0%A4%A")).toEqual({ name: "not-found" });
    expect(matchPage("/evaluations/7/labels/")).toEqual({ name: "not-found" });
  });

  it("round-trips every field of the view state", () => {
    const v: ViewState = {
      threshold: 0.7,
      iou: 0.55,
      score: 0.3,
      actual: "cat & dog",
      predicted: "Below threshold",
      label: "a/b?c=d",
      outcome: "fp",
      errors: true,
      sort: "confusion",
      desc: false,
      sample: 12,
      table: true,
    };
    const qs = serializeView(v);
    expect(parseView(new URLSearchParams(qs))).toEqual(v);
    expect(parseHash(evaluationHref(3, v)).path).toBe("/evaluations/3");
    expect(parseView(parseHash(evaluationHref(3, v)).params)).toEqual(v);
  });

  it("writes nothing for an empty view and rounds slider noise", () => {
    expect(serializeView({})).toBe("");
    expect(evaluationHref(3)).toBe("#/evaluations/3");
    expect(serializeView({ threshold: 0.1 + 0.2 })).toBe("t=0.3");
  });

  it("drops values that do not parse", () => {
    const v = parseView(new URLSearchParams("t=2&iou=abc&conf=-1&outcome=maybe&sort=random&sample=-3&errors=yes&dir=up"));
    expect(v).toEqual({});
    expect(parseView(new URLSearchParams("t=0&sample=0"))).toEqual({ threshold: 0, sample: 0 });
  });

  it("patches a view, removing fields set to undefined", () => {
    expect(patchView({ actual: "a", predicted: "b", threshold: 0.5 }, { actual: undefined, outcome: "tp" })).toEqual({ predicted: "b", threshold: 0.5, outcome: "tp" });
  });

  it("pushes discrete changes and replaces while a slider drags", () => {
    expect(historyMode({ key: null, at: 0 }, undefined, 1000)).toBe("push");
    expect(historyMode({ key: null, at: 0 }, "threshold", 1000)).toBe("push");
    expect(historyMode({ key: "threshold", at: 1000 }, "threshold", 1200)).toBe("replace");
    expect(historyMode({ key: "threshold", at: 1000 }, "threshold", 2500)).toBe("push");
    expect(historyMode({ key: "iou", at: 1000 }, "threshold", 1100)).toBe("push");
    expect(historyMode({ key: "threshold", at: 1000 }, undefined, 1100)).toBe("push");
  });
});
