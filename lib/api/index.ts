export * from "./codegen.js";
export * from "./files.js";
export * from "./mapping.js";
export * from "./migrate.js";
export { formatPath, leaves, type JsonPath } from "./jsonPath.js";
