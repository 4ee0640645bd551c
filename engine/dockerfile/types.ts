/**
 * The Dockerfile syntax tree: lossless, with exact ranges (0-based lines, UTF-16 columns, as LSP counts them).
 * engine/dockerfile is the only code that reads Dockerfile text; the language server and the builder both
 * consume these types.
 */

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type ProblemSeverity = 'error' | 'warning';

/** A problem found while parsing. The parser never throws; it reports these and goes on. */
export interface ParseProblem {
  /**
   * A stable code. BuildKit's rule name where BuildKit has one (`NoEmptyContinuation`), else our own:
   * `UnknownInstruction`, `UnterminatedHeredoc`, `UnknownFlag`, `DuplicateFlag`, `FlagMissingValue`,
   * `FlagInvalidValue`, `InvalidJSON`, `MissingArguments`, `ExtraArguments`, `EnvMissingValue`,
   * `EnvMissingEquals`, `InvalidDirective`, `DuplicateDirective`, `NoInstructions`, `InstructionBeforeFrom`,
   * `InvalidMount`, `LineTooLong`, `ShellExpansion`, `InvalidStageName`, `InvalidAs`, `OnbuildChain`,
   * `OnbuildForbidden`.
   */
  code: string;
  message: string;
  severity: ProblemSeverity;
  range: Range;
  /** for UnknownInstruction: the nearest known keyword */
  suggestion?: string;
}

/** A piece of source text with its range. `value` is the text as BuildKit sees it (continuations joined). */
export interface Token {
  value: string;
  range: Range;
}

export interface Directive {
  /** lower-cased name: `syntax`, `escape` or `check` */
  name: string;
  value: string;
  range: Range;
  nameRange: Range;
  valueRange: Range;
}

export interface Comment {
  /** the text after `#`, trimmed */
  text: string;
  range: Range;
  /** true for a comment line inside a continued instruction (BuildKit drops those) */
  inInstruction: boolean;
}

export interface Flag {
  /** without the dashes: `from`, `mount` */
  name: string;
  /** undefined for a bare `--link`; `''` for `--link=` */
  value: string | undefined;
  /** the flag as BuildKit records it, quotes and escapes processed (`--from=build`) */
  raw: string;
  range: Range;
  nameRange: Range;
  valueRange?: Range;
}

export interface Heredoc {
  /** the delimiter word with quotes removed */
  name: string;
  /** the file descriptor prefix (`3<<EOF`); 0 when absent, as BuildKit */
  fd: number;
  /** `<<-`: leading tabs are removed from the body and the terminator */
  chomp: boolean;
  /** false when any part of the delimiter is quoted: the body is not expanded */
  expand: boolean;
  /** the body exactly as BuildKit keeps it: every line with its line end, unchomped */
  content: string;
  /** the `<<EOF` word on the instruction line */
  delimiterRange: Range;
  /** the body lines (empty range at the body start when there are none) */
  bodyRange: Range;
  /** the terminator line; undefined when the heredoc is unterminated */
  terminatorRange?: Range;
}

export interface KeyValue {
  key: Token;
  /** value as written (quotes kept, as BuildKit's parser keeps them) */
  value: Token;
  /** `ENV k v` / `LABEL k v`: the legacy form */
  legacy: boolean;
  /** the whole `k=v` word */
  range: Range;
}

export interface ArgDeclaration {
  name: Token;
  /** the default value as written (quotes kept); undefined when there is no `=` */
  defaultValue?: Token;
  range: Range;
}

/** RUN --mount=… parsed into its keys. */
export interface Mount {
  type: string;
  /** every key=value as written, in order; keys lower-cased */
  options: { key: string; value: string | undefined; range: Range }[];
  range: Range;
}

export interface CommandForm {
  /** exec (JSON array) form */
  json: boolean;
  /** JSON form: one token per element (value decoded). Shell form: one token with the whole command. */
  words: Token[];
}

export interface Instruction {
  /** upper-cased keyword: `RUN`; an unknown keyword upper-cased as written */
  keyword: string;
  /** the keyword as written (`run`), with its range */
  keywordToken: Token;
  known: boolean;
  /** from the keyword to the end of the instruction, including continuation lines and heredoc bodies */
  range: Range;
  /** 0-based first and last line (heredoc terminators included) */
  startLine: number;
  endLine: number;
  /** BuildKit's `Original`: the continuation-joined line, comments dropped */
  logical: string;
  flags: Flag[];
  /** everything after the flags, as one token (continuations joined, trimmed) */
  argsToken?: Token;
  /**
   * The argument words as BuildKit's line parser produces them (what `Node.Dump` prints after the flags).
   * For ONBUILD these are the trigger's.
   */
  args: Token[];
  /** exec/JSON form (BuildKit's `json` attribute) */
  json: boolean;
  heredocs: Heredoc[];
  /** comment lines inside the continuation */
  comments: Comment[];
  /** the parse problems that belong to this instruction (also in Dockerfile.problems) */
  problems: ParseProblem[];

  // Typed views, present for the keywords they belong to.
  /** FROM [--platform] image [AS name] */
  from?: { image?: Token; asKeyword?: Token; stageName?: Token };
  /** RUN, CMD, ENTRYPOINT, SHELL; HEALTHCHECK CMD */
  command?: CommandForm;
  /** RUN --mount */
  mounts?: Mount[];
  /** COPY, ADD: the sources and the destination (the last word) */
  copy?: { sources: Token[]; dest?: Token };
  /** ENV, LABEL */
  pairs?: KeyValue[];
  /** ARG */
  argDeclarations?: ArgDeclaration[];
  /** HEALTHCHECK: the type word (`CMD` or `NONE`) */
  healthcheckType?: Token;
  /** ONBUILD: the trigger instruction */
  trigger?: Instruction;
}

export interface Stage {
  index: number;
  /** the name after AS, lower-cased as BuildKit compares it */
  name?: string;
  nameToken?: Token;
  from: Instruction;
  /** the stage's instructions after FROM */
  instructions: Instruction[];
  /** from the FROM line to the last instruction of the stage */
  range: Range;
  /** what the stage builds on: a stage index (FROM earlier-stage), scratch, or an image reference (unexpanded) */
  base: { kind: 'stage'; stage: number } | { kind: 'scratch' } | { kind: 'image'; ref: string };
}

export interface Dockerfile {
  text: string;
  escape: '\\' | '`';
  directives: Directive[];
  /** every comment, in order (directives excluded) */
  comments: Comment[];
  /** top-level instructions, in order */
  instructions: Instruction[];
  /** ARG instructions before the first FROM */
  globalArgs: Instruction[];
  stages: Stage[];
  problems: ParseProblem[];
  /** the file started with a UTF-8 byte order mark (U+FEFF) */
  bom: boolean;
  /** UTF-16 offset of the start of each line */
  lineStarts: number[];
}
