// Writes the licenses of every npm package that esbuild put into the bundle (read from its metafile)
// beside the bundle: node frontend/licenses.mjs META.json OUT.txt
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const [metafile, out] = process.argv.slice(2);
const inputs = Object.keys(JSON.parse(readFileSync(metafile, "utf8")).inputs);
const packages = new Set();
for (const input of inputs) {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  if (match) packages.add(match[1]);
}
const sections = [...packages].sort().map((name) => {
  const dir = join("node_modules", name);
  const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const file = readdirSync(dir).find((f) => /^(licen[sc]e|copying)(\.|$)/i.test(f));
  if (!file) throw new Error(`${name} ships no license file`);
  return `${name}@${version} (${license})\n\n${readFileSync(join(dir, file), "utf8").trim()}\n`;
});
writeFileSync(out, `Licenses of the packages bundled into editor.js\n\n${sections.join("\n" + "-".repeat(72) + "\n\n")}`);
