// The data-quality answers (src/assay/server/quality_schemas.py), short names for the generated
// components; the calls are api.quality* in client.ts.
import type { components } from "../../api/schema";

type Schemas = components["schemas"];

export type QualityReady = Schemas["QualityReady"];
export type QualityRunning = Schemas["QualityRunning"];
export type QualityFailed = Schemas["QualityFailed"];
export type QualityAnswer = QualityReady | QualityRunning | QualityFailed;
export type QualityProperty = Schemas["QualityProperty"];
export type QualityImportance = Schemas["QualityImportance"];
export type DuplicateGroup = Schemas["DuplicateGroup"];
export type LeakageRow = Schemas["LeakageRow"];
export type LabelIssue = Schemas["LabelIssue"];
export type PropertyBins = Schemas["PropertyBins"];
export type PropertyBin = Schemas["PropertyBin"];
export type Rate = Schemas["Rate"];
export type ExplorePage = Schemas["ExplorePage"];
export type ExploreItem = Schemas["ExploreItem"];
export type SampleRef = Schemas["SampleRef"];
