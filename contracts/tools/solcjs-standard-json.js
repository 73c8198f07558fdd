#!/usr/bin/env node
// Presents the npm `solc` (solcjs) module as a native-solc-like binary for py-solc-x:
//   --version            -> "Version: <semver+commit>" (py-solc-x parses that line)
//   --standard-json      -> standard JSON in on stdin, standard JSON out on stdout (nothing else)
// Imports resolve against --base-path and every --include-path, like native solc.
"use strict";
const fs = require("fs");
const path = require("path");

const args = process.argv.slice(2);
const solcModule = path.join(__dirname, "..", "..", "node_modules", "solc");
const solc = require(solcModule);

if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("only --version and --standard-json are supported\n");
  process.exit(2);
}

const roots = [];
for (let i = 0; i < args.length; i++) {
  if ((args[i] === "--base-path" || args[i] === "--include-path") && args[i + 1]) {
    roots.push(path.resolve(args[i + 1]));
    i++;
  }
}
if (roots.length === 0) roots.push(process.cwd());

function findImports(importPath) {
  for (const root of roots) {
    const candidate = path.resolve(root, importPath);
    // Never read outside the allowed roots.
    if (!candidate.startsWith(root + path.sep)) continue;
    if (fs.existsSync(candidate)) return { contents: fs.readFileSync(candidate, "utf8") };
  }
  return { error: "File not found in base or include paths: " + importPath };
}

const input = fs.readFileSync(0, "utf8");
process.stdout.write(solc.compile(input, { import: findImports }));
