// Reads the import graph of src/ and judges it against the layering rules:
// platform below everything, the job core above it, domains above both,
// REST adapters above domains, src/app (and the CLI) on top. Used by the
// boundaries test, which also feeds it made-up graphs to prove it can fail.
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** file (relative to src/, e.g. "fetch-jobs/service.ts") → the src files it imports. */
export type ImportGraph = Map<string, string[]>;

export function readImportGraph(srcDir: string): ImportGraph {
  const graph: ImportGraph = new Map();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) {
        const info = ts.preProcessFile(fs.readFileSync(full, 'utf8'), true, true);
        const targets = info.importedFiles
          .map((f) => f.fileName)
          .filter((spec) => spec.startsWith('.'))
          .map((spec) => path.relative(srcDir, path.resolve(path.dirname(full), spec.replace(/\.js$/, '.ts'))));
        graph.set(path.relative(srcDir, full), targets);
      }
    }
  };
  walk(srcDir);
  return graph;
}

export type Layer = 'platform' | 'jobs' | 'domain' | 'rest' | 'app' | 'entry';

export function layerOf(file: string): Layer {
  const top = file.split('/')[0]!;
  if (top === 'platform') return 'platform';
  if (top === 'jobs') return 'jobs';
  if (top === 'rest') return 'rest';
  if (top === 'app') return 'app';
  if (top === 'cli' || !file.includes('/')) return 'entry';
  return 'domain';
}

/** Who may import whom. A domain may import only its own folder (besides the layers below). */
const ALLOWED: Record<Layer, Layer[]> = {
  platform: ['platform'],
  jobs: ['platform', 'jobs'],
  domain: ['platform', 'jobs', 'domain'],
  rest: ['platform', 'jobs', 'domain', 'rest'],
  app: ['platform', 'jobs', 'domain', 'rest', 'app'],
  entry: ['platform', 'jobs', 'domain', 'rest', 'app', 'entry'],
};

export function boundaryViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (!ALLOWED[from].includes(to)) problems.push(`${file} (${from}) imports ${target} (${to})`);
      else if (from === 'domain' && to === 'domain' && file.split('/')[0] !== target.split('/')[0]) {
        problems.push(`${file} imports another domain's ${target}: cross-domain calls go through the domain's Deps interface, links through src/app`);
      }
    }
  }
  return problems;
}

/** Every import circle (strongly connected component of more than one file, or a file importing itself). */
export function importCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const lowlink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (node: string) => {
    indices.set(node, index);
    lowlink.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        lowlink.set(node, Math.min(lowlink.get(node)!, lowlink.get(next)!));
      } else if (onStack.has(next)) lowlink.set(node, Math.min(lowlink.get(node)!, indices.get(next)!));
    }
    if (lowlink.get(node) === indices.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return cycles;
}
