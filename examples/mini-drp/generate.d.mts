// Types of generate.mjs for TypeScript callers (the tests); the .mjs is the source.
export interface GenerateOptions {
  exposures?: number;
  detectors?: number;
  size?: number;
  seed?: number;
}
export interface ManifestEntry {
  path: string;
  scope: string;
  datasetType: "raw" | "bias";
  dataId: Record<string, string | number>;
  metadata: Record<string, string>;
  validFrom: string | null;
  validTo: string | null;
}
export declare const FIRST_EXPOSURE: number;
export declare const TRACT: number;
export declare function patchOf(detector: number): number;
export declare function prng(seed: number): { uniform(): number; gauss(): number };
export declare function generate(outDir: string, options?: GenerateOptions): ManifestEntry[];
