// Who may import whom in src/ (see DESIGN.md "Layout"), enforced.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundaryViolations, importCycles, readImportGraph, type ImportGraph } from '../support/import-graph.js';

const graph = readImportGraph(path.resolve(import.meta.dirname, '../../src'));

describe('src/ layering', () => {
  it('platform imports no domain, the job core no domain, and no domain src/app, src/rest or another domain', () => {
    expect(boundaryViolations(graph)).toEqual([]);
  });

  it('has no import circle', () => {
    expect(importCycles(graph)).toEqual([]);
  });

  it('reads a real graph (the checks above look at something)', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('fetch-jobs/service.ts')).toContain('jobs/store.ts');
    expect(graph.get('app/domains.ts')).toContain('fetch-jobs/module.ts');
  });
});

describe('the checks themselves', () => {
  const clean: ImportGraph = new Map([
    ['platform/a.ts', ['platform/b.ts']],
    ['platform/b.ts', []],
    ['jobs/core.ts', ['platform/a.ts']],
    ['media/service.ts', ['platform/a.ts', 'jobs/core.ts']],
    ['app/wire.ts', ['media/service.ts']],
  ]);

  it('accept a well-layered graph', () => {
    expect(boundaryViolations(clean)).toEqual([]);
    expect(importCycles(clean)).toEqual([]);
  });

  it('catch platform importing a domain or src/app', () => {
    const bad = new Map(clean).set('platform/b.ts', ['media/service.ts', 'app/wire.ts']);
    expect(boundaryViolations(bad)).toEqual([
      'platform/b.ts (platform) imports media/service.ts (domain)',
      'platform/b.ts (platform) imports app/wire.ts (app)',
    ]);
  });

  it('catch a domain importing src/app or another domain', () => {
    const bad = new Map(clean).set('media/service.ts', ['app/wire.ts']).set('files/service.ts', ['media/service.ts']);
    const problems = boundaryViolations(bad);
    expect(problems).toContain('media/service.ts (domain) imports app/wire.ts (app)');
    expect(problems.some((p) => p.startsWith("files/service.ts imports another domain's media/service.ts"))).toBe(true);
  });

  it('catch the job core importing a domain', () => {
    const bad = new Map(clean).set('jobs/core.ts', ['media/service.ts']);
    expect(boundaryViolations(bad)).toEqual(['jobs/core.ts (jobs) imports media/service.ts (domain)']);
  });

  it('catch an import circle, however long', () => {
    const bad = new Map(clean).set('platform/b.ts', ['platform/c.ts']).set('platform/c.ts', ['platform/a.ts']);
    expect(importCycles(bad)).toEqual([['platform/a.ts', 'platform/b.ts', 'platform/c.ts']]);
  });
});
