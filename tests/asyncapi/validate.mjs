// Validates an AsyncAPI document with the official JavaScript parser (@asyncapi/parser: the AsyncAPI JSON Schema of
// the document's version, reference resolution and the AsyncAPI rule set). Reads the document on stdin and prints
// {"version", "parsed", "diagnostics": [{"code", "severity", "message", "path"}]} on stdout; severity 0 is an error.
// Usage: node validate.mjs .cache/asyncapi < asyncapi.json   (the folder `make asyncapi-validator` installs into)
import { createRequire } from "node:module";
import path from "node:path";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node validate.mjs <folder holding node_modules/@asyncapi/parser> < document.json");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "package.json"));
const { Parser } = require("@asyncapi/parser");

let text = "";
for await (const chunk of process.stdin) text += chunk;
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const version = require("@asyncapi/parser/package.json").version;
const found = diagnostics.map((d) => ({
  code: String(d.code),
  severity: d.severity,
  message: d.message,
  path: d.path.join("/"),
}));
process.stdout.write(JSON.stringify({ version, parsed: document !== undefined, diagnostics: found }));
