// Lints every TypeScript package with type information (typescript-eslint's project service reads
// each file's nearest tsconfig). Formatting is Prettier's job, so no stylistic rules here.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "**/node_modules/",
      "**/dist/",
      "**/out/",
      "**/cache/",
      "**/test-results/",
      "packages/contracts/generated/",
      "packages/contracts/lib/",
      "packages/cli/web/",
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          // Config files that no tsconfig includes still get type information from a default project.
          allowDefaultProject: [
            "eslint.config.js",
            "packages/*/vitest.config.ts",
            "packages/app/vite.config.ts",
            "packages/cli/bin/*.mjs",
            "packages/cli/scripts/*.mjs",
          ],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // What a streaming server needs most: every promise awaited, handled or voided on purpose.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // Unused code, imports included; a leading underscore marks a parameter kept for its position.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true }],
      // Off: Prettier decides line breaks, and its chained calls start lines with `[` (eslint-config-prettier turns it off too).
      "no-unexpected-multiline": "off",
      // Off: an async function without await is how an implementation meets a Promise-returning interface (and turns throws into rejections).
      "@typescript-eslint/require-await": "off",
      // Off: messages print bigints, addresses and decoded ABI arguments (typed unknown) on purpose.
      "@typescript-eslint/restrict-template-expressions": "off",
      // Off: services are factory closures (`createX()` returns functions that never use `this`), so passing `session.receipt` is safe.
      "@typescript-eslint/unbound-method": "off",
      // String(unknown) in an error message shows whatever arrived; only known object types are reported.
      "@typescript-eslint/no-base-to-string": ["error", { checkUnknown: false }],
      // An AbortSignal's reason is rejected as it is, so callers see the abort they asked for.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true, allowThrowingAny: true }],
    },
  },
  {
    files: ["**/*.test.ts", "**/*.test.tsx", "**/test/**", "**/testTs/**", "**/testUtils/**", "**/bench/**"],
    rules: {
      // Off in tests: they read JSON bodies (typed any) and poke at them; a wrong shape fails the assertion anyway.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-explicit-any": "off",
      // Off in tests: fetch doubles match the SDK's string URLs and the chat doubles' string contents.
      "@typescript-eslint/no-base-to-string": "off",
    },
  },
  {
    files: ["packages/app/src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    // The two classic hook rules; the React Compiler rules of the plugin's recommended set are not used (the app does not use the compiler).
    rules: { "react-hooks/rules-of-hooks": "error", "react-hooks/exhaustive-deps": "error" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The Node globals the plain-JS bins and build scripts use.
    files: ["**/*.mjs"],
    languageOptions: { globals: { URL: "readonly", console: "readonly", process: "readonly" } },
  },
);
