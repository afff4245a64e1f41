// Command dispatch. Every command returns an exit code; only this file touches process.*.
import { EXIT_USAGE, UsageError, type CliIO } from './io.js';
import { KEYGEN_USAGE, keygenCommand } from './keygen.js';
import { SIGN_USAGE, signCommand } from './sign.js';
import { VERIFY_USAGE, verifyCommand } from './verify.js';
import { SERVE_USAGE, serveCommand } from './serve.js';
import { REVIEW_USAGE, reviewCommand } from './review.js';

type Command = (args: string[], io: CliIO) => Promise<number>;

const COMMANDS: Record<string, { run: Command; usage: string }> = {
  verify: { run: verifyCommand, usage: VERIFY_USAGE },
  keygen: { run: keygenCommand, usage: KEYGEN_USAGE },
  sign: { run: signCommand, usage: SIGN_USAGE },
  serve: { run: serveCommand, usage: SERVE_USAGE },
  review: { run: (args, io) => reviewCommand(args, io), usage: REVIEW_USAGE },
};

export const USAGE = `signet: admit only container images signed by keys you trust.

Commands:
  verify   check images against a policy (resolve, fetch signatures, verify)
  sign     sign an image's digest and push a cosign-compatible signature
  keygen   create a cosign-format key pair
  review   run an AdmissionReview or ImageReview file through the policy offline
  serve    run the admission webhook (HTTPS)

Run "signet COMMAND --help" for a command's options.`;

export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${USAGE}\n`);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`signet: unknown command "${name}"\n\n${USAGE}\n`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    // parseArgs reports bad flags with an ERR_PARSE_ARGS_* code; both are the user's to fix. Checked by
    // code, not by class: an error made in another realm (a vm context, as under jest) is no TypeError here.
    if (e instanceof UsageError || isParseArgsError(e)) {
      io.stderr(`signet ${name}: ${e.message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}

function isParseArgsError(e: unknown): e is Error & { code: string } {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS') && 'message' in e;
}
