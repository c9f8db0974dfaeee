// The worker launchers docs/team.md gives (a Slurm job array, Kubernetes manifests) parse, run
// `tusk worker`, name the store through TUSK_STORE, and take credentials from a Secret by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../cli/cli-helpers.js';

const TEAM = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'team.md'), 'utf8');

/** The fenced blocks of `lang` in the "Running workers" section. */
function blocks(lang: string): string[] {
  const start = TEAM.indexOf('\n## Running workers\n');
  expect(start).toBeGreaterThan(0);
  const end = TEAM.indexOf('\n## ', start + 1);
  const section = TEAM.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

type Manifest = { kind: string; metadata: { name: string }; [k: string]: any };

describe('worker launchers in docs/team.md', () => {
  it('the Slurm script is a job array whose tasks run `tusk worker --exit-when-idle` on TUSK_STORE', () => {
    const [script] = blocks('bash');
    expect(script).toBeDefined();
    expect(script).toMatch(/^#!\/bin\/bash\n/);
    expect(script).toMatch(/^#SBATCH --array=0-\d+$/m);
    expect(script).toMatch(/^export TUSK_STORE=\S+$/m);
    const run = script!.split('\n').find((l) => /\btusk worker\b/.test(l));
    expect(run).toMatch(/tusk worker .*--exit-when-idle \d+/);
  });

  it('the Kubernetes manifests: a Secret and a Deployment of workers that references it by name', () => {
    const docs = blocks('yaml').flatMap((b) => parseAllDocuments(b).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Manifest;
    }));
    expect(docs.map((d) => d.kind).sort()).toEqual(['Deployment', 'Secret']);
    const secret = docs.find((d) => d.kind === 'Secret')!;
    const deployment = docs.find((d) => d.kind === 'Deployment')!;
    expect(deployment.apiVersion).toBe('apps/v1');
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    const [container] = deployment.spec.template.spec.containers as any[];
    expect(container.command.slice(0, 2)).toEqual(['tusk', 'worker']);
    expect(container.env.find((e: any) => e.name === 'TUSK_STORE')?.value).toMatch(/\S/);
    // the credentials come from the Secret, by its name; none of its keys or values is in the Deployment
    const refs = [
      ...(container.envFrom ?? []).map((e: any) => e.secretRef?.name),
      ...(container.env ?? []).map((e: any) => e.valueFrom?.secretKeyRef?.name),
    ].filter(Boolean);
    expect(refs).toContain(secret.metadata.name);
    const values = { ...(secret.stringData ?? {}), ...(secret.data ?? {}) } as Record<string, string>;
    expect(Object.keys(values).length).toBeGreaterThan(0);
    const deploymentText = JSON.stringify(deployment);
    for (const key of Object.keys(values)) expect(deploymentText).not.toContain(`"${key}"`);
    // the pod is given time to give its datums back after SIGTERM
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
  });
});
