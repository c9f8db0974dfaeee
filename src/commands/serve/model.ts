import { Args, Flags } from '@oclif/core';
import { TuskCommand } from '../../cli/base.js';
import { parseBranchRef } from '../../app/api.js';

export type ServeModelResult = { url: string; model: { repo: string; branch: string; commit: string | null } };

export default class ServeModel extends TuskCommand<ServeModelResult> {
  static override summary = 'Serve the model on a branch over HTTP.';
  static override description =
    'POST /predict with {"instances": [{feature: value, ...}, ...]} returns {"model", "predictions"}; ' +
    'GET /health returns the loaded version. Every response carries the model version (the commit) in its ' +
    'body and in the X-Model-Version header. When the branch moves (a new training job finished), the new ' +
    'model is loaded and swapped in; until it has loaded, and if it fails to load, the old one keeps ' +
    'serving. Malformed requests get 400. Runs until interrupted (Ctrl-C).';
  static override examples = ['<%= config.bin %> serve model price-model@master', '<%= config.bin %> serve model price-model@master --port 9000 --host 0.0.0.0'];
  static override args = { model: Args.string({ required: true, description: 'MODEL_REPO@BRANCH' }) };
  static override flags = {
    port: Flags.integer({ char: 'p', description: 'TCP port (0 picks a free one).', default: 8080, min: 0, max: 65535 }),
    host: Flags.string({ description: 'Address to listen on.', default: '127.0.0.1' }),
    poll: Flags.integer({ description: 'How often to check the branch for a new model, in milliseconds.', default: 1000, min: 50 }),
  };
  static override storeAccess = 'read' as const;

  async run(): Promise<ServeModelResult> {
    const { args, flags } = await this.parse(ServeModel);
    const { repo, branch } = parseBranchRef(args.model);
    const server = await (await this.tusk()).models.serve({
      repo,
      branch,
      host: flags.host,
      port: flags.port,
      pollMs: flags.poll,
      log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
    });
    const started: ServeModelResult = { url: server.url, model: { repo, branch, commit: server.version()?.commit ?? null } };
    // the result is printed at startup: the command only ends when interrupted
    if (this.jsonEnabled()) this.logJson(started);
    else this.render(() => `serving ${repo}@${branch}${started.model.commit ? `=${started.model.commit}` : ' (no model loaded yet)'} on ${server.url}`);
    await new Promise<never>(() => undefined);
    return started;
  }
}
