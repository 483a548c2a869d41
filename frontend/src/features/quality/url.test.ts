import { describe, expect, it } from "vitest";
import { parseHash } from "../../routes";
import { parseQualityView, patchQualityView, qualityHref, serializeQualityView, type QualityView } from "./url";

describe("the data-quality page's URL", () => {
  it("round-trips every field", () => {
    const v: QualityView = { train: 7, property: "a&b c", bins: 5, label: "cat/dog", rate: "precision", xlabel: "dog", outcome: "fn", order: "asc", offset: 48 };
    expect(parseQualityView(new URLSearchParams(serializeQualityView(v)))).toEqual(v);
  });

  it("keeps the explorer's 'All' apart from its default (incorrect)", () => {
    expect(serializeQualityView({ outcome: "" })).toBe("outcome=all");
    expect(parseQualityView(new URLSearchParams("outcome=all"))).toEqual({ outcome: "" });
    expect(parseQualityView(new URLSearchParams(""))).toEqual({});
  });

  it("drops values that do not parse", () => {
    const v = parseQualityView(new URLSearchParams("train=x&bins=7&rate=f1&outcome=maybe&order=up&offset=-3&property="));
    expect(v).toEqual({});
  });

  it("builds the page's address under its evaluation", () => {
    expect(qualityHref(3)).toBe("#/evaluations/3/quality");
    const href = qualityHref(3, { property: "contrast", bins: 20 });
    expect(href).toBe("#/evaluations/3/quality?property=contrast&bins=20");
    const r = parseHash(href);
    expect(r.path).toBe("/evaluations/3/quality");
    expect(parseQualityView(r.params)).toEqual({ property: "contrast", bins: 20 });
  });

  it("removes the fields a patch sets to undefined", () => {
    expect(patchQualityView({ property: "a", offset: 48 }, { property: "b", offset: undefined })).toEqual({ property: "b" });
  });
});
