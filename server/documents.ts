/**
 * Open documents and their parse trees: one parse per document version, made on first use and shared by every
 * feature (diagnostics, completion, hover, ...). Features never parse text themselves.
 */
import { TextDocuments } from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Dockerfile } from '../engine/dockerfile/types';
import { reparse, type ReparseStats } from './incrementalParse';
import { carryScopes } from './rules/scopes';
import { parse } from './parser';

export interface ParsedDocument {
  doc: TextDocument;
  parsed: Dockerfile;
}

export type ParseFunction = (text: string) => Dockerfile;

export class DocumentStore {
  readonly documents = new TextDocuments(TextDocument);
  private readonly cache = new Map<string, { version: number; parsed: Dockerfile }>();

  constructor(private readonly parseText: ParseFunction = parse) {
    this.documents.onDidClose((e) => this.cache.delete(e.document.uri));
  }

  /** The open document and its tree, parsed at most once per version; undefined when the URI is not open. */
  getDocument(uri: string): ParsedDocument | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    return { doc, parsed: this.parsedFor(doc) };
  }

  /** The tree for any TextDocument (cached by URI + version). After an edit, only the instructions the edit
   *  touched are parsed again (server/incrementalParse.ts: the same tree as a full parse). */
  parsedFor(doc: TextDocument): Dockerfile {
    const hit = this.cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.parsed;
    const text = doc.getText();
    let parsed: Dockerfile;
    if (hit && this.parseText === parse) {
      const stats: ReparseStats = { mode: 'full', parsed: 0 };
      parsed = reparse(hit.parsed, text, stats);
      // variable scopes an edit did not touch carry over (rules/scopes.ts says when)
      if (stats.region) carryScopes(hit.parsed, parsed, stats.region);
    } else parsed = this.parseText(text);
    this.cache.set(doc.uri, { version: doc.version, parsed });
    return parsed;
  }

  all(): TextDocument[] {
    return this.documents.all();
  }
}
