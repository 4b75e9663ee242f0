#!/usr/bin/env node
// Evidence report: for every requirement ID in docs/requirements.md, the tests whose titles name
// it. Titles are read from src/**/*.test.ts and test/**/*.test.ts, and from the fault suite's
// test/**/*.faults.ts, without running anything, so the report also works before a test run.
// With node's junit output each test also shows whether it passed: the files given with
// --results (repeatable; their runs together), or else the junit file of each suite's last
// whole run when it is fresh: .build/test-results/junit.xml (`npm test`) for *.test.ts titles
// and .build/test-results/faults.xml (`npm run test:faults`) for *.faults.ts titles.
// Exits 1 when an ID has no test, or when results are used and a proving test failed, was
// skipped or did not run.
//
//   node scripts/requirements.mjs [--root <dir>] [--results <junit.xml>]... [--json]
//
// Template-literal titles keep their text, with each ${expression} shown as {expression}; when
// matched against results, an expression matches any text.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const DOCUMENT = "docs/requirements.md";
// Each suite: the test files it runs and the junit file its whole run writes.
const SUITES = [
  { suffix: ".test.ts", results: ".build/test-results/junit.xml", files: "tests" },
  { suffix: ".faults.ts", results: ".build/test-results/faults.xml", files: "fault tests" },
];
const TEST_DIRS = ["src", "test"];
const ID_PATTERN = /\b[A-Z]{2,5}-\d+\b/g;

// ---------------------------------------------------------------------------------------------
// Command line

// Exit code 2 keeps "cannot report" apart from "reported a gap" (1).
function fail(message) {
  process.stderr.write(`requirements: ${message}\n`);
  process.exit(2);
}

const usage = (message) =>
  fail(
    `${message}\nusage: node scripts/requirements.mjs [--root <dir>] [--results <junit.xml>] [--json]`,
  );

function parseArgs(argv) {
  const options = {
    root: resolve(dirname(fileURLToPath(import.meta.url)), ".."),
    results: [],
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--json") options.json = true;
    else if (arg === "--root" || arg === "--results") {
      const value = argv[++i];
      if (value === undefined) usage(`${arg} needs a value`);
      if (arg === "--results") options.results.push(resolve(value));
      else options.root = resolve(value);
    } else usage(`unknown argument ${arg}`);
  }
  return options;
}

// ---------------------------------------------------------------------------------------------
// The requirements document

// A requirement is a bullet starting with a bold ID. Its text is the bullet's own paragraph:
// wrapped lines are joined, nested lists (details such as GEN-4's output names) are left out.
function readRequirements(path) {
  const lines = readFileSync(path, "utf8").split("\n");
  const requirements = [];
  let section = "";
  let current;
  for (const line of lines) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+\*\*([A-Z]{2,5}-\d+)\*\*\s*(.*)$/.exec(line);
    if (heading) section = heading[1].trim();
    if (bullet) {
      current = { id: bullet[1], section, text: bullet[2].trim() };
      requirements.push(current);
    } else if (current && /^\s+\S/.test(line) && !/^\s*([-*+]|\d+\.)\s/.test(line)) {
      current.text = `${current.text} ${line.trim()}`;
    } else current = undefined;
  }
  const seen = new Set();
  for (const { id } of requirements) {
    if (seen.has(id)) fail(`${path}: ${id} appears twice`);
    seen.add(id);
  }
  return requirements;
}

function findTestFiles(root) {
  const walk = (dir) =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === "node_modules" ? [] : walk(path);
      return SUITES.some((suite) => entry.name.endsWith(suite.suffix)) ? [path] : [];
    });
  return TEST_DIRS.map((dir) => join(root, dir))
    .filter((dir) => existsSync(dir))
    .flatMap(walk)
    .sort();
}

// ---------------------------------------------------------------------------------------------
// Test titles, found by a small lexer: it knows comments, strings, template literals and regex
// literals well enough that a quote inside a regex or a commented-out test cannot mislead it.

const CALLEES = new Set(["test", "it", "describe", "suite"]);
const MODIFIERS = new Set(["skip", "only", "todo"]);
// After these keywords a `/` starts a regex, not a division.
const KEYWORDS_BEFORE_EXPRESSION = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);

const isIdentStart = (c) => /[A-Za-z_$\u0080-\uffff]/.test(c);
const isIdentPart = (c) => /[\w$\u0080-\uffff]/.test(c);

const ESCAPES = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v", 0: "\0" };

// Malformed escapes are legal in some templates; they keep their letter instead of failing.
function fromHex(digits, fallback) {
  const code = Number.parseInt(digits, 16);
  return /^[0-9a-f]+$/i.test(digits) && code <= 0x10ffff ? String.fromCodePoint(code) : fallback;
}

// Reads one escape sequence after a backslash at src[i]; returns its text and the next index.
function readEscape(src, i) {
  const c = src[i + 1];
  if (c === "\n") return { text: "", end: i + 2 };
  if (c === "\r") return { text: "", end: src[i + 2] === "\n" ? i + 3 : i + 2 };
  if (c in ESCAPES) return { text: ESCAPES[c], end: i + 2 };
  if (c === "x") return { text: fromHex(src.slice(i + 2, i + 4), c), end: i + 4 };
  if (c === "u" && src[i + 2] === "{") {
    const close = src.indexOf("}", i + 3);
    if (close === -1) return { text: c, end: i + 2 };
    return { text: fromHex(src.slice(i + 3, close), c), end: close + 1 };
  }
  if (c === "u") return { text: fromHex(src.slice(i + 2, i + 6), c), end: i + 6 };
  return { text: c ?? "", end: i + 2 };
}

// A '...' or "..." literal starting at src[start].
function readString(src, start) {
  const quote = src[start];
  let text = "";
  let i = start + 1;
  while (i < src.length && src[i] !== quote && src[i] !== "\n") {
    if (src[i] === "\\") {
      const escaped = readEscape(src, i);
      text += escaped.text;
      i = escaped.end;
    } else text += src[i++];
  }
  return { parts: [text], end: i + 1 };
}

// A `...` literal starting at src[start]. Parts alternate: literal text (even indexes) and the
// source of each ${...} expression (odd indexes). Expressions are lexed as code, so nested
// braces, strings and templates inside them are skipped correctly.
function readTemplate(src, start, visit) {
  const parts = [""];
  let i = start + 1;
  while (i < src.length && src[i] !== "`") {
    if (src[i] === "\\") {
      const escaped = readEscape(src, i);
      parts[parts.length - 1] += escaped.text;
      i = escaped.end;
    } else if (src[i] === "$" && src[i + 1] === "{") {
      const end = scanCode(src, i + 2, visit, true);
      parts.push(src.slice(i + 2, end - 1).trim(), "");
      i = end;
    } else parts[parts.length - 1] += src[i++];
  }
  return { parts, end: i + 1 };
}

// A regex literal starting at src[start], or undefined when the line ends first (then the slash
// was a division after all).
function skipRegex(src, start) {
  let inClass = false;
  for (let i = start + 1; i < src.length; i++) {
    const c = src[i];
    if (c === "\n") return undefined;
    if (c === "\\") i++;
    else if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "/" && !inClass) {
      let end = i + 1;
      while (end < src.length && isIdentPart(src[end])) end++;
      return end;
    }
  }
  return undefined;
}

function regexAllowedAfter(token) {
  if (!token) return true;
  if (token.type === "punct") return !")]}".includes(token.value);
  return token.type === "ident" && KEYWORDS_BEFORE_EXPRESSION.has(token.value);
}

// Skips whitespace and comments from src[i]; returns the next index.
function skipTrivia(src, i) {
  for (;;) {
    while (i < src.length && /\s/.test(src[i])) i++;
    if (src.startsWith("//", i)) {
      const end = src.indexOf("\n", i);
      i = end === -1 ? src.length : end;
    } else if (src.startsWith("/*", i)) {
      const end = src.indexOf("*/", i + 2);
      i = end === -1 ? src.length : end + 2;
    } else return i;
  }
}

// Walks code from src[start], calling visit(name, start, end, previousTokens) for every
// identifier. With insideBraces, stops after the `}` that closes a ${...} and returns the index
// after it; otherwise returns the end of the source.
function scanCode(src, start, visit, insideBraces = false) {
  const recent = [];
  const push = (type, value) => {
    recent.push({ type, value });
    if (recent.length > 2) recent.shift();
  };
  let depth = 0;
  let i = start;
  while (i < src.length) {
    const next = skipTrivia(src, i);
    if (next !== i) {
      i = next;
      continue;
    }
    const c = src[i];
    const regexEnd = c === "/" && regexAllowedAfter(recent.at(-1)) ? skipRegex(src, i) : undefined;
    if (c === '"' || c === "'") {
      i = readString(src, i).end;
      push("string", c);
    } else if (c === "`") {
      i = readTemplate(src, i, visit).end;
      push("template", c);
    } else if (regexEnd !== undefined) {
      i = regexEnd;
      push("regex", c);
    } else if (isIdentStart(c)) {
      let end = i + 1;
      while (end < src.length && isIdentPart(src[end])) end++;
      const name = src.slice(i, end);
      visit(name, i, end, recent);
      push("ident", name);
      i = end;
    } else if (/\d/.test(c)) {
      while (i < src.length && /[\w.]/.test(src[i])) i++;
      push("number", c);
    } else {
      if (insideBraces && c === "{") depth++;
      if (insideBraces && c === "}" && depth-- === 0) return i + 1;
      push("punct", c);
      i++;
    }
  }
  return i;
}

// `test`, `it`, `describe` and `suite` as plain calls; `x.test` for subtests, but not a regex's
// own `.test()` method.
function isTestCallee(name, recent) {
  if (!CALLEES.has(name)) return false;
  const previous = recent.at(-1);
  if (previous?.type !== "punct" || previous.value !== ".") return true;
  return name === "test" && recent.at(-2)?.type === "ident";
}

// The title literal of a call whose callee ends at src[end]: optional .skip/.only/.todo, then
// `(`, then a string or template literal. Undefined when the first argument is anything else.
function titleAfter(src, end) {
  let i = skipTrivia(src, end);
  while (src[i] === ".") {
    i = skipTrivia(src, i + 1);
    let word = i;
    while (word < src.length && isIdentPart(src[word])) word++;
    if (!MODIFIERS.has(src.slice(i, word))) return undefined;
    i = skipTrivia(src, word);
  }
  if (src[i] !== "(") return undefined;
  i = skipTrivia(src, i + 1);
  if (src[i] === '"' || src[i] === "'") return readString(src, i).parts;
  if (src[i] === "`") return readTemplate(src, i, () => {}).parts;
  return undefined;
}

function lineStarts(src) {
  const starts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") starts.push(i + 1);
  return starts;
}

function lineAt(starts, index) {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (starts[middle] <= index) low = middle;
    else high = middle - 1;
  }
  return low + 1;
}

const renderTitle = (parts) =>
  parts.map((part, index) => (index % 2 === 1 ? `{${part}}` : part)).join("");

function scanTests(root, path) {
  const src = readFileSync(path, "utf8");
  const starts = lineStarts(src);
  const file = relative(root, path).split("\\").join("/");
  const tests = [];
  scanCode(src, 0, (name, start, end, recent) => {
    if (!isTestCallee(name, recent)) return;
    const parts = titleAfter(src, end);
    if (!parts) return;
    const kind = name === "describe" || name === "suite" ? "describe" : "test";
    tests.push({ file, line: lineAt(starts, start), kind, title: renderTitle(parts), parts });
  });
  return tests;
}

// ---------------------------------------------------------------------------------------------
// Results: node's junit reporter. Tests with subtests and describe blocks are <testsuite>s;
// plain tests are <testcase>s with a <failure> or <skipped> child when they did not pass.

// Node 20 escapes the quote of an attribute twice (&amp;quot;), so names are decoded until
// nothing changes; titles from the source go through the same function to compare like with like.
function decodeEntities(text) {
  const named = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
  let previous;
  let current = text;
  while (current !== previous) {
    previous = current;
    current = current.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name) => {
      if (name[0] === "#") {
        const hex = name[1] === "x" || name[1] === "X";
        const code = Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10);
        return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return named[name] ?? whole;
    });
  }
  return current;
}

function parseJunit(xml) {
  const root = { tag: "root", children: [] };
  const stack = [root];
  const tags =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z]+)((?:\s+[^\s=/>]+="[^"]*")*)\s*(\/?)>/g;
  for (const [whole, closing, tag, attributes, selfClosing] of xml.matchAll(tags)) {
    if (!tag) continue;
    if (closing) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    const element = { tag, attributes: {}, children: [] };
    for (const [, key, value] of attributes.matchAll(/([^\s=]+)="([^"]*)"/g)) {
      element.attributes[key] = decodeEntities(value);
    }
    stack.at(-1).children.push(element);
    if (!selfClosing && !whole.endsWith("/>")) stack.push(element);
  }
  return root;
}

function caseStatus(element) {
  if (element.attributes.failure !== undefined) return "failed";
  if (element.children.some((child) => child.tag === "failure" || child.tag === "error")) {
    return "failed";
  }
  return element.children.some((child) => child.tag === "skipped") ? "skipped" : "passed";
}

// A suite failed when any test in it failed, and counts as skipped when nothing in it passed.
function suiteStatus(element) {
  const statuses = element.children
    .filter((child) => child.tag === "testcase" || child.tag === "testsuite")
    .map(entryStatus);
  if (statuses.includes("failed")) return "failed";
  return statuses.includes("passed") ? "passed" : "skipped";
}

const entryStatus = (element) =>
  element.tag === "testsuite" ? suiteStatus(element) : caseStatus(element);

// Every <testcase> and <testsuite> as { name, status }.
function junitEntries(xml) {
  const entries = [];
  const collect = (element) => {
    for (const child of element.children) {
      if (child.tag === "testcase" || child.tag === "testsuite") {
        entries.push({ name: child.attributes.name ?? "", status: entryStatus(child) });
      }
      collect(child);
    }
  };
  collect(parseJunit(xml));
  return entries;
}

// The document's IDs named in a title; other ID-shaped words (HTTP-2, say) are ignored.
const idsIn = (title, known) => (title.match(ID_PATTERN) ?? []).filter((id) => known.has(id));

const escapeRegex = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function titleMatcher(parts) {
  const source = parts
    .map((part, index) => (index % 2 === 1 ? "[\\s\\S]*" : escapeRegex(decodeEntities(part))))
    .join("");
  const pattern = new RegExp(`^${source}$`);
  return (entry) => pattern.test(entry.name);
}

// One status for a title: a template title can run several times (one per preset, say), and
// any failure or skip among those runs counts.
function combine(statuses) {
  if (statuses.length === 0) return "not run";
  if (statuses.includes("failed")) return "failed";
  return statuses.includes("skipped") ? "skipped" : "passed";
}

function resultFor(parts, entries) {
  const matches = entries.filter(titleMatcher(parts));
  return { status: combine(matches.map((entry) => entry.status)), runs: matches.length };
}

// When the run that wrote a junit file began: the file is last written at the end, and node
// records the run's duration in a closing comment.
function runStartedMs(path) {
  const duration = /<!-- duration_ms ([\d.]+) -->/.exec(readFileSync(path, "utf8"));
  return statSync(path).mtimeMs - (duration ? Number(duration[1]) : 0);
}

const suiteOf = (file) => SUITES.find((suite) => file.endsWith(suite.suffix));

// The results to use and how they were chosen, per suite: the files given explicitly (their
// runs together, for every test), or the junit file of each suite's last whole run when that
// run began after every test file of the suite last changed (otherwise it may describe other
// tests, or miss files added while it ran). A suite without a usable file has titles only.
// The `npm test` suite is always considered; another only when it has test files.
function chooseResults(options, testFiles) {
  if (options.results.length > 0) {
    for (const path of options.results) {
      if (!existsSync(path)) fail(`no results file ${path}`);
    }
    return options.results.map((path) => ({ path, reason: "given with --results" }));
  }
  return SUITES.flatMap((suite, index) => {
    const files = testFiles.filter((file) => suiteOf(file) === suite);
    if (files.length === 0 && index > 0) return [];
    const path = join(options.root, suite.results);
    if (!existsSync(path)) return [{ suite }];
    const newest = Math.max(0, ...files.map((file) => statSync(file).mtimeMs));
    if (runStartedMs(path) >= newest) {
      return [{ suite, path, reason: `newer than every ${suite.files.replace(/s$/, "")} file` }];
    }
    return [{ suite, stale: path }];
  });
}

// The junit entries that give a test file's results: every explicit file's, or its suite's.
function entriesFinder(chosen) {
  const read = new Map(
    chosen.filter((c) => c.path).map((c) => [c, junitEntries(readFileSync(c.path, "utf8"))]),
  );
  const explicit = chosen.filter((c) => c.path && c.suite === undefined);
  const all = explicit.flatMap((c) => read.get(c));
  return (file) => {
    if (explicit.length > 0) return all;
    const source = chosen.find((c) => c.suite === suiteOf(file) && c.path);
    return source ? read.get(source) : undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Report

function buildReport(options) {
  const documentPath = join(options.root, DOCUMENT);
  if (!existsSync(documentPath)) fail(`no ${DOCUMENT} under ${options.root}`);
  const requirements = readRequirements(documentPath);
  const known = new Set(requirements.map((r) => r.id));
  const testFiles = findTestFiles(options.root);
  const tests = testFiles.flatMap((path) => scanTests(options.root, path));
  const chosen = chooseResults(options, testFiles);
  const entriesFor = entriesFinder(chosen);
  const withResults = chosen.some((c) => c.path);

  const cited = new Map();
  const rows = requirements.map((requirement) => {
    const proving = tests.filter((t) => idsIn(t.title, known).includes(requirement.id));
    return {
      ...requirement,
      tests: proving.map((t) => {
        const key = `${t.file}:${t.line}`;
        if (!cited.has(key)) {
          const entries = entriesFor(t.file);
          cited.set(key, entries ? resultFor(t.parts, entries) : {});
        }
        const { file, line, kind, title } = t;
        return { file, line, kind, title, ...cited.get(key) };
      }),
    };
  });

  const citedResults = [...cited.values()];
  const count = (status) => citedResults.filter((r) => r.status === status).length;
  const summary = {
    ids: rows.length,
    withTests: rows.filter((r) => r.tests.length > 0).length,
    withoutTests: rows.filter((r) => r.tests.length === 0).length,
    testsCited: cited.size,
    ...(withResults
      ? { failed: count("failed"), skipped: count("skipped"), notRun: count("not run") }
      : {}),
  };
  const ok =
    summary.withoutTests === 0 &&
    (!withResults || summary.failed + summary.skipped + summary.notRun === 0);
  return {
    document: shown(documentPath),
    testFiles: testFiles.length,
    testsScanned: tests.length,
    results: resultsSource(chosen),
    requirements: rows,
    summary,
    ok,
  };
}

// Paths as the reader typed them: relative to the working directory when inside it.
function shown(path) {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith("..") ? path : fromHere;
}

// Where each suite's results came from; `file` is null for a suite with titles only.
function resultsSource(chosen) {
  return chosen.map((c) => {
    const of = c.suite ? { for: c.suite.files } : {};
    if (c.path) return { file: shown(c.path), reason: c.reason, ...of };
    if (c.stale) {
      return {
        file: null,
        reason: `titles only (no test run; ${c.suite.results} is older than the ${c.suite.files})`,
        ...of,
      };
    }
    return { file: null, reason: "titles only (no test run)", ...of };
  });
}

function formatText(report) {
  const { results, summary } = report;
  const source = results
    .map((r, index) => {
      const text = r.file ? `results from ${r.file} (${r.reason})` : r.reason;
      // The first suite (npm test) reads as before; any other is named.
      return index > 0 && r.for ? `${r.for}: ${text}` : text;
    })
    .join("; ");
  const lines = [
    `${report.document}: ${summary.ids} IDs; ${report.testsScanned} test titles scanned in ${report.testFiles} files; ${source}`,
  ];
  for (const requirement of report.requirements) {
    lines.push("", `${requirement.id}  ${requirement.text}`);
    if (requirement.tests.length === 0) lines.push("  NO TEST");
    for (const test of requirement.tests) {
      const title = test.kind === "describe" ? `describe: ${test.title}` : test.title;
      const runs = test.runs > 1 ? `, ${test.runs} runs` : "";
      const status = test.status ? `  [${test.status}${runs}]` : "";
      lines.push(`  ${test.file}:${test.line}  ${title}${status}`);
    }
  }
  let last = `requirements: ${summary.ids} IDs, ${summary.withTests} with tests, ${summary.withoutTests} without; ${summary.testsCited} tests cited`;
  if (summary.failed !== undefined) {
    last += `; ${summary.failed} failed, ${summary.skipped} skipped, ${summary.notRun} not run`;
  }
  lines.push("", last);
  return `${lines.join("\n")}\n`;
}

// A reader that stops early (`| head`) is not an error of the report.
process.stdout.on("error", (error) => {
  if (error.code !== "EPIPE") throw error;
});

const options = parseArgs(process.argv.slice(2));
const report = buildReport(options);
process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
// exitCode, not exit(): a large report to a pipe is still being written when the script ends.
process.exitCode = report.ok ? 0 : 1;
