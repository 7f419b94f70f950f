/** @type {import('jest').Config} */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: [
        "<rootDir>/spec/**/*.test.ts",
        "<rootDir>/cli/**/*.test.ts",
        "<rootDir>/tests/unit/**/*.test.ts",
      ],
    },
    { ...common, displayName: "mocks", testMatch: ["<rootDir>/tests/mocks/**/*.test.ts"] },
    { ...common, displayName: "e2e", testMatch: ["<rootDir>/tests/e2e/**/*.test.ts"] },
  ],
};
