/**
 * How fast the `ferry` command starts: `ferry --version` and a GET against a local server,
 * under Deno (`deno run -A src/cli/mod.ts`) and Node (the npm build's bin, when
 * `build/npm` exists), side by side with `curl` and with an empty program on each runtime
 * (the floor: the runtime's own start-up). Rounds are interleaved; medians of wall time.
 *
 * ```sh
 * deno task build:npm                          # for the Node rows
 * deno run -A bench/cli_startup.ts [rounds]    # default 15
 * ```
 *
 * @module
 */

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const rounds = Number(Deno.args[0] ?? 15);
const root = fileURLToPath(new URL("..", import.meta.url));
const entry = join(root, "src", "cli", "mod.ts");
const bin = join(root, "build", "npm", "bin", "ferry.js");
const scratch = mkdtempSync(join(tmpdir(), "ferry-startup-"));
const empty = join(scratch, "empty.mjs");
writeFileSync(empty, "");

const server = createServer((_request, response) => {
  response.writeHead(200, { "Content-Type": "text/plain" }).end("hello\n");
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

const deno = Deno.execPath();
const which = (name: string) => ["/usr/bin/" + name, "/bin/" + name].find(existsSync) ?? null;
const curl = which("curl");
const rows: [string, string, string[]][] = [
  ["deno run (empty file)", deno, ["run", "-A", "--no-lock", empty]],
  ["ferry --version (Deno)", deno, ["run", "-A", "--no-lock", entry, "--version"]],
  ["ferry GET (Deno)", deno, ["run", "-A", "--no-lock", entry, "--ignore-stdin", url]],
  ["node (empty file)", "node", [empty]],
];
if (existsSync(bin)) {
  rows.push(
    ["ferry --version (Node, npm bin)", "node", [bin, "--version"]],
    ["ferry GET (Node, npm bin)", "node", [bin, "--ignore-stdin", url]],
  );
} else console.log("(no build/npm: run `deno task build:npm` for the Node rows)");
if (curl) rows.push(["curl GET", curl, ["-s", url]]);

function time(program: string, args: string[]): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${program} ${args.join(" ")} exited with ${code}`));
      else resolve(performance.now() - start);
    });
  });
}

const samples = rows.map(() => [] as number[]);
for (const [, program, args] of rows) await time(program, args); // warm caches
for (let round = 0; round < rounds; round++) {
  for (const [index, [, program, args]] of rows.entries()) {
    samples[index].push(await time(program, args));
  }
}
server.close();

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[values.length >> 1];
const medians = samples.map(median);
const denoFloor = medians[0];
const nodeFloor = medians[3];
const curlTime = curl ? medians[medians.length - 1] : null;
console.log(`${rounds} interleaved rounds, median wall time per run\n`);
console.log(
  "| command".padEnd(34) + "|    ms | ÷ its runtime's empty run | ÷ curl |",
);
console.log("| " + "-".repeat(31) + " | ----: | ------------------------: | -----: |");
for (const [index, [name]] of rows.entries()) {
  const floor = name.includes("Node") || name.startsWith("node") ? nodeFloor : denoFloor;
  const ratio = name === "curl GET" ? "" : `${(medians[index] / floor).toFixed(2)}×`;
  const vsCurl = curlTime ? `${(medians[index] / curlTime).toFixed(1)}×` : "";
  console.log(
    `| ${name.padEnd(31)} | ${medians[index].toFixed(0).padStart(5)} | ${ratio.padStart(25)} | ${
      vsCurl.padStart(6)
    } |`,
  );
}
