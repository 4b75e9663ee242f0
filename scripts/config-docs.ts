// Writes docs/config.md from the stack config schema (infra/presets.ts).
import { writeFileSync } from "node:fs";
import { configReference } from "../infra/config-docs.ts";

writeFileSync(new URL("../docs/config.md", import.meta.url), configReference());
