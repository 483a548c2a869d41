import { describe, expect, it } from "vitest";
import { matchPage, parseHash, whatIfHref } from "../../routes";
import { boxesAbove, cardError, chunks, classColor, fmtBytes, modelLabel, precheck, predictedLabels, retryAfter, textLines, type PredictedBox } from "./whatif";

const box = (label: string, score: number): PredictedBox => ({ x: 1, y: 2, w: 3, h: 4, label, score });

describe("what-if", () => {
  it("has a route per model version", () => {
    expect(whatIfHref(7)).toBe("#/models/7/what-if");
    expect(matchPage(parseHash(whatIfHref(7)).path)).toEqual({ name: "what-if", versionId: 7 });
    expect(matchPage("/models/7/what-if/")).toEqual({ name: "what-if", versionId: 7 });
    expect(matchPage("/models/x/what-if")).toEqual({ name: "not-found" });
  });

  it("draws only the boxes at or above the threshold, highest first, keeping their index", () => {
    const boxes = [box("a", 0.4), box("b", 0.9), box("c", 0.6), box("d", 0.6)];
    expect(boxesAbove(boxes, 0.5).map((b) => [b.box.label, b.index])).toEqual([
      ["b", 1],
      ["c", 2],
      ["d", 3],
    ]);
    expect(boxesAbove(boxes, 0.6).length).toBe(3); // at the threshold counts
    expect(boxesAbove(boxes, 0.95)).toEqual([]);
    expect(boxesAbove(null, 0)).toEqual([]);
  });

  it("predicts the top class when it reaches the threshold, every class above it for multi-label", () => {
    const classes = [
      { label: "cat", score: 0.55 },
      { label: "dog", score: 0.3 },
      { label: "bird", score: 0.15 },
    ];
    expect(predictedLabels(classes, "classification", 0.5)).toEqual(["cat"]);
    expect(predictedLabels(classes, "classification", 0.55)).toEqual(["cat"]);
    expect(predictedLabels(classes, "classification", 0.6)).toEqual([]);
    expect(predictedLabels(classes, "multilabel", 0.2)).toEqual(["cat", "dog"]);
    expect(predictedLabels([], "classification", 0)).toEqual([]);
    // a tie goes to the first class, as the server's order (and argmax) has it
    expect(predictedLabels([{ label: "x", score: 0.5 }, { label: "y", score: 0.5 }], "classification", 0)).toEqual(["x"]);
  });

  it("refuses empty and oversized files before uploading them", () => {
    const limits = { file_bytes: 10 << 20 };
    expect(precheck({ size: 0 }, limits)).toBe("empty file");
    expect(precheck({ size: 10 << 20 }, limits)).toBeNull();
    expect(precheck({ size: (10 << 20) + 1 }, limits)).toBe("larger than 10 MB (10 MB)");
    expect(precheck({ size: 25 << 20 }, limits)).toBe("larger than 10 MB (25 MB)");
    expect(fmtBytes(512)).toBe("512 bytes");
    expect(fmtBytes(1536)).toBe("1.5 KB");
  });

  it("reads pasted text as one text per non-blank line", () => {
    expect(textLines("a\r\n\n  b  \r c\n   \n")).toEqual(["a", "b", "c"]);
    expect(textLines("   ")).toEqual([]);
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 3)).toEqual([]);
  });

  it("shows a request's error on its card without repeating the file's name", () => {
    expect(cardError("nothing to predict: notes.png: not a PNG, JPEG, WebP, GIF, BMP or TIFF image", "notes.png")).toBe(
      "Not a PNG, JPEG, WebP, GIF, BMP or TIFF image",
    );
    expect(cardError("request body larger than 41943040 bytes", "big.png")).toBe("Request body larger than 41943040 bytes");
  });

  it("waits as Retry-After says, within bounds", () => {
    expect(retryAfter("3")).toBe(3);
    expect(retryAfter(null)).toBe(2);
    expect(retryAfter("soon")).toBe(2);
    expect(retryAfter("600")).toBe(30);
  });

  it("gives each class its own colour", () => {
    const classes = ["a", "b", "c"];
    expect(classColor("a", classes)).not.toBe(classColor("b", classes));
    expect(classColor("zzz", classes)).toBe(classColor("zzz", []));
  });

  it("names a model version", () => {
    expect(modelLabel({ name: "pets", version: "2" })).toBe("pets v2");
    expect(modelLabel({ name: "pets", version: "v3" })).toBe("pets v3");
    expect(modelLabel({ name: "pets", version: "fp32" })).toBe("pets fp32");
  });
});
