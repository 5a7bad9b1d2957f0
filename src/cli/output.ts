/**
 * The one way the CLI writes: every line goes through `clean()` (passwords masked, control characters escaped),
 * colours follow Node's `util.styleText` rules, the progress line appears only on a terminal, and `flush()` waits
 * until everything written has left the process (a pipe reader never gets a cut-off JSON document).
 * @module
 */
import process from "node:process";
import { redactSecrets } from "../core/redact.ts";

/** `util.styleText`'s shape: main loads node:util only when colours are on (loading it costs start-up time). */
export type StyleText = (format: "green" | "yellow" | "red" | "dim" | "bold", text: string, options?: { validateStream?: boolean }) => string;

/** Where the CLI writes and what it reads from its environment. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** stdout is a terminal. */
  isTTY: boolean;
  /** stdin and stderr are a terminal: a person is watching (default: same as isTTY). */
  interactive?: boolean;
  /** Resolves once everything written so far has been handed to the OS. */
  flush?: () => Promise<void>;
}

/** Colour functions; identity when colours are off. */
export interface Palette {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/**
 * Colour functions through `util.styleText` (told not to look at the stream again: `useColor` decided); plain
 * text without one.
 *
 * @example
 * ```ts
 * import { styleText } from "node:util";
 * palette(styleText).green("applied"); // "\u001b[32mapplied\u001b[39m"
 * ```
 */
export function palette(styleText: StyleText | undefined): Palette {
  const style = (format: "green" | "yellow" | "red" | "dim" | "bold") => (s: string) =>
    styleText ? styleText(format, s, { validateStream: false }) : s;
  return { green: style("green"), yellow: style("yellow"), red: style("red"), dim: style("dim"), bold: style("bold") };
}

/**
 * Whether to colour, as Node's `util.styleText` decides: `FORCE_COLOR` wins (`0`/`false` off, `''`/`1`/`2`/`3`/`true`
 * on); else `NO_COLOR`, `NODE_DISABLE_COLORS` or `TERM=dumb` turn colours off; else only on a terminal. `--no-color`
 * turns them off whatever the environment says.
 *
 * @example
 * ```ts
 * useColor({ isTTY: true, env: { NO_COLOR: "1" }, flag: true }); // false
 * ```
 */
export function useColor(args: { isTTY: boolean; env: Record<string, string | undefined>; flag: boolean }): boolean {
  if (!args.flag) return false;
  const force = args.env.FORCE_COLOR;
  if (force !== undefined) return ["", "1", "2", "3", "true"].includes(force);
  if (args.env.NO_COLOR !== undefined || args.env.NODE_DISABLE_COLORS !== undefined || args.env.TERM === "dumb") return false;
  return args.isTTY;
}

/** C0/C1 control characters (but newline and tab), DEL, and the bidirectional overrides that reorder a line. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The colour sequences `palette` writes (SGR): kept when colours are on, so only they reach a terminal raw. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL_OR_STYLE = /\u001b\[[0-9;]*m|[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes every control character as `\u001b` (valid inside a JSON string too): a file name or a description
 * can never move the cursor, clear the screen or retitle the terminal. With `keepStyles`, SGR colour sequences
 * pass (the palette's own).
 *
 * @example
 * ```ts
 * escapeControl("evil\u001b[2Jname"); // "evil\\u001b[2Jname"
 * ```
 */
export function escapeControl(text: string, keepStyles = false): string {
  const escape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
  if (!keepStyles) return text.replace(CONTROL, escape);
  return text.replace(CONTROL_OR_STYLE, (match) => (match.length > 1 ? match : escape(match)));
}

/** How one run prints. */
export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  /** Colours on: `util.styleText`; off: undefined. */
  color?: StyleText;
}

/**
 * The CLI's printer. Results go to stdout; messages, warnings and progress to stderr.
 *
 * @example
 * ```ts
 * const out = new Output(processIo(), { json: false, quiet: false, verbose: false });
 * out.line("1 migration applied");
 * await out.flush();
 * ```
 */
export class Output {
  /** Passwords to mask, added as the database is opened. */
  readonly secrets: string[] = [];
  readonly c: Palette;
  private progressShown = false;
  private readonly progressAllowed: boolean;

  constructor(private readonly io: CliIo, readonly options: OutputOptions) {
    this.c = palette(options.color);
    this.progressAllowed = !options.json && !options.quiet && io.isTTY && (io.interactive ?? io.isTTY);
  }

  /** Masks passwords and escapes control characters: every byte printed passes here. */
  clean(text: string): string {
    return escapeControl(redactSecrets(text, this.secrets), this.options.color !== undefined);
  }

  /** A result line on stdout (text mode). */
  line(text: string): void {
    this.clearProgress();
    this.io.stdout(`${this.clean(text)}\n`);
  }

  /** A JSON document on stdout. */
  json(value: unknown): void {
    this.io.stdout(`${this.clean(JSON.stringify(value, null, 2))}\n`);
  }

  /** A per-migration line: stdout in text mode, nothing with --json or --quiet. */
  step(text: string): void {
    if (!this.options.json && !this.options.quiet) this.line(text);
  }

  /** A message for the person running it (stderr), dropped with --quiet. */
  info(text: string): void {
    if (this.options.quiet) return;
    this.err(text);
  }

  /** Detail shown only with --verbose (stderr). */
  debug(text: string): void {
    if (this.options.verbose) this.err(text);
  }

  /** A warning (stderr), shown even with --quiet. */
  warn(text: string): void {
    this.err(this.c.yellow(`warning: ${text}`));
  }

  /** An error (stderr). */
  error(text: string): void {
    this.err(this.c.red("error:") + ` ${text}`);
  }

  /** Replaces the progress line on a terminal; never written to a pipe, with --json or --quiet. */
  progress(text: string): void {
    if (!this.progressAllowed) return;
    this.progressShown = true;
    this.io.stderr(`\r${this.clean(text)}\u001b[K`);
  }

  /** Removes the progress line before anything else is printed. */
  clearProgress(): void {
    if (!this.progressShown) return;
    this.progressShown = false;
    this.io.stderr("\r\u001b[K");
  }

  /** Resolves once stdout and stderr have been handed to the OS, so that exiting loses nothing. */
  flush(): Promise<void> {
    this.clearProgress();
    return this.io.flush?.() ?? Promise.resolve();
  }

  private err(text: string): void {
    this.clearProgress();
    this.io.stderr(`${this.clean(text)}\n`);
  }
}

/** Waits until a stream has written everything queued: writes are ordered, and a write's callback runs once it is flushed. */
function drained(stream: { write(chunk: string, callback: () => void): boolean }): Promise<void> {
  return new Promise((resolve) => {
    try {
      stream.write("", () => resolve());
    } catch {
      resolve(); // a closed stream: nothing more can be delivered
    }
  });
}

/**
 * A writer to a stream that a reader may close (`orchwf-migrate up | head -1`): the first EPIPE (or any write
 * error) turns further writes into no-ops instead of an unhandled error that would stop the run part way. The
 * database work goes on exactly as without output; the exit code is the run's.
 */
function closable(stream: NodeJS.WriteStream): (text: string) => void {
  let open = true;
  stream.on("error", () => {
    open = false;
  });
  return (text) => {
    if (!open) return;
    try {
      stream.write(text);
    } catch {
      open = false;
    }
  };
}

/**
 * The real process's stdout/stderr/environment.
 *
 * @example
 * ```ts
 * const io = processIo();
 * io.stdout("hello\n");
 * await io.flush?.();
 * ```
 */
export function processIo(): CliIo {
  const stdout = closable(process.stdout);
  const stderr = closable(process.stderr);
  return {
    stdout,
    stderr,
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
    interactive: Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY),
    flush: async () => {
      await Promise.all([drained(process.stdout), drained(process.stderr)]);
    },
  };
}
