import { describe, expect, it } from "vitest";
import { leakageChoices, modelChoices, whyNot, type VersionLike } from "./datasets";

const v = (id: number, task: string, media: VersionLike["media"], name = `d${id}`): VersionLike => ({
  id,
  task,
  media,
  dataset_name: name,
  version: "1",
  n_samples: 10 * id,
});

const versions = [
  v(1, "classification", "image", "pets"),
  v(2, "classification", "text", "trec"),
  v(3, "classification", "image", "pets-new"),
  v(4, "multilabel", "image", "tags"),
  v(5, "detection", "image", "shapes"),
  v(6, "classification", "table", "scores"),
  v(7, "classification", null, "unknown"),
];

describe("which datasets a model can take", () => {
  it("wants the same task and media, and says why not", () => {
    const image = { task: "classification", media: "image" as const };
    expect(whyNot(image, versions[0])).toBeNull();
    expect(whyNot(image, versions[1])).toBe("it holds texts; the model reads images");
    expect(whyNot(image, versions[3])).toBe("it is a multi-label classification dataset; the model does single-label classification");
    expect(whyNot(image, versions[6])).toBeNull(); // not known: agrees
    expect(whyNot({ task: "classification", media: null }, versions[1])).toBeNull();
    // no labels: any task that reads its media (a detector on a folder of images)
    const bare = { task: "classification", media: "image" as const, unlabeled: true };
    expect(whyNot({ task: "detection", media: "image" }, bare)).toBeNull();
    expect(whyNot({ task: "detection", media: "text" }, bare)).toBe("it holds images; the model reads texts");
  });

  it("offers the versions of its kind and pre-selects one it has not run on", () => {
    const image = { task: "classification", media: "image" as const };
    const { choices, preselected } = modelChoices(image, versions, [1]);
    expect(choices.map((c) => c.id)).toEqual([1, 3, 7]);
    expect(choices[0].done).toBe(true);
    expect(choices[0].label).toBe("pets v1 · 10 samples · has results");
    expect(preselected).toBe(3);
    expect(modelChoices(image, versions, [1, 3, 7]).preselected).toBe(1); // all run: the first
    expect(modelChoices({ task: "classification", media: "text" }, versions, []).choices.map((c) => c.id)).toEqual([2, 7]);
    expect(modelChoices({ task: "detection", media: "image" }, versions, []).preselected).toBe(5);
    expect(modelChoices({ task: "multilabel", media: "text" }, versions, []).preselected).toBeNull();
  });
});

describe("which training sets leakage can look in", () => {
  it("offers the other versions of the same task and media", () => {
    expect(leakageChoices({ versionId: 1, task: "classification", media: "image" }, versions).map((x) => x.id)).toEqual([3, 7]);
    expect(leakageChoices({ versionId: 2, task: "classification", media: "text" }, versions).map((x) => x.id)).toEqual([7]);
    expect(leakageChoices({ versionId: 5, task: "detection", media: "image" }, versions).map((x) => x.id)).toEqual([]);
  });
});
