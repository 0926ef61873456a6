// Type-aware lint: floating promises and misused promises are bugs in a
// system of actors and streams; import cycles are checked by madge (npm run lint).
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "src/gen/**", "node_modules/**", "examples/**", "bench/**", "bin/**", "**/*.mjs", "eslint.config.js"] },
  {
    files: ["**/*.ts"],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error"],
    },
  },
  { files: ["src/cli/**/*.ts", "test/**/*.ts"], rules: { "no-console": "off" } },
  // Product code handles every promise: `void p` would drop its failure unseen.
  { files: ["src/**/*.ts"], rules: { "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: false }] } },
  {
    // Every schema speaks Orrery's words (src/common/zod.ts installs them), never zod's generic texts.
    files: ["src/**/*.ts"],
    ignores: ["src/common/zod.ts", "src/coordinator/workload/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: [{ name: "zod", message: "import { z } from src/common/zod.js: it words every issue a schema does not word itself." }] }],
    },
  },
  {
    // The workload owns the QuantaStore port; store/ implements it. One direction only.
    files: ["src/coordinator/workload/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ group: ["../store", "../store/*", "**/coordinator/store", "**/coordinator/store/*"], message: "workload/ depends on the QuantaStore port (./quanta-store.js), never on store/." }] }],
    },
  },
);
