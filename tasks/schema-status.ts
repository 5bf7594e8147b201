export { schemaStatusAction as default } from "./schema-migrate.js";
