/** @type {import('jest').Config} */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  // Examples import the package by name, as users' programs do.
  moduleNameMapper: { "^pod-routes$": "<rootDir>/pod-routes.ts" },
  // The engine tests' clones of the checkout (each with a package.json named pod-routes) and the demo's state.
  modulePathIgnorePatterns: ["<rootDir>/.tmp/", "<rootDir>/.lab/", "<rootDir>/.demo/", "<rootDir>/dist/"],
};

module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...common, displayName: "mocks", testMatch: ["<rootDir>/tests/mocks/**/*.test.ts"] },
    { ...common, displayName: "package", testMatch: ["<rootDir>/tests/package/**/*.test.ts"] },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"] },
    { ...common, displayName: "engine", testMatch: ["<rootDir>/tests/engine/**/*.test.ts"] },
  ],
};
