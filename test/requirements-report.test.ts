import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../scripts/requirements.mjs", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "txwatch-requirements-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const documentText = `# Fixture requirements

## Things

- **ABC-1** Adding works.
- **ABC-2** Grouped behaviour
  wraps onto a second line.
  - a nested detail that is not part of the text
- **TPL-1** One test per preset.
- **GAP-1** Nobody tested this.
`;

// Line numbers matter: ABC-1 is on line 3, the describe on line 5, the template on line 9.
const testsText = `import { describe, test } from "node:test";
// test("GAP-1 commented out, proves nothing")
test("ABC-1 adds two numbers", () => {});
/* test("GAP-1 neither does this") */
describe("ABC-2 the group", () => {
  test("plain inner test", () => {});
});
for (const preset of ["small", "large"]) {
  test(\`TPL-1 \${preset}: sized right\`, () => {
    assert.ok(/"GAP-1/.test("\\"GAP-1"));
  });
}
`;

let fixtures = 0;

// A repository of its own: the requirements document, one test file, and any extra files.
function fixture(files: Record<string, string> = {}): string {
  const root = join(scratch, `repo-${++fixtures}`);
  const all = {
    "docs/requirements.md": documentText,
    "test/example.test.ts": testsText,
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function junit(cases: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n${cases}\n</testsuites>\n`;
}

const passingRun = junit(`
  <testcase name="ABC-1 adds two numbers" time="0.001" classname="test"/>
  <testsuite name="ABC-2 the group" time="0.001" tests="1" failures="0" skipped="0">
    <testcase name="plain inner test" time="0.001" classname="test"/>
  </testsuite>
  <testcase name="TPL-1 small: sized right" time="0.001" classname="test"/>
  <testcase name="TPL-1 large: sized right" time="0.001" classname="test"/>`);

const failingRun = junit(`
  <testcase name="ABC-1 adds two numbers" time="0.001" classname="test" failure="boom">
    <failure type="testCodeFailure" message="boom">Error: boom</failure>
  </testcase>
  <testsuite name="ABC-2 the group" time="0.001" tests="1" failures="0" skipped="0">
    <testcase name="plain inner test" time="0.001" classname="test">
      <skipped type="skipped" message="no database"/>
    </testcase>
  </testsuite>
  <testcase name="TPL-1 small: sized right" time="0.001" classname="test"/>`);

// The document without GAP-1, so that only results can make the report fail.
const coveredDocument = documentText.replace(/- \*\*GAP-1\*\*.*\n/, "");

function report(root: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [script, "--root", root, ...args], { encoding: "utf8" });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe("npm run requirements", () => {
  test("POL-3 an ID with a test is listed with its file:line and title", () => {
    const { out } = report(fixture());
    assert.match(
      out,
      /^ABC-1 {2}Adding works\.\n {2}test\/example\.test\.ts:3 {2}ABC-1 adds two numbers$/m,
    );
    assert.match(out, /^ABC-2 {2}Grouped behaviour wraps onto a second line\.$/m);
    assert.match(out, /titles only \(no test run\)/);
  });

  test("POL-3 an ID without a test prints NO TEST and exits 1", () => {
    const { code, out } = report(fixture());
    assert.equal(code, 1);
    assert.match(out, /^GAP-1 {2}Nobody tested this\.\n {2}NO TEST$/m);
    assert.match(out, /^requirements: 4 IDs, 3 with tests, 1 without; 3 tests cited$/m);
  });

  test("POL-3 an ID covered by every test exits 0", () => {
    const { code, out } = report(fixture({ "docs/requirements.md": coveredDocument }));
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /NO TEST/);
  });

  test("POL-3 a describe title naming an ID counts, listed as the describe block", () => {
    const { out } = report(fixture());
    assert.match(out, /^ABC-2 .*\n {2}test\/example\.test\.ts:5 {2}describe: ABC-2 the group$/m);
  });

  test("POL-3 a template-literal title counts, with each expression shown as {expression}", () => {
    const { out } = report(fixture());
    assert.match(out, /^ {2}test\/example\.test\.ts:9 {2}TPL-1 \{preset\}: sized right$/m);
  });

  test("POL-3 commented-out tests and a regex's .test() prove nothing", () => {
    const { out } = report(fixture());
    assert.match(out, /^GAP-1 .*\n {2}NO TEST$/m);
    assert.match(out, /4 test titles scanned in 1 files/);
  });

  test("POL-3 titles in src/ count as well as in test/", () => {
    const { out } = report(
      fixture({
        "src/things/gap.test.ts": 'import { it } from "node:test";\nit("GAP-1 found", () => {});\n',
      }),
    );
    assert.match(out, /^GAP-1 .*\n {2}src\/things\/gap\.test\.ts:2 {2}GAP-1 found$/m);
  });

  test("POL-3 with --results every proving test is marked passed, template runs counted", () => {
    const root = fixture({ "docs/requirements.md": coveredDocument, "run.xml": passingRun });
    const { code, out } = report(root, "--results", join(root, "run.xml"));
    assert.equal(code, 0, out);
    assert.match(out, /ABC-1 adds two numbers {2}\[passed\]$/m);
    assert.match(out, /describe: ABC-2 the group {2}\[passed\]$/m);
    assert.match(out, /TPL-1 \{preset\}: sized right {2}\[passed, 2 runs\]$/m);
    assert.match(out, /; 0 failed, 0 skipped, 0 not run$/m);
  });

  test("POL-3 with --results a failed test is marked failed and exits 1", () => {
    const root = fixture({ "docs/requirements.md": coveredDocument, "run.xml": failingRun });
    const { code, out } = report(root, "--results", join(root, "run.xml"));
    assert.equal(code, 1);
    assert.match(out, /ABC-1 adds two numbers {2}\[failed\]$/m);
    assert.match(out, /describe: ABC-2 the group {2}\[skipped\]$/m);
    assert.match(
      out,
      /^requirements: 3 IDs, 3 with tests, 0 without; 3 tests cited; 1 failed, 1 skipped, 0 not run$/m,
    );
  });

  test("POL-3 with --results a proving test missing from the run is marked not run and exits 1", () => {
    const partial = junit('<testcase name="ABC-1 adds two numbers" classname="test"/>');
    const root = fixture({ "docs/requirements.md": coveredDocument, "run.xml": partial });
    const { code, out } = report(root, "--results", join(root, "run.xml"));
    assert.equal(code, 1);
    assert.match(out, /TPL-1 \{preset\}: sized right {2}\[not run\]$/m);
  });

  test("POL-3 a title with quotes and brackets matches node's escaped junit name", () => {
    const tests =
      'import { test } from "node:test";\ntest(\'ABC-1 "quoted" <b> & co\', () => {});\n';
    // Node 20 escapes the quote twice in junit names: &amp;quot;
    const run = junit('<testcase name="ABC-1 &amp;quot;quoted&amp;quot; &lt;b> &amp; co"/>');
    const document = "## Things\n\n- **ABC-1** Adding works.\n";
    const root = fixture({
      "docs/requirements.md": document,
      "test/example.test.ts": tests,
      "run.xml": run,
    });
    const { code, out } = report(root, "--results", join(root, "run.xml"));
    assert.equal(code, 0, out);
    assert.match(out, /ABC-1 "quoted" <b> & co {2}\[passed\]$/m);
  });

  test("POL-3 a junit file from the last test run is used when newer than every test file", () => {
    const root = fixture({
      "docs/requirements.md": coveredDocument,
      ".build/test-results/junit.xml": passingRun,
    });
    const resultsPath = join(root, ".build/test-results/junit.xml");
    const testPath = join(root, "test/example.test.ts");
    const earlier = new Date(Date.now() - 3_600_000);
    const later = new Date(Date.now() - 60_000);

    utimesSync(testPath, earlier, earlier);
    utimesSync(resultsPath, later, later);
    const fresh = report(root);
    assert.match(fresh.out, /results from .*junit\.xml \(newer than every test file\)/);
    assert.match(fresh.out, /\[passed\]/);

    utimesSync(testPath, later, later);
    utimesSync(resultsPath, earlier, earlier);
    const stale = report(root);
    assert.match(stale.out, /titles only \(no test run; .*is older than the tests\)/);
    assert.doesNotMatch(stale.out, /\[passed\]/);
  });

  test("POL-3 a junit file from a run that began before a test file changed is not used", () => {
    // Written a minute ago by a run that took an hour: the test file changed while it ran.
    const longRun = passingRun.replace(
      "</testsuites>",
      "<!-- duration_ms 3600000 -->\n</testsuites>",
    );
    const root = fixture({
      "docs/requirements.md": coveredDocument,
      ".build/test-results/junit.xml": longRun,
    });
    const changed = new Date(Date.now() - 120_000);
    const written = new Date(Date.now() - 60_000);
    utimesSync(join(root, "test/example.test.ts"), changed, changed);
    utimesSync(join(root, ".build/test-results/junit.xml"), written, written);
    assert.match(report(root).out, /titles only \(no test run; .*is older than the tests\)/);
  });

  test("POL-3 fault-suite titles (*.faults.ts) count, with results from faults.xml; the others from junit.xml", () => {
    const faults =
      'import { test } from "node:test";\ntest("GAP-1 survives a kill -9", async () => {});\n';
    const root = fixture({
      "test/faults/crash.faults.ts": faults,
      ".build/test-results/junit.xml": passingRun,
      ".build/test-results/faults.xml": junit(
        '<testcase name="GAP-1 survives a kill -9" classname="test" failure="lost one">\n' +
          '<failure type="testCodeFailure" message="lost one">Error</failure></testcase>',
      ),
    });
    const earlier = new Date(Date.now() - 3_600_000);
    utimesSync(join(root, "test/example.test.ts"), earlier, earlier);
    utimesSync(join(root, "test/faults/crash.faults.ts"), earlier, earlier);
    const { code, out } = report(root);
    assert.equal(code, 1, out);
    assert.match(
      out,
      /results from .*junit\.xml \(newer than every test file\); fault tests: results from .*faults\.xml \(newer than every fault test file\)/,
    );
    assert.match(out, /ABC-1 adds two numbers {2}\[passed\]$/m);
    assert.match(
      out,
      /^GAP-1 .*\n {2}test\/faults\/crash\.faults\.ts:2 {2}GAP-1 survives a kill -9 {2}\[failed\]$/m,
    );

    // Without a fault run, the fault suite's titles are listed without a state.
    rmSync(join(root, ".build/test-results/faults.xml"));
    const titlesOnly = report(root);
    assert.match(titlesOnly.out, /fault tests: titles only \(no test run\)/);
    assert.match(titlesOnly.out, /GAP-1 survives a kill -9$/m);
  });

  test("POL-3 --results given twice reads both runs", () => {
    const faults =
      'import { test } from "node:test";\ntest("GAP-1 survives a kill -9", async () => {});\n';
    const root = fixture({
      "test/faults/crash.faults.ts": faults,
      "run.xml": passingRun,
      "faults.xml": junit('<testcase name="GAP-1 survives a kill -9" classname="test"/>'),
    });
    const { code, out } = report(
      root,
      "--results",
      join(root, "run.xml"),
      "--results",
      join(root, "faults.xml"),
    );
    assert.equal(code, 0, out);
    assert.match(out, /GAP-1 survives a kill -9 {2}\[passed\]$/m);
    assert.match(out, /TPL-1 \{preset\}: sized right {2}\[passed, 2 runs\]$/m);
  });

  test("POL-3 --json prints the same report as JSON", () => {
    const root = fixture({ "run.xml": failingRun });
    const { code, out } = report(root, "--json", "--results", join(root, "run.xml"));
    assert.equal(code, 1);
    const parsed = JSON.parse(out);
    assert.equal(parsed.ok, false);
    assert.deepEqual(
      parsed.requirements.map((r: { id: string }) => r.id),
      ["ABC-1", "ABC-2", "TPL-1", "GAP-1"],
    );
    assert.deepEqual(parsed.requirements[0].tests, [
      {
        file: "test/example.test.ts",
        line: 3,
        kind: "test",
        title: "ABC-1 adds two numbers",
        status: "failed",
        runs: 1,
      },
    ]);
    assert.deepEqual(parsed.requirements[3].tests, []);
    assert.deepEqual(parsed.summary, {
      ids: 4,
      withTests: 3,
      withoutTests: 1,
      testsCited: 3,
      failed: 1,
      skipped: 1,
      notRun: 0,
    });
  });

  test("POL-3 an unknown argument is a usage error", () => {
    const { code, err } = report(fixture(), "--bogus");
    assert.equal(code, 2);
    assert.match(err, /unknown argument --bogus/);
  });
});
