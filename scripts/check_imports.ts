/**
 * Fails when the modules under `src/` import each other in a cycle, type-only imports and
 * dynamic `import()` included, or when a file imports one of a higher layer
 * (ARCHITECTURE.md: layers one-way, no import cycles). Prints each cycle as a chain of
 * files and each upward import with both layers. Run by `deno task check`.
 *
 * ```sh
 * deno run --allow-read scripts/check_imports.ts [root …]
 * ```
 *
 * @module
 */

import { dirname, join, normalize, relative } from "node:path";
import { readdirSync, readFileSync, statSync } from "node:fs";

/** The relative specifiers a module imports or re-exports, statically or dynamically. */
export function importsOf(source: string): string[] {
  // Comments hold examples (`import { Client } from "@ferry/ferry"`): leave them out.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s+["']([^"']+)["']/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      if (match[1].startsWith(".")) found.push(match[1]);
    }
  }
  return found;
}

/** Every `.ts` file below `root`. */
function walk(root: string): string[] {
  if (statSync(root).isFile()) return [root];
  return readdirSync(root).sort().flatMap((name) => {
    const path = join(root, name);
    if (statSync(path).isDirectory()) return walk(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The import graph of the files below `roots`: file → the files it imports. */
export function importGraph(roots: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of roots.flatMap(walk)) {
    const targets = importsOf(readFileSync(file, "utf8"))
      .map((specifier) => normalize(join(dirname(file), specifier)));
    graph.set(normalize(file), [...new Set(targets)]);
  }
  return graph;
}

/** The cycles of `graph`: its strongly connected components of more than one file (or a self-import). */
export function cycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next++;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) {
        found.push(component.sort());
      }
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

/** One path around a cycle, for the message: `a.ts → b.ts → a.ts`. */
function describeCycle(graph: Map<string, string[]>, component: string[]): string {
  const members = new Set(component);
  const start = component[0];
  // Breadth-first from start back to start, inside the component.
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of graph.get(node) ?? []) {
      if (!members.has(target) || previous.has(target)) continue;
      previous.set(target, node);
      if (target === start) queue.length = 0;
      else queue.push(target);
    }
  }
  const path = [start];
  for (let node = previous.get(start)!; node !== start; node = previous.get(node)!) {
    path.unshift(node);
  }
  path.unshift(start);
  const more = component.length > path.length - 1
    ? ` (all of: ${component.map((file) => relative(".", file)).join(", ")})`
    : "";
  return path.map((file) => relative(".", file)).join(" → ") + more;
}

/**
 * The layers, bottom up, and the files of each (a path, or a folder ending in `/`; the
 * longest match wins). Keep in step with ARCHITECTURE.md.
 */
export const LAYERS: readonly (readonly [string, readonly string[]])[] = [
  ["leaves", [
    "src/errors.ts",
    "src/timeout.ts",
    "src/version.ts",
    "src/_inspect.ts",
    "src/_redact.ts",
  ]],
  ["runtime", ["src/runtime/"]],
  ["network", ["src/network/"]],
  // The body types and byte helpers: the writer frames them, the models carry them. The
  // HTTP/2 frame layer and HPACK are sans-IO protocol code too (their session is above).
  ["protocol", [
    "src/http11/",
    "src/models/body.ts",
    "src/http2/_frames.ts",
    "src/http2/_hpack.ts",
  ]],
  ["models", [
    "src/models/",
    "src/decoding.ts",
    "src/_zlib_source.ts",
    "src/_zstd_frames.ts",
    "src/cookies.ts",
    "src/_basic_auth.ts",
    "src/_public_suffix.ts",
  ]],
  ["connection", [
    "src/connection.ts",
    "src/connection/",
    "src/http2/",
    "src/_origin.ts",
    "src/_trace.ts",
  ]],
  ["pool", ["src/pool.ts", "src/proxy/"]],
  [
    "client",
    [
      "src/client.ts",
      "src/api.ts",
      "src/merge.ts",
      "src/_redirects.ts",
      "src/mounts.ts",
      "src/proxy/client_mounts.ts",
      "src/content.ts",
      "src/auth.ts",
      "src/_md5.ts",
      "src/tls_settings.ts",
      "src/transports/",
      "src/client_fetch.ts",
      "src/retry.ts",
      "src/progress.ts",
    ],
  ],
  ["adapters", ["src/fetch.ts", "src/cli/"]],
  // Entry points re-export from any layer.
  ["entry", ["src/advanced/mod.ts", "src/proxy/mod.ts", "src/http11/mod.ts", "src/testing/mod.ts"]],
];

/** The layer index of `file` (see {@linkcode LAYERS}), or `-1` when no entry names it. */
export function layerOf(file: string): number {
  let best = -1;
  let bestLength = -1;
  LAYERS.forEach(([, paths], index) => {
    for (const path of paths) {
      const match = path.endsWith("/") ? file.startsWith(path) : file === path;
      if (match && path.length > bestLength) {
        best = index;
        bestLength = path.length;
      }
    }
  });
  return best;
}

/** Imports that go up the layers: `[from, to]` pairs. */
export function upwardImports(graph: Map<string, string[]>): [string, string][] {
  const found: [string, string][] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (a >= 0 && b >= 0 && b > a) found.push([from, to]);
    }
  }
  return found;
}

if (import.meta.main) {
  const roots = Deno.args.length > 0 ? Deno.args : ["src"];
  const graph = importGraph(roots);
  const found = cycles(graph);
  for (const component of found) console.error(`Import cycle: ${describeCycle(graph, component)}`);
  const upward = upwardImports(graph);
  for (const [from, to] of upward) {
    console.error(
      `Upward import: ${from} (${LAYERS[layerOf(from)][0]}) imports ${to} (${
        LAYERS[layerOf(to)][0]
      })`,
    );
  }
  const unmapped = [...graph.keys()].filter((file) => layerOf(file) < 0);
  for (const file of unmapped) {
    console.error(`Not in a layer yet: ${file} (add it to LAYERS here and to ARCHITECTURE.md)`);
  }
  if (found.length > 0 || upward.length > 0) Deno.exit(1);
  console.log(`No import cycles and no upward imports in ${graph.size} files`);
}
