// Writes docs/openapi.json from the API's zod schemas (src/api/contract), formatted as the
// repository's formatter (biome) formats JSON, so `npm run lint` passes on it.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { openApiDocument } from "../src/api/contract/openapi.ts";

const target = "docs/openapi.json";
const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
const formatted = spawnSync(process.execPath, [biome, "format", `--stdin-file-path=${target}`], {
  cwd: new URL("..", import.meta.url),
  input: `${JSON.stringify(openApiDocument(), null, 2)}\n`,
  encoding: "utf8",
});
if (formatted.status !== 0) {
  process.stderr.write(formatted.stderr);
  process.exit(1);
}
writeFileSync(new URL(`../${target}`, import.meta.url), formatted.stdout);
