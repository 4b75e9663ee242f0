import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { MAX_SUFFIX_LENGTH } from "./config.ts";
import { PRESET_NAMES, PRESETS, type PresetSettings } from "./presets.ts";

const PRESETS_SOURCE = fileURLToPath(new URL("./presets.ts", import.meta.url));

/** What the `PresetSettings` interface says of each key: its JSDoc, `@default` left out. */
export function settingDescriptions(
  source = readFileSync(PRESETS_SOURCE, "utf8"),
): Map<string, string> {
  const file = ts.createSourceFile("presets.ts", source, ts.ScriptTarget.ES2022, true);
  const descriptions = new Map<string, string>();
  file.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== "PresetSettings") return;
    for (const member of node.members) {
      if (!ts.isPropertySignature(member) || !ts.isIdentifier(member.name)) continue;
      const [doc] = ts.getJSDocCommentsAndTags(member).filter(ts.isJSDoc);
      const text = ts.getTextOfJSDocComment(doc?.comment) ?? "";
      descriptions.set(member.name.text, text.replace(/\s+/g, " ").trim());
    }
  });
  return descriptions;
}

function cell(value: string | number | boolean): string {
  const text = value === "" ? "(empty)" : String(value);
  return `\`${text.replace(/\|/g, "\\|")}\``;
}

/**
 * docs/config.md: every stack config key, from the `PresetSettings` interface (its JSDoc) and
 * the preset table, so the documentation cannot say anything the program does not read.
 */
export function configReference(descriptions = settingDescriptions()): string {
  const keys = Object.keys(PRESETS.japancart) as (keyof PresetSettings)[];
  const rows = keys.map((key) => {
    const description = descriptions.get(key);
    if (description === undefined || description === "") {
      throw new Error(`PresetSettings.${key} has no JSDoc: document it in infra/presets.ts`);
    }
    const values = PRESET_NAMES.map((preset) => cell(PRESETS[preset][key]));
    return `| \`${key}\` | ${values.join(" | ")} | ${description.replace(/\|/g, "\\|")} |`;
  });
  return [
    "# Stack configuration",
    "",
    "<!-- Generated from infra/presets.ts by `npm run docs:config`; a test fails when it is stale. -->",
    "",
    "Set with `pulumi config set <key> <value>` (namespace `txwatch`), or in `Pulumi.<stack>.yaml`",
    "as `txwatch:<key>`. An unknown key, or a value the program or AWS cannot take, fails",
    "`pulumi preview` and `txwatch plan` before any resource is registered, naming the key.",
    "",
    "Required:",
    "",
    "| key | what it sets |",
    "|---|---|",
    `| \`preset\` | one of ${PRESET_NAMES.map((p) => `\`${p}\``).join(", ")}: the customer specification the stack follows |`,
    `| \`environmentSuffix\` | the suffix of every resource name: lowercase letters, digits and single hyphens, at most ${MAX_SUFFIX_LENGTH} characters |`,
    "",
    "Every other key overrides its preset's value:",
    "",
    `| key | ${PRESET_NAMES.join(" | ")} | what it sets |`,
    `|---|${PRESET_NAMES.map(() => "---|").join("")}---|`,
    ...rows,
    "",
    "The AWS provider's own `aws:region` is honoured as `region` is; setting both to different",
    "regions is refused.",
    "",
  ].join("\n");
}
