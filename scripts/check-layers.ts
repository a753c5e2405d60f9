// `node scripts/check-layers.ts [root]`: the dependency rule between src/'s layers, and no import
// cycles between files. Exits 1 and prints one line per violation; part of `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// What each layer may import, besides itself. A file's layer is its top-level folder under src/
// (src/oauth/policy/x.ts is in `oauth`); the files directly in src/ are `root`, except those in
// SHARED_ROOT_FILES. Every import counts: static, `export … from`, dynamic `import()`, and
// type-only ones. '*' means anything, and only '*' may import a file outside src/.
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  shared: [],
  crypto: ['shared'],
  stores: ['shared', 'crypto'],
  keys: ['shared', 'crypto', 'stores', 'identity'],
  identity: ['shared', 'crypto', 'stores', 'keys'],
  http: ['shared'],
  oauth: ['shared', 'crypto', 'stores', 'keys', 'identity', 'http'],
  admin: ['shared', 'crypto', 'stores', 'keys', 'identity', 'http', 'oauth', 'events'],
  embedded: ['shared'],
  console: ['shared', 'crypto', 'stores', 'keys', 'identity', 'http', 'oauth', 'admin'],
  events: ['shared', 'crypto', 'stores', 'keys', 'identity'],
  api: ['shared', 'crypto', 'stores', 'keys', 'identity', 'http', 'admin'],
  cli: ['*'],
  root: ['*'],
};

// Files directly in src/ that any layer may import: they are `shared`, so they may import only
// shared. The other root files (config.ts, runtime.ts, app.ts, server.ts…) compose the layers:
// they may import anything, and nothing below them imports them.
export const SHARED_ROOT_FILES: readonly string[] = ['logger.ts'];

export type Violation =
  | { kind: 'layer'; file: string; line: number; target: string; fromLayer: string; toLayer: string; typeOnly: boolean }
  | { kind: 'cycle'; files: string[]; lines: number[] }
  | { kind: 'no-layer'; file: string };

interface Import {
  line: number;
  /** Resolved path, relative to the root, `/`-separated. */
  target: string;
  typeOnly: boolean;
}

/** The layer of a path relative to the root (`src/…`), or undefined for a folder LAYERS lacks. */
export function layerOf(file: string): string | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src') return 'outside src/';
  if (parts.length === 2) return SHARED_ROOT_FILES.includes(parts[1]!) ? 'shared' : 'root';
  return Object.hasOwn(LAYERS, parts[1]!) ? parts[1] : undefined;
}

export function mayImport(fromLayer: string, toLayer: string): boolean {
  const allowed = LAYERS[fromLayer];
  return fromLayer === toLayer || (allowed !== undefined && (allowed.includes('*') || allowed.includes(toLayer)));
}

/** Every violation in rootDir/src: layer rule first (by file and line), then cycles. */
export function checkLayers(rootDir: string): Violation[] {
  const files = listTs(path.join(rootDir, 'src')).map((absolute) => toRelative(rootDir, absolute));
  const imports = new Map<string, Import[]>();
  for (const file of files) imports.set(file, importsOf(rootDir, file));

  const violations: Violation[] = [];
  for (const file of files) {
    const fromLayer = layerOf(file);
    if (fromLayer === undefined) {
      violations.push({ kind: 'no-layer', file });
      continue;
    }
    for (const { line, target, typeOnly } of imports.get(file)!) {
      const toLayer = layerOf(target);
      // A target in an unknown folder is reported as a file of its own.
      if (toLayer !== undefined && !mayImport(fromLayer, toLayer)) {
        violations.push({ kind: 'layer', file, line, target, fromLayer, toLayer, typeOnly });
      }
    }
  }
  violations.push(...findCycles(files, imports));
  return violations;
}

export function formatViolation(v: Violation): string {
  switch (v.kind) {
    case 'layer':
      return `${v.file}:${v.line} imports ${v.target} (layer ${v.fromLayer} may not import layer ${v.toLayer})`;
    case 'cycle':
      return `import cycle: ${v.files.map((file, i) => (i < v.lines.length ? `${file}:${v.lines[i]}` : file)).join(' -> ')}`;
    case 'no-layer':
      return `${v.file} is in no layer (add its folder to LAYERS in scripts/check-layers.ts)`;
  }
}

function listTs(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}

function toRelative(rootDir: string, absolute: string): string {
  return path.relative(rootDir, absolute).split(path.sep).join('/');
}

/** The relative imports of one file, parsed with TypeScript so comments and strings never count. */
function importsOf(rootDir: string, file: string): Import[] {
  const absolute = path.join(rootDir, file);
  const source = ts.createSourceFile(absolute, readFileSync(absolute, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: Import[] = [];
  const add = (specifier: ts.Node | undefined, typeOnly: boolean) => {
    if (!specifier || !ts.isStringLiteralLike(specifier) || !specifier.text.startsWith('.')) return;
    const line = source.getLineAndCharacterOfPosition(specifier.getStart(source)).line + 1;
    found.push({ line, target: toRelative(rootDir, path.resolve(path.dirname(absolute), specifier.text)), typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const allTypes =
        clause?.namedBindings && ts.isNamedImports(clause.namedBindings) && !clause.name
          ? clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((element) => element.isTypeOnly)
          : false;
      add(node.moduleSpecifier, clause?.isTypeOnly === true || allTypes);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * Import cycles between files, found per strongly connected component of the import graph: for
 * each file in a component, the shortest cycle through it, each cycle reported once.
 */
function findCycles(files: readonly string[], imports: ReadonlyMap<string, readonly Import[]>): Violation[] {
  const edges = new Map<string, Map<string, number>>(); // file -> imported file -> first line
  for (const file of files) {
    const targets = new Map<string, number>();
    for (const { target, line } of imports.get(file)!) {
      if (imports.has(target) && !targets.has(target)) targets.set(target, line);
    }
    edges.set(file, targets);
  }

  const cycles: Violation[] = [];
  const seen = new Set<string>();
  for (const component of stronglyConnected(files, edges)) {
    const members = new Set(component);
    const single = component.length === 1 && edges.get(component[0]!)!.has(component[0]!);
    if (component.length === 1 && !single) continue;
    for (const start of [...component].sort()) {
      const cycle = shortestCycle(start, edges, members);
      const smallest = cycle.indexOf([...cycle].sort()[0]!);
      const rotated = [...cycle.slice(smallest), ...cycle.slice(0, smallest)];
      const key = rotated.join('\n');
      if (seen.has(key)) continue;
      seen.add(key);
      const lines = rotated.map((file, i) => edges.get(file)!.get(rotated[(i + 1) % rotated.length]!)!);
      cycles.push({ kind: 'cycle', files: [...rotated, rotated[0]!], lines });
    }
  }
  return cycles;
}

/** Tarjan's algorithm, iterative so that a deep import chain cannot overflow the stack. */
function stronglyConnected(files: readonly string[], edges: ReadonlyMap<string, ReadonlyMap<string, number>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let next = 0;
  for (const root of files) {
    if (index.has(root)) continue;
    const work: { file: string; targets: Iterator<string> }[] = [];
    const enter = (file: string) => {
      index.set(file, next);
      low.set(file, next);
      next += 1;
      stack.push(file);
      onStack.add(file);
      work.push({ file, targets: edges.get(file)!.keys() });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const step = frame.targets.next();
      if (!step.done) {
        const target = step.value;
        if (!index.has(target)) enter(target);
        else if (onStack.has(target)) low.set(frame.file, Math.min(low.get(frame.file)!, index.get(target)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.file, Math.min(low.get(parent.file)!, low.get(frame.file)!));
      if (low.get(frame.file) === index.get(frame.file)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.file);
        components.push(component);
      }
    }
  }
  return components;
}

/** Breadth-first from start back to start, inside one component: the files of the cycle, start first. */
function shortestCycle(start: string, edges: ReadonlyMap<string, ReadonlyMap<string, number>>, members: ReadonlySet<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head += 1) {
    const file = queue[head]!;
    for (const target of [...edges.get(file)!.keys()].sort()) {
      if (!members.has(target)) continue;
      if (target === start) {
        const cycle = [file];
        while (cycle[0] !== start) cycle.unshift(cameFrom.get(cycle[0]!)!);
        return cycle;
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, file);
        queue.push(target);
      }
    }
  }
  throw new Error(`no cycle through ${start}, though it is in a strongly connected component`);
}

if (import.meta.main) {
  const rootDir = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '..'));
  const violations = checkLayers(rootDir);
  for (const violation of violations) console.log(formatViolation(violation));
  if (violations.length > 0) {
    const layers = violations.filter((v) => v.kind === 'layer').length;
    const cycles = violations.filter((v) => v.kind === 'cycle').length;
    const unlayered = violations.length - layers - cycles;
    console.error(`check-layers: ${layers} layer violation(s), ${cycles} import cycle(s), ${unlayered} file(s) in no layer`);
    process.exit(1);
  }
  console.log('check-layers: every import follows the layer rule, and there is no import cycle');
}
